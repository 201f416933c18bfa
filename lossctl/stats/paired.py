"""Paired comparison of a candidate against a baseline, row by row (lower loss is better).

Feed the per-row differences ``d_i = l_i(candidate) − l_i(baseline)`` into a
:class:`~lossctl.stats.moments.Moments` (t test) or a
:class:`~lossctl.stats.bootstrap.PoissonBootstrap` with columns (baseline, candidate)
(the same counts for both models); small N can also be sign-flip permuted.

Zero variance is decided explicitly: identical inputs give delta 0, p-value 1.0 and
the interval [0, 0]; a constant non-zero difference gives p-value 0.0 and the interval
[delta, delta].

>>> r = paired_t(Moments.of([-0.2, -0.1, -0.3, -0.2]))
>>> round(r.delta, 3), r.p_value < 0.05, verdict(r.delta, r.p_value)
(-0.2, True, 'better')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lossctl.errors import InputError, UsageError
from lossctl.stats.bootstrap import PoissonBootstrap, percentile_interval
from lossctl.stats.moments import Interval, Moments, RatioMoments
from lossctl.stats.tdist import t_sf


@dataclass(frozen=True)
class PairedResult:
    """The mean difference (candidate − baseline), its interval, and a two-sided p-value."""

    delta: float
    ci: Interval
    p_value: float
    test: str  # "paired-t", "paired-delta", "paired-bootstrap" or "permutation"

    def scaled(self, factor: float) -> PairedResult:
        """The result for a convention that is ``factor`` × this one (``sum`` = N × ``batch_mean``):
        delta and interval scale, the p-value does not."""
        return PairedResult(self.delta * factor, self.ci.scaled(factor), self.p_value, self.test)


def paired_t(diffs: Moments, level: float = 0.95) -> PairedResult:
    """Paired t test on the moments of per-row differences: t = mean / (s/√n), df = n − 1.

    Equals ``scipy.stats.ttest_rel(candidate, baseline)``'s two-sided p-value.
    """
    if diffs.count < 2:
        raise InputError(f"a paired test needs at least 2 rows, got {diffs.count}")
    if diffs.m2 == 0.0 or diffs.sem == 0.0:
        p = 1.0 if diffs.mean == 0.0 else 0.0
        return PairedResult(diffs.mean, Interval(diffs.mean, diffs.mean, level, "t"), p, "paired-t")
    t = diffs.mean / diffs.sem
    p = min(1.0, 2.0 * t_sf(abs(t), diffs.count - 1))
    return PairedResult(diffs.mean, diffs.t_interval(level), p, "paired-t")


def paired_ratio(diffs: RatioMoments, level: float = 0.95) -> PairedResult:
    """Paired test of a weighted mean difference Σw·(l_cand − l_base) / Σw (delta method, t with n − 1 df).

    Feed ``RatioMoments.weighted(l_cand − l_base, w)``: the difference of the two weighted means
    is the ratio estimator of the per-row differences, so rows stay the resampling unit.
    """
    if diffs.count < 2:
        raise InputError(f"a paired test needs at least 2 rows, got {diffs.count}")
    r, se = diffs.ratio, diffs.se
    if math.isnan(se):
        return PairedResult(r, Interval(math.nan, math.nan, level, "delta"), math.nan, "paired-delta")
    if se == 0.0:
        return PairedResult(r, Interval(r, r, level, "delta"), 1.0 if r == 0.0 else 0.0, "paired-delta")
    p = min(1.0, 2.0 * t_sf(abs(r / se), diffs.count - 1))
    return PairedResult(r, diffs.delta_interval(level), p, "paired-delta")


def paired_bootstrap(
    state: PoissonBootstrap, delta: float, level: float = 0.95, baseline: int = 0, candidate: int = 1
) -> PairedResult:
    """Paired Poisson bootstrap from a state whose columns hold both models' per-row losses.

    Each replicate's difference is ``Σc·l_cand/Σc − Σc·l_base/Σc`` (the same counts for
    both). Interval: percentile. p-value: the replicates shifted to the null,
    ``(1 + #{|δ*_b − δ| >= |δ|}) / (B + 1)``. ``delta`` is the observed mean difference
    over all rows (from the differences' :class:`Moments`).
    """
    sums, counts = state.totals()
    with np.errstate(divide="ignore", invalid="ignore"):
        reps = (sums[:, candidate] - sums[:, baseline]) / counts
    return bootstrap_result(reps, delta, level)


def bootstrap_result(replicates, delta: float, level: float = 0.95) -> PairedResult:
    """Interval and p-value from B replicate differences (any convention: e.g. the difference of
    two :func:`~lossctl.stats.bootstrap.convention_replicates` arrays from one state)."""
    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return PairedResult(delta, Interval(math.nan, math.nan, level, "bootstrap"), math.nan, "paired-bootstrap")
    ci = percentile_interval(reps, level)
    if np.all(reps == 0.0) and delta == 0.0:
        return PairedResult(0.0, Interval(0.0, 0.0, level, "bootstrap"), 1.0, "paired-bootstrap")
    extreme = int(np.count_nonzero(np.abs(reps - delta) >= abs(delta)))
    return PairedResult(delta, ci, (1 + extreme) / (reps.size + 1), "paired-bootstrap")


def sign_flip_test(diffs, resamples: int = 10_000, seed: int = 12345, exact_below: int = 17) -> float:
    """Two-sided sign-flip permutation p-value for a zero mean difference.

    Under the null each d_i is as likely to be −d_i. With fewer than ``exact_below`` rows
    all 2^n sign patterns are enumerated (exact p-value); otherwise ``resamples`` random
    patterns from ``default_rng(seed)`` give ``(1 + #{|Σ s·d| >= |Σ d|}) / (R + 1)``.
    """
    d = np.asarray(diffs, dtype=np.float64)
    n = d.size
    if n == 0:
        raise InputError("a permutation test needs at least one row")
    observed = abs(d.sum())
    tol = 1e-12 * float(np.abs(d).sum())  # sums that differ by rounding only count as ties
    if n < exact_below:
        signs = 1.0 - 2.0 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        return float(np.mean(np.abs(signs @ d) >= observed - tol))
    rng = np.random.default_rng(seed)
    hits = 0
    for lo in range(0, resamples, 1000):
        signs = rng.choice([-1.0, 1.0], size=(min(1000, resamples - lo), n))
        hits += int(np.count_nonzero(np.abs(signs @ d) >= observed - tol))
    return (1 + hits) / (resamples + 1)


def holm(p_values) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control), in the input order.

    The k-th smallest of m p-values is multiplied by m − k + 1, made non-decreasing, capped at 1.

    >>> holm([0.25, 0.5, 0.125])
    [0.5, 0.5, 0.375]
    """
    p = [float(v) for v in p_values]
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def verdict(delta: float, p_value: float, alpha: float = 0.05) -> str:
    """``better`` (lower loss) or ``worse`` when the p-value is below alpha, else ``no-difference``."""
    if not 0.0 < alpha < 1.0:
        raise UsageError(f"alpha must be strictly between 0 and 1, got {alpha} (--alpha)")
    if math.isnan(p_value) or p_value >= alpha or delta == 0.0:
        return "no-difference"
    return "better" if delta < 0 else "worse"
