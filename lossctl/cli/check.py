"""`lossctl check`: batch-check saved model outputs against loss bounds."""

from __future__ import annotations

import inspect
import math
import os
import sys
from contextlib import nullcontext
from typing import Annotated

import typer
from rich.console import Console

from ..errors import UsageError
from ..params import ALL_OPTIONS
from .app import EXIT_INPUT, EXIT_OK, EXIT_THRESHOLD, _stdout, app, default_format

CHECK_FORMATS = ("table", "json", "jsonl", "csv", "tsv")
#: show a progress bar (on a terminal) from this many files on
PROGRESS_MIN_FILES = 10
#: --timeout's default, in seconds: generous, so only a hanging or runaway file meets it
DEFAULT_TIMEOUT = 300


def _format(fmt: str | None) -> str:
    from ..render import FORMATS

    if fmt:
        chosen = fmt.lower()
        if chosen not in CHECK_FORMATS:
            from ..suggest import unknown

            raise UsageError(unknown("format", fmt, CHECK_FORMATS, f"check writes: {', '.join(CHECK_FORMATS)}"))
        return chosen
    default = default_format().lower()
    if default in CHECK_FORMATS:
        return default
    if default not in FORMATS:  # a typo in the environment is refused, as by `lossctl LOSS`
        from ..suggest import unknown

        message = unknown("format", default, CHECK_FORMATS, f"check writes: {', '.join(CHECK_FORMATS)}")
        raise UsageError(message.replace(repr(default), f"{default!r} (from LOSSCTL_FORMAT)", 1))
    return "table" if sys.stdout.isatty() else "tsv"  # e.g. LOSSCTL_FORMAT=plain, which check has not


def _budget(timeout: float, max_memory: float | None) -> tuple[float | None, float | None]:
    """--timeout (0: none) and --max-memory, checked before any output."""
    if math.isnan(timeout):
        raise UsageError("--timeout must be a number of seconds (0 for no limit), not nan")
    if max_memory is not None:
        if math.isnan(max_memory) or max_memory <= 0:
            raise UsageError(f"--max-memory must be a positive number of MB, not {max_memory:g}")
        try:
            import resource

            resource.RLIMIT_AS  # noqa: B018 - only where the system can cap a process's memory
        except (ImportError, AttributeError):
            raise UsageError("--max-memory needs a system that can cap a process's memory (RLIMIT_AS)") from None
    return (timeout if 0 < timeout < math.inf else None), (None if max_memory == math.inf else max_memory)


def _plan(
    args: list[str],
    labels: str | None,
    convention: str | None,
    bounds,
    manifest: str | None,
    exclude: list[str],
    weights: str | None = None,
    options: tuple[tuple[str, str], ...] = (),
) -> list:
    checks = _planned(args, labels, convention, bounds, manifest, weights, options)
    return [c for c in checks if not _excluded(c.predictions, exclude)] if exclude else checks


def _excluded(path: str, patterns: list[str]) -> bool:
    """Whether ``--exclude`` patterns match the path as given or its file name."""
    from fnmatch import fnmatch

    return any(fnmatch(path, p) or fnmatch(os.path.basename(path), p) for p in patterns)


def _skipped(args: list[str], labels: str | None, exclude: list[str]) -> str | None:
    """One note naming the files of the directories in ``args`` that were skipped as not arrays."""
    from ..check import expand

    skipped: list[str] = []
    for arg in args[1:]:
        if os.path.isdir(arg):
            expand(arg, exclude=[labels or ""], skipped=skipped)
    named = {os.path.realpath(a) for a in args[1:]}  # a file named on the command line is read, not skipped
    skipped = [p for p in skipped if not _excluded(p, exclude) and os.path.realpath(p) not in named]
    if not skipped:
        return None
    names = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
    count = f"{len(skipped)} non-array file{'s' if len(skipped) != 1 else ''}"
    return f"skipped {count} in the directories: {names} (name a file to read it anyway)"


