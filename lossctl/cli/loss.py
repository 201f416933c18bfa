"""One command per registered loss: `lossctl LOSS PREDICTIONS LABELS`."""

from __future__ import annotations

import inspect
import sys
from typing import Annotated

import typer

from ..errors import UsageError
from ..losses import LOSSES, Loss, Params
from . import EXIT_OK, _stdout, app, default_format, warn


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
) -> int:
    from ..api import evaluate
    from ..render import FORMATS, table, to_delimited, to_json, to_plain

    fmt = (fmt or default_format()).lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if labels is None and label_cols is None:
        raise UsageError(
            f"{loss.name} needs LABELS: lossctl {loss.name} PREDICTIONS LABELS, or one file with "
            f"--label-cols (e.g. lossctl {loss.name} results.csv --pred-cols 'p*' --label-cols 'y*')"
        )
    report = evaluate(
        loss,
        predictions,
        labels,
        weights,
        params=params,
        conventions=conventions or None,
        chunk_rows=chunk_rows,
        nan=nan,
        pred_cols=pred_cols,
        label_cols=label_cols,
    )
    for note in report.notes:
        warn(note)
    if fmt == "table":
        _stdout().print(table(report, precision or 6))
    elif fmt == "json":
        sys.stdout.write(to_json(report) + "\n")
    elif fmt in ("csv", "tsv"):
        sys.stdout.write(to_delimited(report, "," if fmt == "csv" else "\t", precision or 15))
    else:
        sys.stdout.write(to_plain(report, precision or 15))
    return EXIT_OK


def _loss_help(loss: Loss) -> str:
    example = f"lossctl {loss.name} preds.csv labels.csv"
    return f"{loss.summary}\n\n{loss.expects}.\n\nExample: {example}"


def _make_command(loss: Loss):
    def command(**kw) -> int:
        params = Params(logits=kw.pop("logits", False), delta=kw.pop("delta", 1.0))
        if params.delta <= 0:
            raise UsageError(f"--delta must be > 0, not {params.delta:g}")
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
        )

    P = inspect.Parameter
    params = [
        P(
            "predictions",
            P.KEYWORD_ONLY,
            annotation=Annotated[
                str,
                typer.Argument(
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
                str | None, typer.Argument(help="Labels, in any of the same formats.", show_default=False)
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
                str, typer.Option("--nan", help="error: refuse NaN; omit: drop samples with NaN and report how many.")
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
                    help="Columns of LABELS to use, in the same syntax; without LABELS, read the labels from "
                    "the PREDICTIONS file (the predictions are then the other columns unless --pred-cols).",
                    show_default=False,
                ),
            ],
        ),
        P(
            "chunk_rows",
            P.KEYWORD_ONLY,
            default=65536,
            annotation=Annotated[
                int, typer.Option("--chunk-rows", min=1, help="Rows read per chunk (memory vs speed).")
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
                    float, typer.Option("--delta", help="Huber's threshold between the quadratic and linear parts.")
                ],
            )
        )
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = _loss_help(loss)
    return command


for _loss in LOSSES.values():
    _cmd = _make_command(_loss)
    app.command(_loss.name, help=_loss_help(_loss), rich_help_panel="Losses")(_cmd)
    for _alias in _loss.aliases:
        app.command(_alias, hidden=True)(_cmd)
        if "_" in _alias:
            app.command(_alias.replace("_", "-"), hidden=True)(_cmd)
