"""``lossctl check``: many saved model outputs checked at once. Pure: no printing, no exiting.

* :func:`plan` and :func:`read_manifest` turn command-line paths (files, globs,
  directories) or a manifest CSV into :class:`Check` s.
* :func:`run_checks` computes them, in parallel when asked, and yields one
  :class:`Result` per prediction file **in input order**, each as soon as it
  and the ones before it are done. A broken file becomes a result with status
  ``error``; it never stops the batch, nor does one that hangs, exhausts
  memory or kills its worker (:mod:`.pool`: ``timeout``, ``max_memory``).

Parallelism uses processes, not threads: much of reading and reducing a file
is Python code holding the GIL, so threads gain little (measured: 8 CSV files
of 20000×10 against one labels file on 2 cores took 1.05 s serially, 0.74 s
with 2 threads and 0.45 s with 2 processes). Where the platform has ``fork``, each
distinct labels file is opened once in the parent before the workers are
forked, so the workers share it instead of re-reading it; elsewhere each
worker opens a labels file at most once.
"""

from __future__ import annotations

import csv
import glob
import math
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

from .errors import InputError, LossctlError, UsageError
from .errors import cell as shown_cell
from .errors import name as shown_name
from .gate import Bounds, scalar_convention
from .io import Source, open_source
from .io.remote import glob as remote_glob
from .io.remote import is_url, url_path
from .params import ALL_OPTIONS, Params

#: what ``check`` picks up from a directory (lower-case name endings)
INPUT_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz", ".npy", ".npz", ".parquet")
#: the option columns (``weights``, then each option's name: ``logits``, ``delta``, ``label_smoothing``...)
OPTION_COLUMNS = ("weights", *(o.name for o in ALL_OPTIONS))
MANIFEST_COLUMNS = ("predictions", "labels", "loss", "convention", "max", "min", *OPTION_COLUMNS)
REQUIRED_MANIFEST_COLUMNS = ("predictions", "labels", "loss")
STATUSES = ("pass", "fail", "error")


# --------------------------------------------------------------------------- plans and results


@dataclass(frozen=True)
class Check:
    """One prediction file to check; ``error`` set when planning already found it broken."""

    predictions: str
    labels: str
    loss: str
    convention: str | None = None
    bounds: Bounds = field(default_factory=Bounds)
    error: str | None = None
    weights: str | None = None
    #: the options given, as text by option name (``(("delta", "2"),)``), parsed for the loss when run
    options: tuple[tuple[str, str], ...] = ()


@dataclass
class Result:
    """One row of ``lossctl check``: the public keys of its JSON and JSONL output."""

    file: str
    labels: str | None
    loss: str | None
    convention: str | None
    value: float | None
    max: float | None
    min: float | None
    status: str
    message: str | None = None
    notes: list[str] = field(default_factory=list)
    signature: str | None = None

    @property
    def bound(self) -> str:
        return Bounds(self.max, self.min).describe()

    def to_dict(self) -> dict:
        out = asdict(self)
        if out["value"] is not None and not math.isfinite(out["value"]):
            out["value"] = None
        return out


def _error(check: Check, message: str) -> Result:
    return Result(
        check.predictions,
        check.labels,
        check.loss or None,
        check.convention,
        None,
        check.bounds.max,
        check.bounds.min,
        "error",
        message,
    )


