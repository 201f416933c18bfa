"""The statistics options of every loss command (issue 13): --ci and its settings, --batch-size and the loop.

:func:`statistics_parameters` gives the Typer parameters; :func:`statistics_observers` turns their
values into the observers :func:`lossctl.compute.compute` feeds and a function that adds their
results to the report. Imports nothing of the CLI's app (no cycle with :mod:`lossctl.cli`).
"""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

from ..errors import UsageError


def _keyword(name: str, kind, info, default=inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, info])


def blas_for(observers):
    """One BLAS thread while --ci/--batch-size observe the pass (see :func:`lossctl.intervals.one_blas_thread`)."""
    if not observers:
        from contextlib import nullcontext

        return nullcontext()
    from ..intervals import one_blas_thread

    return one_blas_thread()


def statistics_observers(stats: dict):
    """The observers of --ci and --batch-size, and a function adding their results to the report."""
    given = {k: stats[k] for k in ("ci_method", "ci_level", "resamples", "seed") if stats.get(k) is not None}
    if given and not stats.get("ci"):
        raise UsageError(f"--{next(iter(given)).replace('_', '-')} needs --ci")
    looped = stats.get("drop_last") or stats.get("world_size", 1) != 1 or stats.get("accum_steps", 1) != 1
    if stats.get("batch_size") is None and looped:
        raise UsageError("--drop-last, --world-size and --accum-steps describe a loop: give --batch-size too")
    if not stats.get("ci") and stats.get("batch_size") is None:
        return (), lambda report: report
    from ..intervals import CiSpec, IntervalObserver, LoopObserver, with_intervals, with_loop

    defaults = {"ci_method": "t", "ci_level": 0.95, "resamples": 1000, "seed": 12345}
    spec = CiSpec(*(given.get(k, d) for k, d in defaults.items()))
    ci = IntervalObserver(spec) if stats.get("ci") else None
    loop = None
    if stats.get("batch_size") is not None:
        loop = LoopObserver(stats["batch_size"], stats["drop_last"], stats["world_size"], stats["accum_steps"])

    def attach(report):
        if ci is not None:
            report = with_intervals(report, ci)
        if loop is not None:
            report = with_loop(report, loop, spec.level if ci is not None else None)
        return report

    return tuple(o for o in (ci, loop) if o is not None), attach


#: the keyword arguments of the statistics options (issue 13)
STATISTICS = (
    "ci",
    "ci_level",
    "ci_method",
    "resamples",
    "seed",
    "batch_size",
    "drop_last",
    "world_size",
    "accum_steps",
)


def statistics_parameters() -> list[inspect.Parameter]:
    """--ci and its options, then the training-loop options (--batch-size ...)."""
    panel = "Statistics"

    def opt(name, kind, flag, metavar, text, default=None):
        info = typer.Option(flag, metavar=metavar, help=text, show_default=False, rich_help_panel=panel)
        return _keyword(name, kind, info, default)

    return [
        _keyword(
            "ci",
            bool,
            typer.Option(
                "--ci",
                help="Add a confidence interval to every scalar convention (rows are the resampling unit).",
                rich_help_panel=panel,
            ),
            False,
        ),
        opt("ci_level", float | None, "--ci-level", "P", "Confidence level of --ci [default: 0.95]."),
        opt(
            "ci_method",
            str | None,
            "--ci-method",
            "t|bootstrap",
            "t: Student t / delta method from streamed "
            "moments; bootstrap: Poisson percentile bootstrap over rows [default: t].",
        ),
        opt("resamples", int | None, "--resamples", "B", "Bootstrap resamples [default: 1000]."),
        opt(
            "seed",
            int | None,
            "--seed",
            "S",
            "Bootstrap seed; the same seed gives the same interval at any --chunk-rows [default: 12345].",
        ),
        opt(
            "batch_size",
            int | None,
            "--batch-size",
            "B",
            "Add what a training loop with this batch size logs: mean_of_batch_means and batch_weighted_mean.",
        ),
        _keyword(
            "drop_last",
            bool,
            typer.Option("--drop-last", help="The loop's DataLoader drops a short last batch.", rich_help_panel=panel),
            False,
        ),
        opt(
            "world_size",
            int,
            "--world-size",
            "W",
            "Split rows over W ranks as DistributedSampler does (padding by repeating rows) [default: 1].",
            1,
        ),
        opt(
            "accum_steps",
            int,
            "--accum-steps",
            "A",
            "Gradient accumulation: one logged value per A micro-batches [default: 1].",
            1,
        ),
    ]
