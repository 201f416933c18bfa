"""The training-loop simulation against a real PyTorch DataLoader / DistributedSampler loop."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossctl.errors import InputError, UsageError
from lossctl.stats.loop import LoopSimulator, simulate_loop
from lossctl.stats.moments import RatioMoments

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset  # noqa: E402


def torch_loop(values, batch_size, drop_last, world_size, accum_steps):
    """An actual loop: each rank's DataLoader over its DistributedSampler share, loss.item() logged per step."""
    ds = TensorDataset(torch.tensor(values, dtype=torch.float64))
    logged, seen_total, seen, batches = [], 0.0, 0, 0
    for rank in range(world_size):
        sampler = DistributedSampler(ds, num_replicas=world_size, rank=rank, shuffle=False, drop_last=False)
        loader = DataLoader(ds, batch_size=batch_size, sampler=sampler, drop_last=drop_last)
        micro = []
        for (batch,) in loader:
            micro.append(batch.mean().item())  # the batch's mean loss
            seen_total += batch.sum().item()
            seen += batch.numel()
            batches += 1
            if len(micro) == accum_steps:
                logged.append(sum(micro) / len(micro))
                micro = []
        if micro:
            logged.append(sum(micro) / len(micro))
    mobm = sum(logged) / len(logged) if logged else math.nan
    bwm = seen_total / seen if seen else math.nan
    return mobm, bwm, batches, len(logged), seen


CASES = list(itertools.product([1, 2, 5, 7, 16, 33], [1, 3, 4, 8], [False, True], [1, 2, 3, 4], [1, 2, 3]))


@pytest.mark.parametrize("n,b,drop_last,w,a", CASES)
def test_matches_a_real_torch_loop(n, b, drop_last, w, a):
    values = np.random.default_rng(n * 1000 + b * 100 + w * 10 + a).gamma(2.0, size=n)
    want = torch_loop(values, b, drop_last, w, a)
    got = simulate_loop(values, b, drop_last, w, a)
    if math.isnan(want[0]):
        assert math.isnan(got.mean_of_batch_means) and math.isnan(got.batch_weighted_mean)
    else:
        np.testing.assert_allclose([got.mean_of_batch_means, got.batch_weighted_mean], want[:2], rtol=1e-13)
    assert (got.batches, got.steps, got.n_seen) == want[2:]


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 300),
    st.integers(1, 20),
    st.booleans(),
    st.integers(1, 5),
    st.integers(1, 4),
    st.lists(st.integers(1, 50), min_size=1, max_size=8),
)
def test_streaming_in_any_chunks_matches_torch(n, b, drop_last, w, a, chunk_sizes):
    values = np.random.default_rng(n).random(n)
    sim = LoopSimulator(b, drop_last, w, a)
    pos, i = 0, 0
    while pos < n:
        size = chunk_sizes[i % len(chunk_sizes)]
        sim.update(values[pos : pos + size])
        pos, i = pos + size, i + 1
    got = sim.result()
    want = torch_loop(values, b, drop_last, w, a)
    if math.isnan(want[0]):
        assert math.isnan(got.mean_of_batch_means)
    else:
        np.testing.assert_allclose([got.mean_of_batch_means, got.batch_weighted_mean], want[:2], rtol=1e-12)
    assert (got.batches, got.steps, got.n_seen) == want[2:]


def torch_row_weights(n, batch_size, drop_last, world_size, accum_steps):
    """Each row's total weight in the logged values, read off a real loop over row indices."""
    ds = TensorDataset(torch.arange(n))
    step_w, seen_w = np.zeros(n), np.zeros(n)
    for rank in range(world_size):
        sampler = DistributedSampler(ds, num_replicas=world_size, rank=rank, shuffle=False, drop_last=False)
        batches = [
            idx.numpy() for (idx,) in DataLoader(ds, batch_size=batch_size, sampler=sampler, drop_last=drop_last)
        ]
        for s in range(0, len(batches), accum_steps):
            group = batches[s : s + accum_steps]
            for idx in group:
                np.add.at(step_w, idx, 1.0 / (idx.size * len(group)))
                np.add.at(seen_w, idx, 1.0)
    return step_w, seen_w


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 400), st.integers(1, 20), st.booleans(), st.integers(1, 5), st.integers(1, 4), st.integers(1, 97))
def test_row_moments_match_weights_from_a_real_loop(n, b, drop_last, w, a, chunk):
    values = np.random.default_rng(n + 7).gamma(2.0, size=n)
    sim = LoopSimulator(b, drop_last, w, a)
    for lo in range(0, n, chunk):
        sim.update(values[lo : lo + chunk])
    got = sim.result()
    step_w, seen_w = torch_row_weights(n, b, drop_last, w, a)
    for state, weights in ((got.mean_of_batch_means_moments, step_w), (got.batch_weighted_mean_moments, seen_w)):
        want = RatioMoments.of(weights * values, weights)
        assert state.count == n
        if weights.sum() == 0:
            continue
        np.testing.assert_allclose(state.ratio, want.ratio, rtol=1e-12)
        np.testing.assert_allclose(state.se, want.se, rtol=1e-8, atol=1e-15)
    if not math.isnan(got.mean_of_batch_means):
        np.testing.assert_allclose(got.mean_of_batch_means_moments.ratio, got.mean_of_batch_means, rtol=1e-12)
        np.testing.assert_allclose(got.batch_weighted_mean_moments.ratio, got.batch_weighted_mean, rtol=1e-12)


def test_hand_computed_padding_and_short_batches():
    # N=5, W=2: positions 0..5, position 5 repeats row 0; rank 0 gets rows 0,2,4 and rank 1 rows 1,3,0
    # B=2: rank 0 batches [1,3], [5]; rank 1 [2,4], [1] -> batch means 2, 5, 3, 1 -> 11/4
    r = simulate_loop([1.0, 2.0, 3.0, 4.0, 5.0], batch_size=2, world_size=2)
    assert (r.mean_of_batch_means, r.batch_weighted_mean) == (11 / 4, 16 / 6)
    assert (r.batches, r.steps, r.n_seen, r.padded) == (4, 4, 6, 1)
    # row 0 is seen twice (its padding copy): weights a = 2,1,1,1,1 for batch_weighted_mean
    a = np.array([2.0, 1, 1, 1, 1])
    x = np.arange(1.0, 6.0)
    want = RatioMoments.of(a * x, a)
    np.testing.assert_allclose(r.batch_weighted_mean_moments.ratio, 16 / 6, rtol=1e-15)
    np.testing.assert_allclose(r.batch_weighted_mean_moments.se, want.se, rtol=1e-12)


def test_memory_stays_bounded_while_streaming():
    sim = LoopSimulator(batch_size=32, world_size=4, accum_steps=2)
    rng = np.random.default_rng(0)
    for _ in range(200):
        sim.update(rng.random(1000))
        assert sum(t.size for t in sim.tail) <= 4 * 2 * 32 + 1000
        assert sim.head.size <= 3
    r = sim.result()
    assert r.n_rows == 200_000


def test_bad_settings_are_refused():
    with pytest.raises(UsageError, match="--batch-size must be a positive integer, got 0"):
        LoopSimulator(0)
    with pytest.raises(UsageError, match="--world-size must be a positive integer, got 1.5"):
        LoopSimulator(4, world_size=1.5)
    with pytest.raises(InputError, match="no rows"):
        LoopSimulator(4).result()
