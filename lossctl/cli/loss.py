"""One command per registered loss: `lossctl LOSS PREDICTIONS LABELS`."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
from functools import partial
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from ..errors import UsageError
from ..losses import LOSSES, Loss
from ..params import Option, Params
from .app import EXIT_OK, EXIT_THRESHOLD, _stdout, app, default_format, fail, warn
from .statistics import STATISTICS, blas_for, statistics_observers, statistics_parameters

if TYPE_CHECKING:
    from ..gate import Bounds


def run_loss(
    loss: Loss,
    predictions: str,
    labels: str | None,
    *,
    fmt: str | None,
    conventions: list[str] | None,
    weights: str | None,
    precision: int | None,
    params: Params,
    chunk_rows: int,
    nan: str,
    pred_cols: str | None = None,
    label_cols: str | None = None,
    bounds: Bounds | None = None,
    per_sample: str | None = None,
    worst: int | None = None,
    signature_only: bool = False,
    scheduler: str | None = None,
    stats: dict | None = None,
) -> int:
    from ..api import evaluate
    from ..conventions import get_convention
    from ..gate import Bounds
    from ..output import per_sample_format, per_sample_writer
    from ..render import FORMATS, worst_samples
    from ..render_stream import VectorStream
    from ..suggest import unknown

    from_env = not fmt and bool(os.environ.get("LOSSCTL_FORMAT"))
    fmt = (fmt or default_format()).lower()
    if fmt not in FORMATS:
        origin = " (from LOSSCTL_FORMAT)" if from_env else ""
        message = unknown("format", fmt, FORMATS, f"choose one of: {', '.join(FORMATS)}")
        raise UsageError(message.replace(repr(fmt), repr(fmt) + origin, 1))
    if labels is None and label_cols is None:
        raise UsageError(
            f"{loss.name} needs LABELS: lossctl {loss.name} PREDICTIONS LABELS, or one file with "
            f"--label-cols (e.g. lossctl {loss.name} results.csv --pred-cols 'p*' --label-cols 'y*')"
        )
    bounds = bounds or Bounds()
    gated = _gated_convention(conventions, bounds)
    if per_sample is not None:  # a bad output name ('' or an input file) fails before the computing starts
        per_sample_format(per_sample, (predictions, labels, weights))
    _known_conventions(loss, conventions or [], weights is not None)
    asked = [get_convention(c).name for c in conventions] if conventions else None
    observers, attach = statistics_observers(stats or {})
    if scheduler and observers:
        raise UsageError(
            "--ci and --batch-size run in one process for now: drop --scheduler to use them "
            "(the cluster gives the same conventions without intervals)"
        )
    if scheduler:  # the reduction on a Dask cluster (lossctl[dask]); the same Report
        from ..distributed import evaluate as evaluate_on_cluster

        evaluate = partial(evaluate_on_cluster, scheduler=scheduler)  # type: ignore[assignment]
        loss_arg: Loss | str = loss.name
    else:
        loss_arg = loss
    machine = fmt != "table" and not signature_only
    # the vector is kept whole only for --worst and the table's histogram; -c per_sample in a
    # machine format and --per-sample FILE stream it chunk by chunk; a summary keeps it for the median
    keep = bool(worst or (fmt == "table" and not signature_only))
    stream = (
        VectorStream(sys.stdout, fmt, precision or 15, single=len(asked) == 1)
        if (machine and asked and "per_sample" in asked)
        else None
    )
    borrowed = bool(keep or per_sample) and asked is not None and "per_sample" not in asked
    with contextlib.ExitStack() as files:
        files.enter_context(blas_for(observers))
        sinks = [files.enter_context(per_sample_writer(per_sample))] if per_sample else []
        sinks += [stream] if stream else []
        report = evaluate(
            loss_arg,  # type: ignore[arg-type]
            predictions,
            labels,
            weights,
            params=params,
            conventions=[*asked, "per_sample"] if borrowed else asked,
            chunk_rows=chunk_rows,
            nan=nan,
            pred_cols=pred_cols,
            label_cols=label_cols,
            keep_per_sample=keep,
            per_sample_sink=_fan_out(sinks),
            summarize=machine and asked is None,
            observers=observers,
        )
        report = attach(report)
        values, report = _per_sample_values(report, borrowed)
        if report.dropped and (per_sample or worst or stream):
            raise UsageError(  # inside the with: the --per-sample file is not written
                f"--nan omit dropped {report.dropped} samples, so per-sample rows would not match the input's "
                "rows; drop --per-sample/--worst/-c per_sample, or remove the NaN rows from the files first"
            )
    for note in report.notes:
        warn(note)
    worst_rows = worst_samples(values, worst) if worst else None
    if stream:
        stream.finish(report, worst_rows, asked)
    else:
        _print_report(report, fmt, precision, values, worst_rows, signature_only, asked or ())
    return _gate(report, gated, bounds, "<stdin>" if predictions == "-" else predictions)


def _fan_out(sinks: list):
    """One per-sample sink feeding every one of ``sinks`` (None when there are none)."""
    if len(sinks) <= 1:
        return sinks[0] if sinks else None

    def write(start: int, values) -> None:
        for sink in sinks:
            sink(start, values)

    return write


def _known_conventions(loss: Loss, names: list[str], weighted: bool) -> None:
    """An unknown -c name fails with the closest of the conventions this run has, and lists only those."""
    from ..conventions import BY_NAME, applicable
    from ..suggest import unknown

    here = [c.name for c in applicable(loss.kind, loss.squared, weighted)]
    for name in names:
        if name.strip().lower().replace("-", "_") not in BY_NAME:
            raise UsageError(unknown("convention", name, here, f"{loss.name} has: {', '.join(here)}"))


def _gated_convention(conventions: list[str] | None, bounds) -> str | None:
    """The convention --max/--min gate: the one given with -c, else (None) the loss's primary one."""
    from ..gate import scalar_convention

    if not bounds:
        return None
    if conventions and len(conventions) > 1:
        raise UsageError(
            f"--max/--min gate one convention but -c was given {len(conventions)} times; "
            "give one -c, or none to gate the loss's primary convention"
        )
    return scalar_convention(conventions[0]) if conventions else None