def _is_input(path: str) -> bool:
    name = os.path.basename(path)
    return not name.startswith(".") and name.lower().endswith(INPUT_SUFFIXES) and os.path.isfile(path)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def expand(path: str, exclude: Iterable[str] = (), skipped: list[str] | None = None) -> list[str] | str:
    """The prediction files ``path`` stands for, or an error message.

    A file stands for itself (a missing one too: reading it reports the
    error); a directory for the array files directly in it (sorted; hidden
    files and the ``exclude`` files, i.e. the labels, left out; other files,
    such as .txt or .md, appended to ``skipped`` when given); a glob pattern
    for the files it matches (sorted).
    """
    arrays = tuple(
        s + gz
        for s in (".npy", ".npz", ".parquet", ".csv", ".tsv", ".safetensors", ".arrow", ".feather", ".jsonl")
        for gz in ("", ".gz")
    ) + (".h5", ".hdf5")
    exclude = [e for e in exclude if e]
    if is_url(path):  # an object, or a glob over objects (s3://bucket/preds/*.npy): one check each
        if not glob.has_magic(url_path(path)):
            return [path]
        try:
            return sorted(remote_glob(path)) or f"no files match {path}; check the pattern"
        except InputError as e:
            return str(e)
    if os.path.isdir(path):
        found = []
        for p in sorted(os.path.normpath(os.path.join(path, n)) for n in os.listdir(path)):
            if os.path.basename(p).startswith(".") or not os.path.isfile(p) or any(_same_file(p, e) for e in exclude):
                continue
            if p.lower().endswith(arrays):
                found.append(p)
            elif skipped is not None:
                skipped.append(p)
        if not found:
            return (
                f"{path} is a directory with no prediction files (.npy, .npz, .parquet, .csv, .tsv...); check the path"
            )
        return found
    if not os.path.exists(path) and glob.has_magic(path):
        # like a directory, a glob never stands for the labels file it happens to match
        found = sorted(p for p in glob.glob(path) if os.path.isfile(p) and not any(_same_file(p, e) for e in exclude))
        if not found:
            return f"no files match {shown_name(path)}; check the pattern"
        return found
    return [path]


def plan(
    loss: str,
    predictions: Sequence[str],
    labels: str,
    convention: str | None = None,
    bounds: Bounds | None = None,
    weights: str | None = None,
    options: tuple[tuple[str, str], ...] = (),
) -> list[Check]:
    """The checks for ``lossctl check LOSS PRED_FILE... --labels LABELS``: one per prediction file."""
    bounds = bounds or Bounds()
    if "-" in (labels, *predictions) or weights == "-":
        raise UsageError("check reads files, not standard input (-); save the arrays to files first")
    checks: list[Check] = []
    seen: set[str] = set()
    for arg in predictions:
        files = expand(arg, exclude=[labels])
        if isinstance(files, str):
            checks.append(Check(arg, labels, loss, convention, bounds, error=files, weights=weights, options=options))
            continue
        for f in files:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                checks.append(Check(f, labels, loss, convention, bounds, weights=weights, options=options))
    return checks


def _number(cell: str, column: str) -> float | None:
    cell = cell.strip()
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        raise InputError(f"column {column} is not a number: {shown_cell(cell)}") from None
    if math.isnan(value):
        raise InputError(f"column {column} is nan; give a number or leave it empty")
    return value


def read_manifest(path: str) -> list[Check]:
    """The checks listed in a manifest CSV (columns: predictions, labels, loss, convention, max, min).

    Paths are relative to the manifest's folder. A problem with the manifest
    as a whole (missing, no header, unknown column) raises; a problem with one
    row becomes that row's error, so the other rows still run.
    """
    name = shown_name(path)
    if not os.path.isfile(path):
        raise InputError(f"manifest {name} does not exist; check the path")
    folder = os.path.dirname(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise InputError(f"manifest {name} is not UTF-8 text; save it as UTF-8 CSV") from None
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter, skipinitialspace=True)
    header = [(h or "").strip().lower().replace("-", "_") for h in reader.fieldnames or []]
    if not header:
        raise InputError(f"manifest {name} is empty; its header needs: {', '.join(MANIFEST_COLUMNS)}")
    unknown = [h for h in header if h not in MANIFEST_COLUMNS]
    if unknown:
        raise InputError(
            f"manifest {name} has an unknown column {shown_cell(unknown[0])}; the columns are: {', '.join(MANIFEST_COLUMNS)}"
        )
    missing = [c for c in REQUIRED_MANIFEST_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"manifest {name} has no {missing[0]!r} column; it needs {', '.join(REQUIRED_MANIFEST_COLUMNS)} "
            f"(and optionally convention, max, min, {', '.join(OPTION_COLUMNS)})"
        )
    reader.fieldnames = header

    def resolve(p: str) -> str:
        p = os.path.expanduser(p)
        return p if os.path.isabs(p) else os.path.join(folder, p)

    checks: list[Check] = []
    for row in reader:
        where = f"manifest {name} line {reader.line_num}"
        cells = {c: (row.get(c) or "").strip() for c in MANIFEST_COLUMNS}
        if not any(cells.values()):
            continue
        predictions, labels = cells["predictions"], cells["labels"]
        base = Check(
            resolve(predictions) if predictions else f"({where})",
            resolve(labels) if labels else "",
            cells["loss"],
            cells["convention"] or None,
        )
        try:
            for column in REQUIRED_MANIFEST_COLUMNS:
                if not cells[column]:
                    raise InputError(f"the {column} cell is empty")
            bounds = Bounds(_number(cells["max"], "max"), _number(cells["min"], "min"))
            convention = scalar_convention(cells["convention"]) if cells["convention"] else None
        except LossctlError as e:
            checks.append(Check(base.predictions, base.labels, base.loss, base.convention, error=f"{where}: {e}"))
            continue
        weights = resolve(cells["weights"]) if cells["weights"] else None
        options = tuple((o.name, cells[o.name]) for o in ALL_OPTIONS if cells[o.name])
        checks.extend(plan(base.loss, [base.predictions], base.labels, convention, bounds, weights, options))
    if not checks:
        raise InputError(f"manifest {name} lists no checks; add one row per prediction file")
    return checks


