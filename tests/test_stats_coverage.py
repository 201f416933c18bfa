"""Coverage by simulation: intervals built by lossctl.stats cover a known true value as often as they claim."""

from __future__ import annotations

import numpy as np
import pytest

from lossctl.stats.bootstrap import PoissonBootstrap, percentile_interval
from lossctl.stats.moments import Moments, RatioMoments

SETS = 2000
# binomial(2000, 0.95): mean 1900, sd 9.75; 4 sd either side keeps a false alarm below 1 in 10,000
LOW, HIGH = 1861, 1939


def _covers(ci, truth):
    return ci.low <= truth <= ci.high


def test_t_interval_covers_95_percent():
    rng = np.random.default_rng(2026)
    hits = 0
    for _ in range(SETS):
        x = rng.normal(3.0, 2.0, size=40)
        state = Moments()
        for part in np.array_split(x, 3):
            state = state.update(part)
        hits += _covers(state.t_interval(0.95), 3.0)
    assert LOW <= hits <= HIGH


def test_t_interval_at_90_percent_covers_90_percent():
    rng = np.random.default_rng(7)
    hits = sum(_covers(Moments.of(rng.normal(size=25)).t_interval(0.9), 0.0) for _ in range(SETS))
    assert 1748 <= hits <= 1852  # binomial(2000, 0.9): 1800 ± 4 sd


def test_delta_interval_of_a_weighted_mean_covers_about_95_percent():
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(SETS):
        losses = rng.gamma(2.0, 0.5, size=300)  # E[l] = 1
        weights = rng.uniform(0.2, 2.0, size=300)  # independent of l: E[w·l]/E[w] = 1
        hits += _covers(RatioMoments.weighted(losses, weights).delta_interval(0.95), 1.0)
    assert 1855 <= hits <= HIGH  # the delta method is asymptotic: allow 0.3% undercoverage (measured 1883-1895)


def test_bootstrap_percentile_interval_covers_roughly_95_percent():
    rng = np.random.default_rng(99)
    hits = 0
    for i in range(200):
        x = rng.normal(1.0, 1.0, size=60)
        reps = PoissonBootstrap(300, seed=i).update(x).ratio(0)
        hits += _covers(percentile_interval(reps, 0.95), 1.0)
    assert 176 <= hits <= 199  # 200 sets; the percentile bootstrap undercovers slightly at n = 60


def test_bootstrap_interval_is_identical_for_three_chunkings():
    x = np.random.default_rng(3).exponential(size=150_000)
    intervals = []
    for sizes in ([150_000], [1000] * 150, [65_535, 2, 84_463]):
        bs = PoissonBootstrap(200, seed=12345)
        for part in np.split(x, np.cumsum(sizes)[:-1]):
            bs.update(part)
        intervals.append(percentile_interval(bs.ratio(0), 0.95))
    assert intervals[0] == intervals[1] == intervals[2]
    assert intervals[0].low < x.mean() < intervals[0].high


def test_t_interval_equals_scipy_interval_across_sizes():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    for n in (2, 5, 31, 500, 20_000):
        x = rng.lognormal(size=n)
        lo, hi = scipy_stats.t.interval(0.95, n - 1, loc=x.mean(), scale=scipy_stats.sem(x))
        ci = Moments.of(x).t_interval(0.95)
        np.testing.assert_allclose([ci.low, ci.high], [lo, hi], rtol=1e-10)
