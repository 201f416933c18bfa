"""Poisson bootstrap: counts, reproducibility for a seed, independence of chunking and workers."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from lossctl.errors import InputError, UsageError
from lossctl.stats import bootstrap as bsm
from lossctl.stats.bootstrap import BLOCK, PoissonBootstrap, convention_replicates, percentile_interval


def _run(x, cuts, resamples=64, seed=7):
    bs = PoissonBootstrap(resamples, seed, x.shape[1])
    for part in np.split(x, cuts):
        bs.update(part)
    return bs.totals()


def test_counts_table_is_poisson_one():
    probs = np.bincount(bsm._TABLE.astype(int)) / 65536
    want = np.exp(-1.0) / np.array([1, 1, 2, 6, 24, 120, 720, 5040, 40320])
    assert_allclose(probs, want[: probs.size], atol=1 / 65536)
    assert_allclose(bsm._TABLE.mean(), 1.0, atol=1e-4)
    assert_allclose(bsm._TABLE.var(), 1.0, atol=1e-3)


def test_sums_by_hand_for_one_block():
    # the totals are Σ c_ib x_i with the counts a user can regenerate from the documented streams
    x = np.array([[1.0, 10.0], [2.0, 20.0], [5.0, 50.0]])
    gen = np.random.SFC64(np.random.SeedSequence(3, spawn_key=(0,)))
    raw = gen.random_raw(-(-3 * 8 // 4))
    counts = bsm._TABLE[raw.view(np.uint16)[:24]].reshape(3, 8).astype(float)
    sums, n = PoissonBootstrap(8, 3, 2).update(x).totals()
    assert_array_equal(n, counts.sum(axis=0))
    assert_allclose(sums, counts.T @ x, rtol=1e-6)


def test_float32_products_keep_precision_at_a_large_level():
    # values 1e6 + small noise: centring keeps the replicate means accurate to far below the spread
    rng = np.random.default_rng(8)
    x = 1e6 + rng.standard_normal(70_000)
    bs = PoissonBootstrap(16, 2).update(x)
    sums, n = bs.totals()
    gen_sums = np.zeros(16)
    for k, lo in enumerate(range(0, x.size, BLOCK)):  # recompute in float64 from the documented counts
        part = x[lo : lo + BLOCK]
        g = np.random.SFC64(np.random.SeedSequence(2, spawn_key=(k,)))
        for s in range(0, part.size, bsm._SUB):
            rows = min(bsm._SUB, part.size - s)
            raw = g.random_raw(-(-rows * 16 // 4))
            c = bsm._TABLE[raw.view(np.uint16)[: rows * 16]].reshape(rows, 16).astype(float)
            gen_sums += part[s : s + rows] @ c
    assert_allclose(sums[:, 0] / n, gen_sums / n, rtol=0, atol=1e-6)


def test_chunking_and_workers_give_identical_replicates():
    rng = np.random.default_rng(5)
    x = rng.gamma(2.0, size=(2 * BLOCK + 1234, 2))
    reference = _run(x, [])
    for cuts in ([1, 5000, BLOCK - 1, BLOCK + 7, 2 * BLOCK], [BLOCK, 2 * BLOCK], list(range(9999, x.shape[0], 9999))):
        got = _run(x, cuts)
        assert_array_equal(got[0], reference[0])
        assert_array_equal(got[1], reference[1])
    # three workers, uneven row ranges, merged in a scrambled order
    edges = [0, 777, BLOCK + 3, x.shape[0]]
    states = [PoissonBootstrap(64, 7, 2).update(x[a:b], start=a) for a, b in zip(edges, edges[1:], strict=False)]
    merged = states[2].merge(states[0]).merge(states[1])
    got = merged.totals()
    assert_array_equal(got[0], reference[0])
    assert_array_equal(got[1], reference[1])


def test_seed_changes_and_reproduces_the_resamples():
    x = np.arange(1000.0)
    a = PoissonBootstrap(50, 1).update(x).ratio(0)
    b = PoissonBootstrap(50, 1).update(x).ratio(0)
    c = PoissonBootstrap(50, 2).update(x).ratio(0)
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_replicate_means_center_on_the_mean_with_the_right_spread():
    x = np.random.default_rng(9).standard_normal(5000)
    reps = PoissonBootstrap(400, 11).update(x).ratio(0)
    assert abs(reps.mean() - x.mean()) < 4 * x.std() / np.sqrt(5000) / np.sqrt(400) + 1e-3
    assert_allclose(reps.std(), x.std() / np.sqrt(5000), rtol=0.15)


def test_weighted_ratio_uses_the_same_resamples():
    rng = np.random.default_rng(4)
    loss, w = rng.random(3000), rng.random(3000) + 0.5
    bs = PoissonBootstrap(100, 1, 3).update(np.column_stack([loss, w * loss, w]))
    sums, n = bs.totals()
    assert_allclose(bs.ratio(1, 2), sums[:, 1] / sums[:, 2], rtol=0)
    assert_allclose(bs.ratio(0), sums[:, 0] / n, rtol=0)


def test_duplicate_rows_and_mismatched_merges_are_refused():
    bs = PoissonBootstrap(8, 1).update(np.ones(10))
    with pytest.raises(InputError, match="rows 3... were given to the bootstrap twice"):
        bs.update(np.ones(5), start=3)
    with pytest.raises(UsageError, match=r"resamples must be at least 1, got 0 \(--resamples\)"):
        PoissonBootstrap(0, 1)
    with pytest.raises(UsageError, match="different"):
        PoissonBootstrap(8, 1).merge(PoissonBootstrap(8, 2))
    with pytest.raises(InputError, match="column"):
        PoissonBootstrap(8, 1, 2).update(np.ones(4))


def test_percentile_interval():
    ci = percentile_interval(np.arange(1001.0), 0.95)
    assert_allclose([ci.low, ci.high], [25.0, 975.0])
    ci = percentile_interval(np.array([np.nan, 1.0, 2.0, 3.0]), 0.5)
    assert_allclose([ci.low, ci.high], [1.5, 2.5])
    assert np.isnan(percentile_interval(np.array([np.nan]), 0.9).low)


def test_convention_replicates_recompute_each_convention_on_the_same_resamples():
    rng = np.random.default_rng(12)
    terms = rng.random((500, 4))  # N = 500 rows, K = 4 element terms
    w = rng.random(500) + 0.1
    row_sums = terms.sum(axis=1)
    per_sample = terms.mean(axis=1)  # a per-sample loss l_i for the weighted conventions
    bs = PoissonBootstrap(64, 5, 3).update(np.column_stack([row_sums, w * per_sample, w]))
    sums, n = bs.totals()
    cols = {"row_column": 0, "weighted_column": 1, "weight_column": 2}
    expect = {
        "mean": sums[:, 0] / n / 4,  # resampled Σ terms / (N*·K)
        "sum": sums[:, 0] / n * 500,
        "half_mean": sums[:, 0] / n / 8,
        "weighted_mean": sums[:, 1] / sums[:, 2],
        "weighted_batch_mean": sums[:, 1] / n,
        "weighted_sum": sums[:, 1] / n * 500,
    }
    for name, want in expect.items():
        assert_allclose(convention_replicates(bs, name, 500, 4, **cols), want, rtol=1e-14, err_msg=name)
    # the point values sit inside their percentile intervals
    ci = percentile_interval(convention_replicates(bs, "mean", 500, 4, **cols))
    assert ci.low < terms.mean() < ci.high
    with pytest.raises(UsageError, match="w·l and w"):
        convention_replicates(bs, "weighted_mean", 500, 4)


def test_fast_counts_equal_the_table_for_every_16_bit_value():
    """The compare-and-add counts (used per sub-block) are the lookup table's, for all 65,536 inputs, in any order."""
    u = np.random.default_rng(0).permutation(np.arange(65536, dtype=np.uint16))
    out = np.empty(u.size, dtype=np.float32)
    bsm._counts(u, out, np.empty(u.size, dtype=np.uint8), np.empty(u.size, dtype=bool))
    assert np.array_equal(out, bsm._TABLE[u].astype(np.float32))
