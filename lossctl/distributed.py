"""The reduction on a Dask cluster: ``--scheduler local[:N]`` or ``--scheduler tcp://HOST:PORT``.

The client opens the inputs (headers only) and cuts the rows into tasks, each
a global row range: at every file boundary of a glob or ``@list`` side, and,
when every side can seek to any row (``.npy``), evenly as well. Each task
opens the inputs again on its worker, reads only its rows (each side from
whichever of its files hold them), and returns a picklable
:func:`~lossctl.compute.accumulate` state; the client merges the states in row
order and finishes the Report, so the numbers are the single-process ones to
the last few ulps and the counts exactly. An input whose length is unknown
without reading it (text, JSON lines, Arrow) is one task.

Dask is an optional extra (``lossctl[dask]``) imported only here, and this
module only when ``--scheduler`` is given.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace

from .api import Inputs, open_inputs
from .check import Check, Result, run_check
from .compute import PerSampleSink, Report, accumulate
from .errors import LossctlError, UsageError
from .params import Params

INSTALL = "pip install 'lossctl[dask]'"

#: tasks per worker when a file can be cut anywhere (a few, so a slow worker does not hold up the end)
TASKS_PER_WORKER = 2


def _distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError(f"--scheduler needs Dask (dask and distributed), which is not installed: {INSTALL}") from None
    return distributed


def require(scheduler: str) -> None:
    """Refuse a ``--scheduler`` that is not one, or one that needs the missing extra, before any work."""
    _workers(scheduler)
    _distributed()


def _workers(scheduler: str) -> int | None:
    """N of ``local[:N]`` (the cores by default); None for ``tcp://``; refuses anything else."""
    if scheduler.startswith("tcp://"):
        return None
    name, _, count = scheduler.partition(":")
    if name != "local" or (count and not (count.isdigit() and int(count) > 0)):
        raise UsageError(
            f"--scheduler {scheduler!r} is not a scheduler: give local, local:N (N worker processes) "
            "or tcp://HOST:PORT (a running Dask scheduler)"
        )
    if count:
        return int(count)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def connect(scheduler: str) -> Iterator[tuple[object, int]]:
    """A Dask client of ``scheduler`` and its number of workers; a LocalCluster is closed on exit."""
    workers = _workers(scheduler)
    dist = _distributed()
    import logging

    if workers is not None:
        cluster = dist.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        with cluster, dist.Client(cluster) as client:
            yield client, workers
        return
    try:
        client = dist.Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise UsageError(
            f"cannot reach the Dask scheduler at {scheduler} ({e}); start one with 'dask scheduler' "
            "and workers with 'dask worker', or use --scheduler local"
        ) from None
    with client:
        yield client, max(1, len(client.scheduler_info(n_workers=-1)["workers"]))


@dataclass(frozen=True)
class Job:
    """What every task of one evaluation needs (plain, picklable values: the loss by name)."""

    loss: str
    predictions: str
    labels: str | None
    weights: str | None
    params: Params
    conventions: tuple[str, ...] | None
    keep_per_sample: bool
    chunk_rows: int
    nan: str
    pred_cols: str | None
    label_cols: str | None
    float32_exact: bool
    #: the inputs' names as the user gave them, for the messages the states keep
    names: dict[str, str] | None = None
    #: give the vector conventions their summaries (machine formats)
    summarize: bool = False

    def inputs(self) -> Inputs:
        return open_inputs(
            self.loss, self.predictions, self.labels, self.weights, pred_cols=self.pred_cols, label_cols=self.label_cols
        )


def run_task(job: Job, rows: tuple[int, int] | None):
    """One task, on a worker: the state of the rows [start, stop) (all rows for None), and the rows dropped."""
    inputs = job.inputs()
    reader = inputs.reader(chunk_rows=job.chunk_rows, nan=job.nan, rows=rows, ignore_index=job.params.ignore_index)
    state = accumulate(
        inputs.loss,
        reader,
        job.params,
        conventions=job.conventions,
        keep_per_sample=job.keep_per_sample,
        names=job.names or inputs.names,
        float32_exact=job.float32_exact,
        summarize=job.summarize,
    )
    return state, reader.dropped


def plan(inputs: Inputs, tasks: int) -> list[tuple[int, int] | None]:
    """The row ranges of the tasks, in row order; ``[None]`` (one task of every row) when they cannot be cut."""
    sources = [s for s in (inputs.predictions, inputs.labels, inputs.weights) if s is not None]
    lengths = {s.length for s in sources}
    if None in lengths or len(lengths) != 1 or any(s.rows is None for s in sources):
        return [None]  # a length unknown without reading, or sides that differ: the reader says so
    n = int(lengths.pop())  # type: ignore[arg-type]
    cuts = {0, n}
    for s in sources:
        cuts.update(s.starts or ())
    if all(s.seekable for s in sources):
        cuts.update(range(0, n, max(1, math.ceil(n / max(1, tasks)))))
    ordered = sorted(c for c in cuts if 0 <= c <= n)
    return list(zip(ordered, ordered[1:], strict=False))


