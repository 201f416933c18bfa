"""The rows of a report from a pass's totals: each convention's value and divisor (undefined values
and their reasons, vector summaries), and the conventions a run shows."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .conventions import BY_NAME, Totals, applicable
from .errors import UsageError
from .losses import Loss
from .report import ConventionResult, summarize_vector


def _convention_results(
    loss: Loss, totals: Totals, weighted: bool, undefined: str | None, class_weighted: bool = False
) -> list[ConventionResult]:
    """Every applicable convention's value; a non-finite scalar becomes None with the ``undefined`` note."""
    results = []
    for conv in applicable(loss.kind, loss.squared, weighted, class_weighted):
        value = conv.value(totals)
        if value is not None and loss.finish is not None:
            with np.errstate(invalid="ignore"):
                value = loss.finish(value) if conv.vector else float(loss.finish(value))
        note = None
        if value is not None and not conv.vector and not math.isfinite(value):
            value, note = None, undefined
            if conv.weighted and undefined is None:
                note = (
                    "undefined: the weighted sum overflows float64 with these weights "
                    "(weighted_mean is scale-free; divide the weights by a constant)"
                )
        elif conv.vector and undefined:
            note = undefined
        results.append(
            ConventionResult(
                conv.name, conv.divisor, _finite(conv.n(totals)), value, conv.meaning, conv.users, note, conv.short
            )
        )
    return results


def _finite(n: float | None) -> float | None:
    """A divisor n as shown: None when it is not a finite number (Σw of weights near 1e308)."""
    return n if n is None or math.isfinite(n) else None


def _summarized(
    results: list[ConventionResult], acc, per_sample: np.ndarray | None, rows_match: bool
) -> list[ConventionResult]:
    """Each vector convention with its summary; the per-sample median partitions the kept values
    in place when the report does not show them."""
    out = []
    for c in results:
        if c.name == "per_sample" and acc.extremes is not None:
            c = replace(c, summary=acc.extremes.summary(per_sample, acc.n_rows, rows_match, not acc.need_vector))
        elif c.name == "per_output" and isinstance(c.value, np.ndarray):
            c = replace(c, summary=summarize_vector(c.value, first=0, argmax_key="argmax_column"))
        out.append(c)
    return out


def _select(loss: Loss, by_name: dict[str, ConventionResult], selected: list[str]) -> list[ConventionResult]:
    unknown = [s for s in selected if s not in by_name]
    if unknown:
        raise UsageError(
            f"convention {unknown[0]!r} does not apply to {loss.name}"
            f"{' without --weights' if BY_NAME[unknown[0]].weighted else ''}; "
            f"it has: {', '.join(by_name)}"
        )
    return [by_name[s] for s in selected]