def _planned(
    args: list[str],
    labels: str | None,
    convention: str | None,
    bounds,
    manifest: str | None,
    weights: str | None = None,
    options: tuple[tuple[str, str], ...] = (),
) -> list:
    from ..check import params_for, plan, read_manifest
    from ..gate import scalar_convention
    from ..losses import get_loss

    if manifest:
        given = [
            flag
            for flag, value in (
                ("LOSS PREDICTIONS...", args),
                ("--labels", labels),
                ("-c", convention),
                ("--max/--min", bounds),
            )
            if value
        ]
        if given:
            raise UsageError(
                f"--manifest takes the loss, labels, convention and bounds from its columns; drop {given[0]}"
            )
        return read_manifest(manifest)
    if len(args) < 2:
        raise UsageError(
            "check needs LOSS and at least one PREDICTIONS file: lossctl check LOSS PREDICTIONS... --labels LABELS"
        )
    if not labels:
        raise UsageError("check needs --labels LABELS (the labels file every prediction file is compared with)")
    spec = get_loss(args[0])
    params_for(spec, options)  # an option the loss lacks, or a bad value, fails once before the batch
    return plan(
        spec.name, args[1:], labels, scalar_convention(convention) if convention else None, bounds, weights, options
    )


class _Diagnostics:
    """stderr lines (``error:``/``warning:``), through the progress bar's console while it is shown."""

    def __init__(self) -> None:
        self.console: Console | None = None
        self.warned: set[str] = set()

    def line(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def result(self, result, errors: bool = True) -> None:
        """Warnings once each; the error line unless ``errors=False`` (the table recaps errors itself)."""
        for note in result.notes:
            if note not in self.warned:
                self.warned.add(note)
                self.line(f"warning: {note}")
        if result.status == "error" and errors:
            self.line(f"error: {result.message}")


def _progress(total: int, fmt: str):
    streaming_to_terminal = fmt in ("jsonl", "csv", "tsv") and sys.stdout.isatty()
    if total < PROGRESS_MIN_FILES or not sys.stderr.isatty() or streaming_to_terminal:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )


