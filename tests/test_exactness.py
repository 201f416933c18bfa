"""Accumulation stays at float64 accuracy on long inputs, whatever the chunking."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lossctl.api import evaluate
from lossctl.compute import _Sum, _VectorSum, compute
from lossctl.losses import Chunk, get_loss

TEN_MILLION = 10_000_000


@pytest.fixture(scope="module")
def long_float32(tmp_path_factory):
    """10M float32 values with a wide spread of magnitudes, saved as .npy predictions against zero labels."""
    rng = np.random.default_rng(2024)
    values = (rng.standard_normal(TEN_MILLION) * np.exp(rng.uniform(-8, 8, TEN_MILLION))).astype(np.float32)
    d = tmp_path_factory.mktemp("long")
    np.save(d / "p.npy", values)
    np.save(d / "y.npy", np.zeros(TEN_MILLION, dtype=np.float32))
    return values, str(d / "p.npy"), str(d / "y.npy")


def test_ten_million_float32_squares_match_fsum(long_float32):
    values, p, y = long_float32
    wide = values.astype(np.float64)
    # a float32 squared is exact in float64 (24-bit mantissa -> 48 bits), so fsum gives the exact sum, rounded once
    exact = math.fsum(wide * wide)
    report = evaluate("mse", p, y, chunk_rows=65536, conventions=["sum", "mean"])
    assert report.convention("sum").value == pytest.approx(exact, rel=4e-16)
    assert report.convention("mean").value == pytest.approx(exact / TEN_MILLION, rel=4e-16)
    # the test can fail: accumulating in float32, as the naive one-liner on float32 arrays does, is far off
    naive32 = float(np.cumsum(values * values, dtype=np.float32)[-1])
    assert naive32 != pytest.approx(exact, rel=1e-6)


def test_ten_million_absolute_values_match_fsum_with_small_chunks(long_float32):
    values, p, y = long_float32
    exact = math.fsum(np.abs(values.astype(np.float64)))
    report = evaluate("mae", p, y, chunk_rows=4096, conventions=["sum"], keep_per_sample=False)
    assert report.convention("sum").value == pytest.approx(exact, rel=4e-16)


def test_framework_and_weighted_sums_are_exact_too():
    rng = np.random.default_rng(5)
    n = 1_000_003
    y_pred = rng.standard_normal((n, 1)) * 1e3
    w = rng.random(n)
    batches = [
        Chunk(y_pred[s : s + 1000], np.zeros((len(y_pred[s : s + 1000]), 1)), w[s : s + 1000], s)
        for s in range(0, n, 1000)
    ]
    report = compute(get_loss("mse"), batches, keep_per_sample=False, conventions=["weighted_sum", "sum"])
    squares = y_pred[:, 0] ** 2
    assert report.convention("sum").value == pytest.approx(math.fsum(squares), rel=1e-15)
    assert report.convention("weighted_sum").value == pytest.approx(math.fsum(squares * w), rel=1e-14)
    pytorch = next(f for f in report.frameworks if f.framework == "pytorch")
    assert pytorch.value == pytest.approx(math.fsum(squares * w) / math.fsum(w), rel=1e-14)


def test_compensated_sum_keeps_what_naive_addition_loses():
    s = _Sum()
    for x in [1e16, 1.0, 1.0, -1e16]:
        s.add(x)
    assert s.value == 2.0
    assert ((1e16 + 1.0) + 1.0) - 1e16 == 0.0  # naive addition loses both ones


def test_compensated_sum_keeps_infinities_and_nans():
    s = _Sum()
    for x in [1.0, math.inf, 2.0]:
        s.add(x)
    assert s.value == math.inf
    s.add(-math.inf)
    assert math.isnan(s.value)
    v = _VectorSum()
    with np.errstate(all="ignore"):
        for x in ([1e16, 1.0], [1.0, math.inf], [-1e16, 1.0]):
            v.add(np.array(x))
    assert v.value.tolist() == [1.0, math.inf]


@given(st.lists(st.floats(-1e200, 1e200, allow_nan=False), min_size=1, max_size=200))
def test_compensated_sum_is_within_an_ulp_or_two_of_fsum(xs):
    s = _Sum()
    for x in xs:
        s.add(x)
    exact = math.fsum(xs)
    # Neumaier's bound: 2u|S| + O(n u^2) sum|x|
    slack = len(xs) * 2.0**-104 * math.fsum(map(abs, xs))
    assert abs(s.value - exact) <= 2 * 2.0**-53 * abs(exact) + slack
