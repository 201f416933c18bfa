"""One command per registered loss: `lossctl LOSS PREDICTIONS LABELS`."""

from __future__ import annotations

import inspect
import json
import os
import sys
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from ..errors import UsageError
from ..losses import LOSSES, Loss, Params
from . import EXIT_OK, EXIT_THRESHOLD, _stdout, app, default_format, fail, warn

if TYPE_CHECKING:
    from ..batch import Bounds


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
) -> int:
    from ..api import evaluate
    from ..batch import Bounds
    from ..conventions import get_convention
    from ..output import per_sample_format, write_per_sample
    from ..render import FORMATS, worst_samples

    from_env = not fmt and bool(os.environ.get("LOSSCTL_FORMAT"))
    fmt = (fmt or default_format()).lower()
    if fmt not in FORMATS:
        origin = " (from LOSSCTL_FORMAT)" if from_env else ""
        raise UsageError(f"unknown format {fmt!r}{origin}; choose one of: {', '.join(FORMATS)}")
    if labels is None and label_cols is None:
        raise UsageError(
            f"{loss.name} needs LABELS: lossctl {loss.name} PREDICTIONS LABELS, or one file with "
            f"--label-cols (e.g. lossctl {loss.name} results.csv --pred-cols 'p*' --label-cols 'y*')"
        )
    bounds = bounds or Bounds()
    gated = _gated_convention(conventions, bounds)
    if per_sample is not None:  # a bad output name ('' or an input file) fails before the computing starts
        per_sample_format(per_sample, (predictions, labels, weights))
    asked = [get_convention(c).name for c in conventions] if conventions else None
    need_vector = bool(per_sample or worst or (fmt == "table" and not signature_only))
    borrowed = need_vector and asked is not None and "per_sample" not in asked
    report = evaluate(
        loss,
        predictions,
        labels,
        weights,
        params=params,
        conventions=[*asked, "per_sample"] if borrowed else asked,
        chunk_rows=chunk_rows,
        nan=nan,
        pred_cols=pred_cols,
        label_cols=label_cols,
    )
    values = _per_sample_values(report, borrowed) if need_vector else None
    if report.dropped and (per_sample or worst):
        raise UsageError(
            f"--nan omit dropped {report.dropped} samples, so per-sample rows would not match the input's rows; "
            "drop --per-sample/--worst, or remove the NaN rows from the files first"
        )
    for note in report.notes:
        warn(note)
    if per_sample:
        write_per_sample(per_sample, values)
    _print_report(report, fmt, precision, values, worst_samples(values, worst) if worst else None, signature_only)
    return _gate(report, gated, bounds, "<stdin>" if predictions == "-" else predictions)


def _gated_convention(conventions: list[str] | None, bounds) -> str | None:
    """The convention --max/--min gate: the one given with -c, else (None) the loss's primary one."""
    from ..batch import scalar_convention

    if not bounds:
        return None
    if conventions and len(conventions) > 1:
        raise UsageError(
            f"--max/--min gate one convention but -c was given {len(conventions)} times; "
            "give one -c, or none to gate the loss's primary convention"
        )
    return scalar_convention(conventions[0]) if conventions else None


def _per_sample_values(report, borrowed: bool):
    """The per-sample vector; when it was only computed for --per-sample/--worst/the histogram, hide its row."""
    from ..compute import signature
    from ..losses import get_loss

    values = report.convention("per_sample").value
    if borrowed:
        report.conventions = [c for c in report.conventions if c.name != "per_sample"]
        report.signature = signature(report, get_loss(report.loss))
    return values


#: below this many samples the table's min/median/max says all a histogram would
HISTOGRAM_MIN_SAMPLES = 10