def _per_sample_values(report, borrowed: bool):
    """The per-sample vector, and the report without its row when it was only computed for
    --per-sample/--worst/the histogram (so the signature says what was asked for)."""
    from dataclasses import replace

    values = next((c.value for c in report.conventions if c.name == "per_sample"), None)
    if borrowed:
        report = replace(report, conventions=tuple(c for c in report.conventions if c.name != "per_sample"))
    return values, report


#: below this many samples the table's min/median/max says all a histogram would
HISTOGRAM_MIN_SAMPLES = 10


def _print_report(report, fmt: str, precision: int | None, values, worst, signature_only: bool, full) -> None:
    from ..render import delimited, extra_rows, histogram, report_dict, table, to_delimited, to_plain, worst_table
    from ..render import fmt as number

    if signature_only:
        sys.stdout.write(report.signature + "\n")
    elif fmt == "table":
        extras = []
        if values is not None and len(values) >= HISTOGRAM_MIN_SAMPLES:
            extras.append(histogram(values))
        if worst:
            extras.append(worst_table(worst, precision or 6))
        _stdout().print(table(report, precision or 6, tuple(extras)), crop=False)  # a long call stays whole
    elif fmt == "json":
        sys.stdout.write(
            json.dumps(report_dict(report, worst, full), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
        )
    elif fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        rows = extra_rows(report, worst, precision or 15)
        sys.stdout.write(to_delimited(report, delimiter, precision or 15, full) + delimited(rows, delimiter))
    else:  # plain: one convention is the bare number; several are `name value` lines and the signature
        text = to_plain(report, precision or 15, full)
        text += "".join(f"worst {row} {number(value, precision or 15)}\n" for row, value in worst or [])
        if len(report.conventions) > 1:
            text += f"signature {report.signature}\n"
        sys.stdout.write(text)


def _gate(report, convention: str | None, bounds, name: str) -> int:
    """Exit code 1 and one ``fail:`` line when the gated value crosses --max/--min, else 0."""
    if not bounds:
        return EXIT_OK
    gated = report.convention(convention or report.primary)
    value = None if isinstance(gated.value, np.ndarray) else gated.value
    message = bounds.crossed(f"{name}: {report.loss} {gated.name}", value, gated.note)
    if message:
        fail(message)
        return EXIT_THRESHOLD
    return EXIT_OK


def _loss_help(loss: Loss) -> str:
    example = f"lossctl {loss.name} preds.csv labels.csv"
    return f"{loss.summary}\n\nInputs: {loss.expects}.\n\nExample: {example}"


def _keyword(name: str, kind, info, default=inspect.Parameter.empty) -> inspect.Parameter:
    """A keyword-only parameter of a loss command: its type and its typer Argument/Option."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, info])


def _files_and_views() -> list[inspect.Parameter]:
    """PREDICTIONS [LABELS], the format and conventions shown, weights, precision and NaN handling
    (the order --help lists them)."""
    return [
        _keyword(
            "predictions",
            str,
            typer.Argument(
                metavar="PREDICTIONS",
                help="Predictions: .csv/.tsv/.txt(.gz), .npy, .npz[:key], .parquet, or - for CSV on stdin.",
                show_default=False,
            ),
        ),
        _keyword(
            "labels",
            str | None,
            typer.Argument(metavar="[LABELS]", help="Labels, in any of the same formats.", show_default=False),
            None,
        ),
        _keyword(
            "format",
            str | None,
            typer.Option(
                "--format",
                "-f",
                metavar="FORMAT",
                help="table, json, csv, tsv or plain [default: table on a terminal, else tsv]",
                show_default=False,
            ),
            None,
        ),
        _keyword(
            "convention",
            list[str] | None,
            typer.Option(
                "--convention",
                "-c",
                metavar="NAME",
                help="Show only this convention (repeatable); see 'lossctl explain'.",
                show_default=False,
            ),
            None,
        ),
        _keyword(
            "weights",
            str | None,
            typer.Option(
                "--weights",
                "-w",
                metavar="FILE",
                help="A file of N per-sample weights; adds the weighted conventions.",
                show_default=False,
            ),
            None,
        ),
        _keyword(
            "precision",
            int | None,
            typer.Option(
                "--precision",
                "-p",
                metavar="DIGITS",
                min=1,
                max=17,
                help="Significant digits printed [default: 6 in the table, 15 in csv/tsv/plain]; JSON is always exact.",
                show_default=False,
            ),
            None,
        ),
        _keyword(
            "nan",
            str,
            typer.Option(
                "--nan",
                metavar="error|omit",
                help="error: refuse NaN; omit: drop samples with NaN and report how many.",
            ),
            "error",
        ),
    ]


def _columns_gates_and_outputs() -> list[inspect.Parameter]:
    """Column selection, gates, per-sample outputs and chunking, in the order --help lists them."""
    return [
        _keyword(
            "pred_cols",
            str | None,
            typer.Option(
                "--pred-cols",
                metavar="COLS",
                help="Columns of PREDICTIONS to use, comma-separated: names (p0), 0-based indices (3), "
                "ranges (2:5 = 2,3,4) or globs ('p*').",
                show_default=False,
            ),
            None,
        ),
        _keyword(
            "label_cols",
            str | None,
            typer.Option(
                "--label-cols",
                metavar="COLS",
                help="Columns of LABELS to use, in the same syntax; without LABELS, read the labels from "
                "the PREDICTIONS file (the predictions are then the other columns unless --pred-cols).",
                show_default=False,
            ),
            None,
        ),
        _keyword(
            "max_bound",
            float | None,
            typer.Option(
                "--max",
                metavar="X",
                help="Exit 1 if the gated value is above this (inclusive). Gated: the -c convention, "
                "else the loss's primary one (* in the table).",
                show_default=False,
            ),
            None,
        ),
        _keyword(
            "min_bound",
            float | None,
            typer.Option(
                "--min", metavar="X", help="Exit 1 if the gated value is below this (inclusive).", show_default=False
            ),
            None,
        ),
        _keyword(
            "per_sample",
            str | None,
            typer.Option(
                "--per-sample",
                help="Write each sample's loss to FILE (.csv, .tsv or .npy), atomically.",
                metavar="FILE",
                show_default=False,
            ),
            None,
        ),
        _keyword(
            "worst",
            int | None,
            typer.Option(
                "--worst", min=1, help="List the K samples with the highest loss.", metavar="K", show_default=False
            ),
            None,
        ),
        _keyword(
            "signature_only",
            bool,
            typer.Option("--signature-only", help="Print only the signature of the numbers."),
            False,
        ),
        _keyword(
            "chunk_rows",
            int,
            typer.Option("--chunk-rows", metavar="ROWS", min=1, help="Rows read per chunk (memory vs speed)."),
            65536,
        ),
        _keyword("scheduler", str | None, scheduler_option(), None),
    ]


def scheduler_option(what: str = "Run on") -> typer.models.OptionInfo:
    """--scheduler (also `lossctl check`'s)."""
    return typer.Option(
        "--scheduler",
        metavar="local[:N]|tcp://HOST:PORT",
        help=f"{what} a Dask cluster: local:N worker processes, or a running scheduler "
        "(needs pip install 'lossctl[dask]').",
        show_default=False,
    )


def _params(loss: Loss, kw: dict) -> Params:
    """The :class:`Params` of the loss's declared options, taken out of the command's keyword arguments."""
    return Params(**{option.name: option.parse(kw.pop(option.name)) for option in loss.options})


def _option_parameter(option: Option) -> inspect.Parameter:
    """The typer parameter of one declared option (``--delta``, ``--logits``)."""
    if isinstance(option.default, bool):
        return _keyword(option.name, bool, typer.Option(option.flag, help=option.help), option.default)
    if option.default is None:  # text parsed by Option.parse: an integer, a list of numbers or a FILE
        flag = typer.Option(option.flag, metavar=option.metavar, help=option.help, show_default=False)
        return _keyword(option.name, str | None, flag, None)
    flag = typer.Option(option.flag, metavar=option.metavar, help=option.help)
    return _keyword(option.name, type(option.default), flag, option.default)


def _make_command(loss: Loss):
    def command(**kw) -> int:
        from ..gate import Bounds

        params = _params(loss, kw)
        return run_loss(
            loss,
            kw["predictions"],
            kw["labels"],
            fmt=kw["format"],
            conventions=kw["convention"],
            weights=kw["weights"],
            precision=kw["precision"],
            params=params,
            chunk_rows=kw["chunk_rows"],
            nan=kw["nan"],
            pred_cols=kw["pred_cols"],
            label_cols=kw["label_cols"],
            bounds=Bounds(kw["max_bound"], kw["min_bound"]),
            per_sample=kw["per_sample"],
            worst=kw["worst"],
            signature_only=kw["signature_only"],
            scheduler=kw["scheduler"],
            stats={name: kw[name] for name in STATISTICS},
        )

    parameters = [*_files_and_views(), *_columns_gates_and_outputs(), *statistics_parameters()]
    parameters.extend(_option_parameter(option) for option in loss.options)
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__doc__ = _loss_help(loss)
    return command


for _loss in LOSSES.values():
    _cmd = _make_command(_loss)
    # aliases are resolved by LossctlGroup.get_command through the registry, so that start-up
    # builds one command per loss rather than one per alias
    app.command(_loss.name, help=_loss_help(_loss), rich_help_panel="Losses")(_cmd)
