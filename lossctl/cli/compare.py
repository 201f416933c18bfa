"""`lossctl compare LOSS BASELINE CANDIDATE... --labels LABELS`: is model B better, row by row?"""

from __future__ import annotations

import inspect
import json
import sys
from typing import Annotated

import typer

from ..errors import UsageError
from ..params import Params
from .app import EXIT_OK, EXIT_THRESHOLD, _stdout, app, default_format, fail


def compare_command(
    loss: Annotated[str, typer.Argument(metavar="LOSS", help="The loss (any name 'lossctl list' shows).")],
    baseline: Annotated[str, typer.Argument(metavar="BASELINE", help="The baseline model's predictions.")],
    candidates: Annotated[
        list[str], typer.Argument(metavar="CANDIDATE...", help="Each candidate model's predictions.")
    ],
    labels: Annotated[
        str, typer.Option("--labels", "-l", metavar="LABELS", help="The labels all models are scored on.")
    ],
    weights: Annotated[
        str | None, typer.Option("--weights", "-w", metavar="FILE", help="N per-sample weights.", show_default=False)
    ] = None,
    convention: Annotated[
        str | None,
        typer.Option(
            "--convention",
            "-c",
            metavar="NAME",
            help="The convention compared [default: the loss's primary].",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    test: Annotated[str, typer.Option("--test", metavar="t|bootstrap|permutation", help="The paired test.")] = "t",
    alpha: Annotated[float, typer.Option("--alpha", metavar="A", help="Significance level of the verdicts.")] = 0.05,
    ci_level: Annotated[float, typer.Option("--ci-level", metavar="P", help="Level of the delta's interval.")] = 0.95,
    ci_method: Annotated[
        str | None,
        typer.Option(
            "--ci-method",
            metavar="t|bootstrap",
            help="How the interval is made [default: bootstrap with --test bootstrap, else t].",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    resamples: Annotated[
        int, typer.Option("--resamples", metavar="B", help="Bootstrap resamples (or random sign patterns).")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Seed of the resampling.")] = 12345,
    fail_if_worse: Annotated[
        bool, typer.Option("--fail-if-worse", help="Exit 1 when a candidate is worse (the output is still printed).")
    ] = False,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="table, json, csv or tsv [default: table on a terminal, else tsv]",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    precision: Annotated[
        int | None,
        typer.Option(
            "--precision", "-p", metavar="DIGITS", min=1, max=17, help="Significant digits printed.", show_default=False
        ),
    ] = None,  # fmt: skip
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", metavar="ROWS", min=1, help="Rows read per chunk.")
    ] = 65536,
    params: Params | None = None,
) -> int:
    """Compare models on the same labels, row by row (paired): each candidate's difference from the
    baseline, its confidence interval, a p-value and a verdict (lower loss is better).

    Example: lossctl compare mse base.npy new.npy --labels y.npy
    """
    from ..compare import Settings, compare
    from ..render_compare import COMPARE_FORMATS, table, to_delimited, to_dict

    fmt = (format or default_format()).lower()
    if fmt not in COMPARE_FORMATS:
        fmt = "table" if not format and sys.stdout.isatty() else fmt
        if fmt not in COMPARE_FORMATS:
            raise UsageError(f"compare writes {', '.join(COMPARE_FORMATS)}, not {fmt!r} (-f)")
    settings = Settings(convention, test.lower(), alpha, ci_level, ci_method, resamples, seed)
    result = compare(
        loss, baseline, candidates, labels, weights, params=params, settings=settings, chunk_rows=chunk_rows
    )
    if fmt == "table":
        _stdout().print(table(result, precision or 6), crop=False)
    elif fmt == "json":
        sys.stdout.write(json.dumps(to_dict(result), indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(to_delimited(result, "," if fmt == "csv" else "\t", precision))
    worse = [r.file for r in result.results if r.verdict == "worse"]
    if fail_if_worse and worse:
        fail(f"{', '.join(worse)} {'is' if len(worse) == 1 else 'are'} worse than {result.baseline} "
             f"({result.loss} {result.convention}, α = {result.alpha:g})")  # fmt: skip
        return EXIT_THRESHOLD
    return EXIT_OK


def _loss_options() -> dict:
    """Every option any loss declares (``--delta``, ``--logits``, ...), by Params field."""
    from ..losses import LOSSES

    return {o.name: o for spec in LOSSES.values() for o in spec.options}


def _command(**kw) -> int:
    """``compare_command`` with the loss's own options (given as flags) turned into its Params."""
    from ..losses import get_loss

    options = _loss_options()
    given = {name: kw.pop(name) for name in options}
    spec = get_loss(kw["loss"])
    for name, value in given.items():
        option = options[name]
        if value != option.default and option not in spec.options:
            owners = sorted(n for n, s in _losses().items() if option in s.options)
            raise UsageError(f"{option.flag} applies to {', '.join(owners)} only, not {spec.name}")
        if option.positive and value <= 0:
            raise UsageError(f"{option.flag} must be > 0, not {value:g}")
    params = Params(**{o.name: given[o.name] for o in spec.options})
    return compare_command(**kw, params=params)


def _losses() -> dict:
    from ..losses import LOSSES

    return LOSSES


def _register() -> None:
    from .loss import _option_parameter

    base = [p for name, p in inspect.signature(compare_command, eval_str=True).parameters.items() if name != "params"]
    extra = [_option_parameter(o) for o in _loss_options().values()]
    _command.__signature__ = inspect.Signature([*base, *extra])  # type: ignore[attr-defined]
    _command.__doc__ = compare_command.__doc__
    app.command("compare", no_args_is_help=True)(_command)


_register()
