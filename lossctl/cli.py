"""The command line: Typer commands, and the only place that prints or exits."""

from __future__ import annotations

import inspect
import os
import signal
import sys
from typing import Annotated, Optional

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from . import __version__
from .errors import LossctlError, UsageError
from .losses import LOSSES, Loss, Params, get_loss

EXIT_OK, EXIT_THRESHOLD, EXIT_INPUT = 0, 1, 2


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def error(message: str) -> None:
    """Write one ``error:`` line to stderr."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


class LossctlGroup(TyperGroup):
    """Translate every failure into one ``error:`` line and an exit code, never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        try:
            rv = super().main(args, prog_name or "lossctl", complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoSuchCommand as e:
            error(f"unknown loss or command {e.args[0].split(chr(39))[1]!r}; see 'lossctl list' for losses "
                  "and 'lossctl --help' for commands")
            sys.exit(EXIT_INPUT)
        except click.UsageError as e:
            hint = f" (see 'lossctl {e.ctx.info_name} --help')" if e.ctx and e.ctx.info_name != "lossctl" else ""
            error(e.format_message().rstrip(".") + hint)
            sys.exit(EXIT_INPUT)
        except click.ClickException as e:
            error(e.format_message())
            sys.exit(EXIT_INPUT)
        except LossctlError as e:
            error(str(e))
            sys.exit(EXIT_INPUT)
        except (click.exceptions.Abort, KeyboardInterrupt):
            sys.stderr.write("\n")
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(0)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


app = typer.Typer(
    cls=LossctlGroup,
    name="lossctl",
    help=(
        "Compute a loss under every averaging convention, side by side, and show what "
        "PyTorch, Keras and scikit-learn would report on the same arrays.\n\n"
        "Example: lossctl mse preds.csv labels.csv"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        print(f"lossctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Compute a loss under every averaging convention, side by side."""


def default_format() -> str:
    """``table`` on a terminal, ``tsv`` when piped; ``LOSSCTL_FORMAT`` overrides both."""
    env = os.environ.get("LOSSCTL_FORMAT")
    if env:
        return env
    return "table" if sys.stdout.isatty() else "tsv"


def run_loss(
    loss: Loss,
    predictions: str,
    labels: str | None,
    *,
    fmt: str | None,
    conventions: list[str] | None,
    weights: str | None,
    precision: int,
    params: Params,
    chunk_rows: int,
    nan: str,
) -> int:
    from .compute import compute
    from .io import open_source, read_batches
    from .render import FORMATS, table, to_delimited, to_json, to_plain

    fmt = (fmt or default_format()).lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if labels is None:
        raise UsageError(f"{loss.name} needs LABELS: lossctl {loss.name} PREDICTIONS LABELS")
    if predictions == "-" and labels == "-":
        raise UsageError("only one of PREDICTIONS and LABELS can be - (standard input)")
    pred_src = open_source(predictions)
    label_src = open_source(labels)
    weight_src = open_source(weights) if weights else None
    reader = read_batches(
        pred_src, label_src, weight_src, indices=loss.labels == "indices", chunk_rows=chunk_rows, nan=nan
    )
    report = compute(
        loss,
        reader,
        params,
        conventions=conventions or None,
        names={"predictions": pred_src.name, "labels": label_src.name, "weights": weight_src.name if weight_src else ""},
        dtype=pred_src.dtype,
    )
    report.dropped = reader.dropped
    if reader.dropped:
        warn(f"dropped {reader.dropped} samples with NaN (--nan omit)")
    if fmt == "table":
        _stdout().print(table(report, precision))
    elif fmt == "json":
        sys.stdout.write(to_json(report) + "\n")
    elif fmt in ("csv", "tsv"):
        sys.stdout.write(to_delimited(report, "," if fmt == "csv" else "\t"))
    else:
        sys.stdout.write(to_plain(report))
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
        )

    P = inspect.Parameter
    params = [
        P("predictions", P.KEYWORD_ONLY, annotation=Annotated[str, typer.Argument(
            help="Predictions: .csv/.tsv/.txt(.gz), .npy, .npz[:key], .parquet, or - for CSV on stdin.",
            show_default=False)]),
        P("labels", P.KEYWORD_ONLY, default=None, annotation=Annotated[Optional[str], typer.Argument(
            help="Labels, in any of the same formats.", show_default=False)]),
        P("format", P.KEYWORD_ONLY, default=None, annotation=Annotated[Optional[str], typer.Option(
            "--format", "-f", help="table, json, csv, tsv or plain [default: table on a terminal, else tsv]",
            show_default=False)]),
        P("convention", P.KEYWORD_ONLY, default=None, annotation=Annotated[Optional[list[str]], typer.Option(
            "--convention", "-c", help="Show only this convention (repeatable); see 'lossctl explain'.",
            show_default=False)]),
        P("weights", P.KEYWORD_ONLY, default=None, annotation=Annotated[Optional[str], typer.Option(
            "--weights", "-w", help="A file of N per-sample weights; adds the weighted conventions.",
            show_default=False)]),
        P("precision", P.KEYWORD_ONLY, default=6, annotation=Annotated[int, typer.Option(
            "--precision", "-p", min=1, max=17, help="Significant digits in the table (JSON is always exact).")]),
        P("nan", P.KEYWORD_ONLY, default="error", annotation=Annotated[str, typer.Option(
            "--nan", help="error: refuse NaN; omit: drop samples with NaN and report how many.")]),
        P("chunk_rows", P.KEYWORD_ONLY, default=65536, annotation=Annotated[int, typer.Option(
            "--chunk-rows", min=1, help="Rows read per chunk (memory vs speed).")]),
    ]
    if "logits" in loss.options:
        params.append(P("logits", P.KEYWORD_ONLY, default=False, annotation=Annotated[bool, typer.Option(
            "--logits", help="Predictions are raw scores (softmax/sigmoid applied stably).")]))
    if "delta" in loss.options:
        params.append(P("delta", P.KEYWORD_ONLY, default=1.0, annotation=Annotated[float, typer.Option(
            "--delta", help="Huber's threshold between the quadratic and linear parts.")]))
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


@app.command("list")
def list_losses() -> None:
    """List the losses lossctl knows, their aliases and expected inputs.

    Example: lossctl list
    """
    from .render import loss_list

    _stdout().print(loss_list())


@app.command("explain")
def explain(
    loss: Annotated[str, typer.Argument(help="A loss name or alias, e.g. mse.", show_default=False)],
) -> None:
    """Explain a loss: its formula, every convention's divisor n, who uses which, and pitfalls.

    Example: lossctl explain mse
    """
    from .render import explanation

    _stdout().print(explanation(get_loss(loss)))


def main() -> None:
    """Console-script entry point."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `lossctl ... | head` ends quietly
    app()
