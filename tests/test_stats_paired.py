"""Paired comparison: t test against scipy, bootstrap, sign flips, Holm, verdicts, zero variance."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from lossctl.errors import InputError, UsageError
from lossctl.stats.bootstrap import PoissonBootstrap, convention_replicates
from lossctl.stats.moments import Interval, Moments, RatioMoments
from lossctl.stats.paired import (
    bootstrap_result,
    holm,
    paired_bootstrap,
    paired_ratio,
    paired_t,
    sign_flip_test,
    verdict,
)

scipy_stats = pytest.importorskip("scipy.stats")


def _pair(n=400, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, size=n)
    cand = base + shift + rng.normal(scale=0.5, size=n)
    return base, cand


@pytest.mark.parametrize("shift", [-0.2, -0.02, 0.0, 0.05, 0.3])
def test_paired_t_matches_scipy_ttest_rel(shift):
    base, cand = _pair(shift=shift)
    d = cand - base
    state = Moments()
    for part in np.array_split(d, 7):
        state = state.update(part)
    r = paired_t(state, 0.9)
    ref = scipy_stats.ttest_rel(cand, base)
    assert_allclose(r.p_value, ref.pvalue, rtol=1e-9)
    assert_allclose(r.delta, d.mean(), rtol=1e-12)
    lo, hi = scipy_stats.t.interval(0.9, d.size - 1, loc=d.mean(), scale=scipy_stats.sem(d))
    assert_allclose([r.ci.low, r.ci.high], [lo, hi], rtol=1e-10)
    assert r.test == "paired-t"


def test_identical_inputs_give_zero_delta_p_one_and_a_point_interval():
    base, _ = _pair()
    d = base - base
    r = paired_t(Moments.of(d))
    assert (r.delta, r.p_value, r.ci) == (0.0, 1.0, Interval(0.0, 0.0, 0.95, "t"))
    bs = PoissonBootstrap(200, 1, 2).update(np.column_stack([base, base]))
    rb = paired_bootstrap(bs, 0.0)
    assert (rb.delta, rb.p_value, rb.ci.low, rb.ci.high) == (0.0, 1.0, 0.0, 0.0)
    assert sign_flip_test(d[:10]) == 1.0
    assert sign_flip_test(d) == 1.0
    assert verdict(r.delta, r.p_value) == "no-difference"


def test_constant_nonzero_difference_is_certain():
    r = paired_t(Moments.of(np.full(10, -0.5)))
    assert (r.delta, r.p_value, r.ci.low, r.ci.high) == (-0.5, 0.0, -0.5, -0.5)
    assert verdict(r.delta, r.p_value) == "better"


def test_paired_t_needs_two_rows():
    with pytest.raises(InputError, match="at least 2 rows"):
        paired_t(Moments.of([1.0]))


def test_paired_bootstrap_agrees_with_the_t_test_on_a_clear_difference():
    base, cand = _pair(n=3000, shift=0.1, seed=2)
    bs = PoissonBootstrap(500, 3, 2)
    for part in np.array_split(np.column_stack([base, cand]), 4):
        bs.update(part)
    d = cand - base
    rb = paired_bootstrap(bs, float(d.mean()))
    rt = paired_t(Moments.of(d))
    assert rb.ci.low < d.mean() < rb.ci.high
    assert_allclose([rb.ci.low, rb.ci.high], [rt.ci.low, rt.ci.high], atol=0.15 * (rt.ci.high - rt.ci.low))
    assert rb.p_value == 1 / 501  # no replicate as far from the truth as zero
    assert verdict(rb.delta, rb.p_value) == "worse"


def test_sign_flip_exact_by_hand():
    # d = [1, 2, 3]: |Σ s·d| over the 8 sign patterns is 6,4,2,0,0,2,4,6; two reach 6 -> p = 2/8
    assert sign_flip_test([1.0, 2.0, 3.0]) == 0.25
    d = np.array([0.3, -0.1, 0.4, 0.2, -0.05, 0.25])
    brute = np.mean([abs(np.dot(s, d)) >= abs(d.sum()) - 1e-12 for s in itertools.product([-1, 1], repeat=6)])
    assert sign_flip_test(d) == brute


def test_sign_flip_monte_carlo_is_seeded_and_close_to_the_t_test():
    base, cand = _pair(n=60, shift=0.15, seed=4)
    d = cand - base
    p1 = sign_flip_test(d, resamples=4000, seed=1)
    assert p1 == sign_flip_test(d, resamples=4000, seed=1)
    assert_allclose(p1, paired_t(Moments.of(d)).p_value, atol=0.03)


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3×0.01, 2×0.03, max(0.06, 1×0.04)
    assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    assert holm([0.9, 0.8]) == [1.0, 1.0]
    assert holm([0.02]) == [0.02]
    assert holm([]) == []


def test_verdicts():
    assert verdict(-0.1, 0.01) == "better"
    assert verdict(0.1, 0.01) == "worse"
    assert verdict(0.1, 0.05) == "no-difference"  # p must be below alpha
    assert verdict(0.1, 0.04, alpha=0.01) == "no-difference"
    with pytest.raises(UsageError, match=r"alpha must be strictly between 0 and 1, got 0.0 \(--alpha\)"):
        verdict(0.1, 0.01, alpha=0.0)


def test_false_positive_rate_is_about_alpha():
    # candidates from the same distribution as the baseline: the 5% test rejects ~5% of the time
    rng = np.random.default_rng(21)
    rejections = 0
    trials = 600
    for _ in range(trials):
        base = rng.exponential(size=50)
        cand = rng.exponential(size=50)
        rejections += paired_t(Moments.of(cand - base)).p_value < 0.05
    # binomial(600, 0.05): mean 30, sd 5.3; 4.5 sd either side
    assert 6 <= rejections <= 54


def test_paired_ratio_for_a_weighted_mean_difference():
    base, cand = _pair(n=800, shift=-0.05, seed=6)
    w = np.random.default_rng(6).uniform(0.1, 3.0, size=800)
    r = paired_ratio(RatioMoments.weighted(cand - base, w))
    want = np.sum(w * cand) / w.sum() - np.sum(w * base) / w.sum()
    assert_allclose(r.delta, want, rtol=1e-10)
    # hand delta method: se² = Σ(w·d − R·w)² / (n (n−1) w̄²), two-sided t with n − 1 df
    d = cand - base
    se = np.sqrt(np.sum((w * d - want * w) ** 2) / (800 * 799) / w.mean() ** 2)
    assert_allclose(r.p_value, 2 * scipy_stats.t.sf(abs(want / se), 799), rtol=1e-9)
    assert r.test == "paired-delta" and r.ci.low < want < r.ci.high
    same = paired_ratio(RatioMoments.weighted(np.zeros(5), np.ones(5)))
    assert (same.delta, same.p_value, same.ci.low, same.ci.high) == (0.0, 1.0, 0.0, 0.0)


def test_paired_result_scales_for_sum_conventions():
    base, cand = _pair(n=100, shift=0.1, seed=8)
    r = paired_t(Moments.of(cand - base))
    s = r.scaled(100.0)  # sum = N × batch_mean
    assert_allclose([s.delta, s.ci.low, s.ci.high], [100 * r.delta, 100 * r.ci.low, 100 * r.ci.high])
    assert s.p_value == r.p_value


def test_bootstrap_result_from_convention_replicates_of_two_models():
    base, cand = _pair(n=2000, shift=-0.08, seed=10)
    w = np.random.default_rng(10).uniform(0.5, 2.0, size=2000)
    bs = PoissonBootstrap(300, 4, 5).update(np.column_stack([base, cand, w * base, w * cand, w]))
    reps = convention_replicates(bs, "weighted_mean", 2000, 1, weighted_column=3, weight_column=4)
    reps -= convention_replicates(bs, "weighted_mean", 2000, 1, weighted_column=2, weight_column=4)
    delta = float(np.sum(w * (cand - base)) / w.sum())
    r = bootstrap_result(reps, delta)
    ref = paired_ratio(RatioMoments.weighted(cand - base, w))
    assert r.ci.low < delta < r.ci.high
    assert_allclose(r.ci.high - r.ci.low, ref.ci.high - ref.ci.low, rtol=0.2)
    assert verdict(r.delta, r.p_value) == verdict(ref.delta, ref.p_value) == "better"