def _print_report(report, fmt: str, precision: int | None, values, worst, signature_only: bool) -> None:
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
        _stdout().print(table(report, precision or 6, tuple(extras)))
    elif fmt == "json":
        sys.stdout.write(json.dumps(report_dict(report, worst), indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    elif fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        rows = extra_rows(report, worst, precision or 15)
        sys.stdout.write(to_delimited(report, delimiter, precision or 15) + delimited(rows, delimiter))
    else:  # plain: one convention is the bare number; several are `name value` lines and the signature
        text = to_plain(report, precision or 15)
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


def _make_command(loss: Loss):
    def command(**kw) -> int:
        from ..batch import Bounds

        params = Params(logits=kw.pop("logits", False), delta=kw.pop("delta", 1.0))
        if not 0 < params.delta < float("inf"):  # also refuses nan
            raise UsageError(f"--delta must be a finite number > 0, not {params.delta:g}")
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
        )

    P = inspect.Parameter
    params = [
        P(
            "predictions",
            P.KEYWORD_ONLY,
            annotation=Annotated[
                str,
                typer.Argument(
                    metavar="PREDICTIONS",
                    help="Predictions: .csv/.tsv/.txt(.gz), .npy, .npz[:key], .parquet, or - for CSV on stdin.",
                    show_default=False,
                ),
            ],
        ),
        P(
            "labels",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Argument(metavar="[LABELS]", help="Labels, in any of the same formats.", show_default=False),
            ],
        ),
        P(
            "format",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option(
                    "--format",
                    "-f",
                    metavar="FORMAT",
                    help="table, json, csv, tsv or plain [default: table on a terminal, else tsv]",
                    show_default=False,
                ),
            ],
        ),
        P(
            "convention",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                list[str] | None,
                typer.Option(
                    "--convention",
                    "-c",
                    metavar="NAME",
                    help="Show only this convention (repeatable); see 'lossctl explain'.",
                    show_default=False,
                ),
            ],
        ),
        P(
            "weights",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option(
                    "--weights",
                    "-w",
                    metavar="FILE",
                    help="A file of N per-sample weights; adds the weighted conventions.",
                    show_default=False,
                ),
            ],
        ),
        P(
            "precision",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                int | None,
                typer.Option(
                    "--precision",
                    "-p",
                    metavar="DIGITS",
                    min=1,
                    max=17,
                    help="Significant digits printed [default: 6 in the table, 15 in csv/tsv/plain]; "
                    "JSON is always exact.",
                    show_default=False,
                ),
            ],
        ),
        P(
            "nan",
            P.KEYWORD_ONLY,
            default="error",
            annotation=Annotated[
                str,
                typer.Option(
                    "--nan",
                    metavar="error|omit",
                    help="error: refuse NaN; omit: drop samples with NaN and report how many.",
                ),
            ],
        ),
        P(
            "pred_cols",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option(
                    "--pred-cols",
                    metavar="COLS",
                    help="Columns of PREDICTIONS to use, comma-separated: names (p0), 0-based indices (3), "
                    "ranges (2:5 = 2,3,4) or globs ('p*').",
                    show_default=False,
                ),
            ],
        ),
        P(
            "label_cols",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option(
                    "--label-cols",
                    metavar="COLS",
                    help="Columns of LABELS to use, in the same syntax; without LABELS, read the labels from "
                    "the PREDICTIONS file (the predictions are then the other columns unless --pred-cols).",
                    show_default=False,
                ),
            ],
        ),
        P(
            "max_bound",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                float | None,
                typer.Option(
                    "--max",
                    metavar="X",
                    help="Exit 1 if the gated value is above this (inclusive). Gated: the -c convention, "
                    "else the loss's primary one (* in the table).",
                    show_default=False,
                ),
            ],
        ),
        P(
            "min_bound",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                float | None,
                typer.Option(
                    "--min",
                    metavar="X",
                    help="Exit 1 if the gated value is below this (inclusive).",
                    show_default=False,
                ),
            ],
        ),
        P(
            "per_sample",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option(
                    "--per-sample",
                    help="Write each sample's loss to FILE (.csv, .tsv or .npy), atomically.",
                    metavar="FILE",
                    show_default=False,
                ),
            ],
        ),
        P(
            "worst",
            P.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                int | None,
                typer.Option(
                    "--worst", min=1, help="List the K samples with the highest loss.", metavar="K", show_default=False
                ),
            ],
        ),
        P(
            "signature_only",
            P.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[
                bool, typer.Option("--signature-only", help="Print only the signature of the numbers.")
            ],
        ),
        P(
            "chunk_rows",
            P.KEYWORD_ONLY,
            default=65536,
            annotation=Annotated[
                int, typer.Option("--chunk-rows", metavar="ROWS", min=1, help="Rows read per chunk (memory vs speed).")
            ],
        ),
    ]
    if "logits" in loss.options:
        params.append(
            P(
                "logits",
                P.KEYWORD_ONLY,
                default=False,
                annotation=Annotated[
                    bool, typer.Option("--logits", help="Predictions are raw scores (softmax/sigmoid applied stably).")
                ],
            )
        )
    if "delta" in loss.options:
        params.append(
            P(
                "delta",
                P.KEYWORD_ONLY,
                default=1.0,
                annotation=Annotated[
                    float,
                    typer.Option(
                        "--delta", metavar="δ", help="Huber's threshold between the quadratic and linear parts."
                    ),
                ],
            )
        )
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = _loss_help(loss)
    return command


for _loss in LOSSES.values():
    _cmd = _make_command(_loss)
    # aliases are resolved by LossctlGroup.get_command through the registry, so that start-up
    # builds one command per loss rather than one per alias
    app.command(_loss.name, help=_loss_help(_loss), rich_help_panel="Losses")(_cmd)