# --------------------------------------------------------------------------- running

#: labels opened once per process (in the parent before forking, or once per worker)
_LABELS: dict[str, Source | LossctlError] = {}


def _labels(path: str) -> Source:
    cached = _LABELS.get(path)
    if cached is None:
        try:
            cached = open_source(path)
        except LossctlError as e:
            cached = e
        _LABELS[path] = cached
    if isinstance(cached, LossctlError):
        raise cached
    return cached


def params_for(spec, options: tuple[tuple[str, str], ...]) -> Params:
    """The loss's :class:`Params` from option texts; an option the loss lacks is refused, naming who has it."""
    from .losses import LOSSES

    own = {o.name: o for o in spec.options}
    for name, _ in options:
        if name not in own:
            flag = next(o.flag for o in ALL_OPTIONS if o.name == name)
            having = [n for n, loss in LOSSES.items() if name in {o.name for o in loss.options}]
            raise UsageError(f"{flag} applies to {', '.join(having)} only, not {spec.name}")
    return Params(**{name: own[name].parse(text) for name, text in options})


def run_check(check: Check) -> Result:
    """Compute one check. Never raises for bad input: the result says ``error`` with the message."""
    if check.error:
        return _error(check, check.error)
    from .api import evaluate
    from .losses import get_loss

    try:
        spec = get_loss(check.loss)
        convention = scalar_convention(check.convention) if check.convention else None
        report = evaluate(
            spec,
            check.predictions,
            _labels(check.labels),
            check.weights,
            params=params_for(spec, check.options),
            conventions=[convention or spec.primary],  # only what is checked: the signature says so
            keep_per_sample=False,
        )
    except LossctlError as e:
        return _error(check, str(e))
    except Exception as e:  # out of memory, or a bug in lossctl: still a row, and the batch goes on
        if isinstance(e, MemoryError) or (_MEMORY_LIMIT_MB and "can't start new thread" in str(e)):
            if _MEMORY_LIMIT_MB:
                why = f"needs more memory than --max-memory {_MEMORY_LIMIT_MB:g} MB; raise it or check the file"
            else:
                why = "ran out of memory; free some memory or check the file"
            return _error(check, f"{check.predictions} {why}")
        return _error(check, f"internal error: {type(e).__name__}: {e} (please report it)")
    name = convention or report.primary
    gated = report.convention(name)
    value = gated.value if isinstance(gated.value, float | int) else None
    subject = f"{check.predictions}: {report.loss} {name}"
    message = check.bounds.crossed(subject, value, gated.note)
    return Result(
        file=check.predictions,
        labels=check.labels,
        loss=report.loss,
        convention=name,
        value=None if value is None else float(value),
        max=check.bounds.max,
        min=check.bounds.min,
        status="fail" if message else "pass",
        message=message or gated.note,
        notes=list(report.notes),
        signature=report.signature,
    )


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: the --max-memory of this worker process, in MB (0: none)
_MEMORY_LIMIT_MB: float = 0