def check(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="LOSS, then PREDICTIONS files: paths, directories (their array files) or quoted globs.",
            show_default=False,
            metavar="LOSS PREDICTIONS...",
        ),
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            "-l",
            metavar="LABELS",
            help="The labels file shared by every prediction file.",
            show_default=False,
        ),
    ] = None,
    convention: Annotated[
        str | None,
        typer.Option(
            "--convention",
            "-c",
            metavar="NAME",
            help="The convention to check [default: the loss's primary one].",
            show_default=False,
        ),
    ] = None,
    max_: Annotated[
        float | None,
        typer.Option(
            "--max",
            metavar="X",
            help="Fail (exit 1) a file whose value is above this (inclusive bound).",
            show_default=False,
        ),
    ] = None,
    min_: Annotated[
        float | None,
        typer.Option(
            "--min",
            metavar="X",
            help="Fail (exit 1) a file whose value is below this (inclusive bound).",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            help="Files computed in parallel [default: the number of cores].",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0,
            metavar="SECONDS",
            help="Give up on a file after this long: its row says error and the rest go on (0: no limit).",
        ),
    ] = DEFAULT_TIMEOUT,
    max_memory: Annotated[
        float | None,
        typer.Option(
            "--max-memory",
            metavar="MB",
            help="Memory each file's check may use beyond a worker's start; more is an error row, not a dead batch.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="table, json, jsonl (one object per file, streamed), csv or tsv "
            "[default: table on a terminal, else tsv]",
            show_default=False,
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            "-x",
            metavar="GLOB",
            help="Leave out prediction files whose path or name matches GLOB (repeatable), e.g. --exclude '*_old.csv'.",
            show_default=False,
        ),
    ] = None,
    manifest: Annotated[
        str | None,
        typer.Option(
            "--manifest",
            "-m",
            metavar="FILE",
            help="A CSV with columns predictions, labels, loss[, convention, max, min, weights, and option "
            "columns named like the options: logits, delta, label_smoothing...]; paths relative to it.",
            show_default=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="local[:N]|tcp://HOST:PORT",
            help="Spread the files over a Dask cluster: local:N worker processes, or a running scheduler "
            "(needs pip install 'lossctl[dask]').",
            show_default=False,
        ),
    ] = None,
    **options,
) -> int:
    """Check many saved model outputs at once: one result per prediction file, pass / fail / error.

    A broken file never stops the batch. Exit code: 0 if every file passes, 1 if any fails its bound,
    2 if any could not be checked.

    Example: lossctl check mse runs/*.csv --labels labels.csv --max 0.05

    Or, one row per check: lossctl check --manifest FILE
    """
    from ..check import default_jobs, run_checks, summary
    from ..gate import Bounds
    from ..render_check import check_header, check_json, check_line, check_record, check_summary, check_table

    out_format = _format(fmt)
    budget = _budget(timeout, max_memory)
    bounds = Bounds(max_, min_)
    checks = _plan(list(args or []), labels, convention, bounds, manifest, list(exclude or []))
    if scheduler:
        from ..distributed import require

        require(scheduler)  # a bad --scheduler or the missing extra: one error line, before any output
    weights = options.pop("weights", None)
    given = _given_options(options)
    if manifest and (weights or given):
        flag = "--weights" if weights else next(o.flag for o in ALL_OPTIONS if o.name == given[0][0])
        raise UsageError(f"--manifest takes the weights and options from its columns; drop {flag}")
    checks = _plan(list(args or []), labels, convention, bounds, manifest, list(exclude or []), weights, given)
    diagnostics = _Diagnostics()
    skipped = None if manifest else _skipped(list(args or []), labels, list(exclude or []))
    if skipped:
        diagnostics.line(f"warning: {skipped}")
    delimiter = "," if out_format == "csv" else "\t"
    if out_format in ("csv", "tsv"):
        sys.stdout.write(check_header(delimiter))
        sys.stdout.flush()

    results = []
    progress = _progress(len(checks), out_format)
    with progress if progress is not None else nullcontext():
        task = None
        if progress is not None:
            diagnostics.console = progress.console
            task = progress.add_task("check", total=len(checks))
        if scheduler:  # each check one task on a Dask cluster (lossctl[dask])
            from ..distributed import run_checks as run_on_cluster

            computed = run_on_cluster(checks, scheduler)
        else:
            computed = run_checks(checks, jobs or default_jobs(), *budget)
        for result in computed:
            results.append(result)
            diagnostics.result(result, errors=out_format != "table")
            if out_format == "jsonl":
                import json

                sys.stdout.write(json.dumps(check_record(result), allow_nan=False) + "\n")
                sys.stdout.flush()
            elif out_format in ("csv", "tsv"):
                sys.stdout.write(check_line(result, delimiter))
                sys.stdout.flush()
            if progress is not None:
                progress.advance(task)

    counts = summary(results)
    if out_format == "table":
        _stdout().print(check_table(results, counts), crop=False)
    elif out_format == "json":
        sys.stdout.write(check_json(results, counts) + "\n")
    elif progress is not None:
        Console(stderr=True).print(check_summary(counts), markup=False, highlight=False)
    if counts["errors"]:
        return EXIT_INPUT
    if counts["failed"]:
        return EXIT_THRESHOLD
    return EXIT_OK


def _given_options(values: dict) -> tuple[tuple[str, str], ...]:
    """The option flags given on the command line, as text by option name (switches as ``yes``)."""
    given = []
    for option in ALL_OPTIONS:
        value = values.get(option.name)
        if value is True:
            given.append((option.name, "yes"))
        elif value not in (None, False):
            given.append((option.name, str(value)))
    return tuple(given)


def _option_parameters() -> list[inspect.Parameter]:
    """--weights and one flag per option of any loss, as text (parsed per loss when a file is checked)."""

    def keyword(name: str, kind, info, default) -> inspect.Parameter:
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, info]
        )

    weights = typer.Option(
        "--weights",
        "-w",
        metavar="FILE",
        help="A file of N per-sample weights, shared by every check.",
        show_default=False,
    )
    parameters = [keyword("weights", str | None, weights, None)]
    for option in ALL_OPTIONS:
        if isinstance(option.default, bool):
            parameters.append(keyword(option.name, bool, typer.Option(option.flag, help=option.help), False))
        else:
            flag = typer.Option(option.flag, metavar=option.metavar, help=option.help, show_default=False)
            parameters.append(keyword(option.name, str | None, flag, None))
    return parameters


_signature = inspect.signature(check, eval_str=True)  # the Annotated typer infos, not strings
check.__signature__ = _signature.replace(  # type: ignore[attr-defined]
    parameters=[p for p in _signature.parameters.values() if p.kind != p.VAR_KEYWORD] + _option_parameters()
)
app.command("check")(check)
