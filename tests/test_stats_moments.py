"""The t distribution, mergeable moments and analytic intervals against scipy and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from lossctl.errors import UsageError
from lossctl.stats.moments import Interval, Moments, RatioMoments, convention_scale
from lossctl.stats.tdist import betainc, t_cdf, t_pdf, t_ppf, t_sf

scipy_stats = pytest.importorskip("scipy.stats")

DFS = [1, 1.5, 2, 3, 4, 5, 7, 10, 15, 29, 30, 50, 99, 100, 500, 999, 1000, 1001, 5000, 99_999, 1e5, 3e5, 1e6, 1e7]
PS = [
    1e-12,
    1e-8,
    1e-5,
    1e-3,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.3,
    0.45,
    0.49,
    0.6,
    0.9,
    0.95,
    0.975,
    0.99,
    0.995,
    0.999,
    1 - 1e-6,
]


@pytest.mark.parametrize("df", DFS)
def test_t_ppf_matches_scipy(df):
    for p in PS:
        assert_allclose(t_ppf(p, df), scipy_stats.t.ppf(p, df), rtol=1e-10, atol=0, err_msg=f"df={df} p={p}")


def test_t_ppf_near_the_centre_matches_mpmath():
    # scipy itself is only ~1e-9 relative here (df=4, p=0.4999); mpmath at 40 digits is the referee
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    for df in (1.5, 4, 30, 1000):
        for p in (0.4999, 0.5001, 0.49999999):

            def sf_minus_q(x, df=df, p=p):
                return mp.betainc(df / 2, 0.5, 0, df / (df + x * x), regularized=True) / 2 - min(p, 1 - p)

            ref = mp.findroot(sf_minus_q, 1e-4)
            assert_allclose(abs(t_ppf(p, df)), abs(float(ref)), rtol=1e-10)
            assert math.copysign(1, t_ppf(p, df)) == (1 if p > 0.5 else -1)


@pytest.mark.parametrize("df", DFS)
def test_t_sf_and_cdf_match_scipy(df):
    rtol = 1e-10 if df < 1e6 else 1e-9  # the continued fraction drifts a little at ten million df
    for t in (-40.0, -3.0, -0.7, 0.0, 1e-6, 0.3, 1.0, 1.96, 2.5, 4.0, 7.5, 30.0, 1e4):
        want = scipy_stats.t.sf(t, df)
        if want == 0.0:
            continue
        assert_allclose(t_sf(t, df), want, rtol=rtol, err_msg=f"df={df} t={t}")
        assert_allclose(t_cdf(t, df), scipy_stats.t.cdf(t, df), rtol=rtol)
        assert_allclose(t_pdf(t, df), scipy_stats.t.pdf(t, df), rtol=1e-9)


def test_t_edges_and_hand_values():
    assert t_ppf(0.5, 7) == 0.0
    assert t_ppf(0.0, 3) == -math.inf and t_ppf(1.0, 3) == math.inf
    assert t_sf(math.inf, 3) == 0.0 and t_sf(-math.inf, 3) == 1.0
    assert_allclose(t_ppf(0.75, 1), 1.0, rtol=1e-15)  # Cauchy: tan(π/4)
    assert_allclose(t_ppf(0.975, 1), 12.706204736174707, rtol=1e-14)  # textbook table 12.706
    with pytest.raises(UsageError, match="degrees of freedom"):
        t_ppf(0.9, 0)
    with pytest.raises(UsageError, match="probability"):
        t_ppf(1.5, 3)


def test_betainc_matches_scipy():
    special = pytest.importorskip("scipy.special")
    for a, b, x in [(0.5, 0.5, 0.2), (2, 3, 0.9), (10, 0.5, 0.99), (0.5, 40, 0.01), (300, 200, 0.6)]:
        assert_allclose(betainc(a, b, x), special.betainc(a, b, x), rtol=1e-12)


def test_moments_hand_computed():
    m = Moments.of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert (m.count, m.mean, m.m2) == (8, 5.0, 32.0)  # hand: squared deviations 9+1+1+1+0+0+4+16
    assert m.variance == 32.0 / 7
    assert Moments().variance != Moments().variance  # NaN below two rows


def _merge_all(states):
    out = Moments()
    for s in states:
        out = out.merge(s)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60), st.lists(st.integers(1, 59), max_size=5))
def test_moments_merge_equals_one_pass(values, cuts):
    x = np.array(values)
    cuts = sorted({c for c in cuts if c < len(x)})
    parts = np.split(x, cuts)
    merged = _merge_all(Moments.of(p) for p in parts)
    right_to_left = Moments()
    for p in reversed(parts):
        right_to_left = Moments.of(p).merge(right_to_left)
    for m in (merged, right_to_left):
        assert m.count == len(x)
        assert_allclose(m.mean, np.mean(x), rtol=1e-12, atol=1e-9)
        assert_allclose(m.m2, np.sum((x - np.mean(x)) ** 2), rtol=1e-9, atol=1e-6)


def test_moments_are_stable_for_a_large_offset():
    # naive Σx² − n·mean² loses every digit here; Welford/Chan keeps them
    rng = np.random.default_rng(0)
    x = 1e9 + rng.standard_normal(100_000)
    m = _merge_all(Moments.of(c) for c in np.array_split(x, 37))
    assert_allclose(m.variance, np.var(x - 1e9, ddof=1), rtol=1e-6)


def test_t_interval_equals_scipy():
    rng = np.random.default_rng(1)
    for n in (2, 3, 10, 1000):
        x = rng.exponential(size=n)
        m = Moments.of(x)
        for level in (0.5, 0.9, 0.95, 0.99, 0.999):
            lo, hi = scipy_stats.t.interval(level, n - 1, loc=x.mean(), scale=scipy_stats.sem(x))
            ci = m.t_interval(level)
            assert_allclose([ci.low, ci.high], [lo, hi], rtol=1e-10)
            assert ci.method == "t" and ci.level == level


def test_t_interval_zero_variance_and_too_few_rows():
    assert Moments.of([3.0, 3.0, 3.0]).t_interval() == Interval(3.0, 3.0, 0.95, "t")
    ci = Moments.of([3.0]).t_interval()
    assert math.isnan(ci.low) and math.isnan(ci.high)
    with pytest.raises(UsageError, match=r"level must be strictly between 0 and 1, got 1.0 \(--ci-level\)"):
        Moments.of([1.0, 2.0]).t_interval(1.0)


def test_ratio_delta_interval_by_hand():
    # u = w·l, v = w; R = Σu/Σv; se² = Σ(u − R v)² / (n (n−1) v̄²)
    loss, w = np.array([1.0, 2.0, 4.0, 3.0]), np.array([1.0, 3.0, 0.5, 2.0])
    u = w * loss
    r = u.sum() / w.sum()
    se = math.sqrt(np.sum((u - r * w) ** 2) / (4 * 3) / w.mean() ** 2)
    half = scipy_stats.t.ppf(0.975, 3) * se
    parts = [
        RatioMoments.weighted(loss[:1], w[:1]),
        RatioMoments.weighted(loss[1:3], w[1:3]),
        RatioMoments.weighted(loss[3:], w[3:]),
    ]
    rm = parts[0].merge(parts[1].merge(parts[2]))
    assert_allclose(rm.ratio, 15.0 / 6.5, rtol=1e-15)  # hand: (1 + 6 + 2 + 6) / 6.5
    ci = rm.delta_interval()
    assert_allclose([ci.low, ci.high], [r - half, r + half], rtol=1e-12)
    assert ci.method == "delta"


def test_ratio_with_equal_weights_is_the_t_interval():
    x = np.random.default_rng(2).gamma(2.0, size=500)
    a = RatioMoments.weighted(x, np.full(500, 2.5)).delta_interval(0.9)
    b = Moments.of(x).t_interval(0.9)
    assert_allclose([a.low, a.high], [b.low, b.high], rtol=1e-12)


def test_convention_scale_maps_the_interval():
    x = np.random.default_rng(3).random((50, 4))  # element terms, N=50, K=4
    row_sums = x.sum(axis=1)
    ci = Moments.of(row_sums).t_interval()
    mean_ci = ci.scaled(convention_scale("mean", 50, 4))
    # the mean of all N·K terms is the mean of per-row means; its interval is the per-row-mean one
    direct = Moments.of(x.mean(axis=1)).t_interval()
    assert_allclose([mean_ci.low, mean_ci.high], [direct.low, direct.high], rtol=1e-12)
    sum_ci = ci.scaled(convention_scale("sum", 50, 4))
    assert_allclose([sum_ci.low, sum_ci.high], [50 * ci.low, 50 * ci.high], rtol=1e-15)
    assert ci.low < x.sum(axis=1).mean() < ci.high
    with pytest.raises(UsageError, match="per_sample"):
        convention_scale("per_sample", 50, 4)


def test_stats_imports_neither_scipy_nor_heavy_modules():
    import subprocess
    import sys

    code = "import sys, lossctl.stats; print(sorted({m.split('.')[0] for m in sys.modules}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for heavy in ("scipy", "pandas", "pyarrow", "torch", "threadpoolctl", "statistics"):
        assert f"'{heavy}'" not in out