def _worker_init(max_memory: float | None) -> None:
    """Set up a worker: cap its memory ``max_memory`` MB above what it holds at the start (the
    interpreter, numpy, and under fork the labels read by the parent), so a decompression bomb
    ends in a MemoryError, i.e. an ``error`` row, instead of the OOM killer.

    On Linux the cap is RLIMIT_DATA (writable memory: the heap and every array), not RLIMIT_AS:
    the address space also counts reservations that are never touched (64 MB per malloc arena,
    8 MB per thread stack: 140 MB for a 5-row file), so it would fail small files.
    """
    global _MEMORY_LIMIT_MB
    from . import api  # noqa: F401 - a spawned worker imports the readers now, outside each file's time budget

    if not max_memory:
        return
    import resource

    linux = sys.platform.startswith("linux") and hasattr(resource, "RLIMIT_DATA")
    limit, field = (resource.RLIMIT_DATA, "VmData:") if linux else (resource.RLIMIT_AS, "VmSize:")
    start = 0  # elsewhere the cap is on the whole address space
    try:
        with open("/proc/self/status") as f:
            start = next(int(line.split()[1]) * 1024 for line in f if line.startswith(field))
    except (OSError, ValueError, IndexError, StopIteration):
        pass
    _, hard = resource.getrlimit(limit)
    soft = start + int(max_memory * 2**20)
    resource.setrlimit(limit, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    _MEMORY_LIMIT_MB = max_memory


def _fault(max_memory: float | None):
    """Words the :class:`~lossctl.pool.Fault` of a check whose worker died or ran out of time as its ``error`` row."""

    def row(check: Check, fault) -> Result:
        if fault.kind == "timeout":
            return _error(
                check, f"{check.predictions} took longer than {fault.seconds:g} s; raise --timeout or check the file"
            )
        if fault.kind == "crashed":
            return _error(
                check, f"internal error while checking {check.predictions}: {fault.detail} (please report it)"
            )
        if fault.signal is not None:
            how = f"killed by signal {fault.signal}"
            if max_memory:
                how += f"; it may have hit --max-memory {max_memory:g} MB"
            elif fault.signal == getattr(signal, "SIGKILL", 9):
                how += ", e.g. out of memory"
        else:
            how = f"exited with code {fault.exitcode}"
        return _error(check, f"worker died while reading {check.predictions} ({how}); the other files were checked")

    return row


def run_checks(
    checks: Sequence[Check], jobs: int = 1, timeout: float | None = None, max_memory: float | None = None
) -> Iterator[Result]:
    """Yield one :class:`Result` per check, in the order of ``checks``, each as soon as it can be.

    ``jobs > 1`` computes in worker processes; the results and their order are
    the same as with ``jobs=1``. A check that takes longer than ``timeout``
    seconds, or whose worker dies (e.g. killed by the OOM killer), becomes an
    ``error`` result and a fresh worker takes the rest; ``max_memory`` caps each
    worker's memory (MB), so a check that needs more becomes an ``error`` result.
    With either budget the checks run in workers even when ``jobs`` is 1.
    """
    from .pool import ordered_map

    workers = max(1, min(jobs, len(checks)))
    fork = "fork" in multiprocessing.get_all_start_methods()
    budget = bool(timeout) or bool(max_memory)
    _LABELS.clear()
    try:
        if workers == 1 and not (budget and (fork or len(checks) > 1)):
            for check in checks:
                yield run_check(check)
            return
        if fork:  # import the readers and read each labels file once here; the forked workers inherit them
            from . import api  # noqa: F401

            for label in dict.fromkeys(c.labels for c in checks if not c.error):
                if os.path.isfile(label.rsplit(":", 1)[0] if ".npz:" in label else label):  # not a pipe or device
                    try:
                        _labels(label)
                    except LossctlError:
                        pass  # remembered in _LABELS; each check using it reports the error
        yield from ordered_map(
            run_check,
            checks,
            workers,
            context=multiprocessing.get_context("fork" if fork else "spawn"),
            on_fault=_fault(max_memory),
            timeout=timeout or None,
            initializer=_worker_init,
            initargs=(max_memory,),
        )
    finally:
        _LABELS.clear()


def summary(results: Iterable[Result]) -> dict[str, int]:
    """``{"passed": …, "failed": …, "errors": …, "total": …}``."""
    counts = {"pass": 0, "fail": 0, "error": 0}
    for r in results:
        counts[r.status] += 1
    return {
        "passed": counts["pass"],
        "failed": counts["fail"],
        "errors": counts["error"],
        "total": sum(counts.values()),
    }