def _as_given(text: str, prefix: str | None) -> str:
    """``text`` (a worker's message) with the paths :func:`_absolute` made absolute shown as the user gave them
    (``prefix``: the client's working folder for a remote cluster, else None)."""
    return text.replace(prefix, "") if prefix else text


def _prefix(remote: bool) -> str | None:
    return os.path.join(os.getcwd(), "") if remote else None


def _absolute(spec: str | None, remote: bool) -> str | None:
    """A path the workers can open: absolute for a remote cluster (its workers run elsewhere)."""
    if spec is None or not remote or "://" in spec:
        return spec
    if spec.startswith("@"):
        return "@" + os.path.abspath(spec[1:])
    return os.path.abspath(spec)


def _progress(total: int, what: str):
    """A Rich progress bar on stderr, for several tasks when stderr is a terminal; else None."""
    if total < 2 or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip


def _in_order(futures: list, what: str | None, prefix: str | None) -> Iterator:
    """Each future's result in the order of ``futures`` (a progress bar on a terminal unless ``what`` is None).

    A task's error is raised when its turn comes, so the first error in row (or file) order wins."""
    progress = _progress(len(futures), what) if what else None
    with progress if progress is not None else nullcontext():
        bar = progress.add_task(what, total=len(futures)) if progress is not None else None
        for future in futures:
            try:
                result = future.result()
            except LossctlError as e:
                raise type(e)(_as_given(str(e), prefix)) from None
            if progress is not None:
                progress.advance(bar)
            yield result


def evaluate(
    loss: str,
    predictions: str,
    labels: str | None,
    weights: str | None = None,
    *,
    scheduler: str,
    params: Params | None = None,
    conventions: Sequence[str] | None = None,
    chunk_rows: int = 65536,
    nan: str = "error",
    keep_per_sample: bool = True,
    pred_cols: str | None = None,
    label_cols: str | None = None,
    per_sample_sink: PerSampleSink | None = None,
    summarize: bool = False,
    observers: Sequence = (),
) -> Report:
    """:func:`lossctl.api.evaluate` with the reduction on the Dask cluster ``scheduler``: the same Report.

    A ``per_sample_sink`` receives the per-sample values once the workers' states are merged (in row order).
    """
    if observers:
        raise UsageError("--ci and --batch-size run in one process for now: drop --scheduler to use them")
    remote = _workers(scheduler) is None
    _distributed()
    if "-" in (predictions, labels, weights):
        raise UsageError("--scheduler reads the files on the workers: standard input (-) cannot be used; save it first")
    inputs = open_inputs(loss, predictions, labels, weights, pred_cols=pred_cols, label_cols=label_cols)
    predictions, labels, weights = (_absolute(s, remote) for s in (predictions, labels, weights))
    job = Job(
        inputs.loss.name,
        predictions,  # type: ignore[arg-type]
        labels,
        weights,
        params or Params(),
        tuple(conventions) if conventions else None,
        keep_per_sample or per_sample_sink is not None,
        chunk_rows,
        nan,
        pred_cols,
        label_cols,
        inputs.reader().float32_exact,
        inputs.names,
        summarize,
    )
    with connect(scheduler) as (client, workers):
        ranges = plan(inputs, workers * TASKS_PER_WORKER) or [None]
        futures = [client.submit(run_task, job, rows, pure=False) for rows in ranges]
        state, dropped = None, 0
        for part, part_dropped in _in_order(futures, "reducing", _prefix(remote)):
            state = part if state is None else state.merge(part)
            dropped += part_dropped
    if per_sample_sink is not None:  # written on the client, in row order, then not kept in the report
        for start, values in sorted(state.per_sample, key=lambda piece: piece[0]):
            per_sample_sink(start, values)
        state.need_vector = state.need_vector and keep_per_sample
    return inputs.report(state, dropped)


def _check_task(check: Check, shown: Check, prefix: str | None) -> Result:
    """One check on a worker, its files as the workers can open them; the result names them as ``shown``."""
    result = run_check(check)
    return replace(
        result,
        file=shown.predictions,
        labels=shown.labels,
        message=result.message and _as_given(result.message, prefix),
        notes=[_as_given(n, prefix) for n in result.notes],
    )


def run_checks(checks: Sequence[Check], scheduler: str) -> Iterator[Result]:
    """:func:`lossctl.check.run_checks` on a Dask cluster: each check one task, results in order."""
    remote = _workers(scheduler) is None
    _distributed()
    with connect(scheduler) as (client, _):
        futures = [
            client.submit(
                _check_task,
                replace(c, predictions=_absolute(c.predictions, remote), labels=_absolute(c.labels, remote)),
                c,
                _prefix(remote),
                pure=False,
            )
            for c in checks
        ]
        yield from _in_order(futures, None, _prefix(remote))  # lossctl check shows its own progress
