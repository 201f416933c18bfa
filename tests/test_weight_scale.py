"""Weighted conventions with weights near the ends of float64 (issue 12): never a silent 0.

Σw of weights 1e308 overflows and w·l of weights 5e-324 underflows; lossctl scales each chunk's
weights by an exact power of two, so the scale-free weighted_mean equals the unit-weight value
(hand-checked: squared errors 0.01, 0.25, 0.01 -> mean 0.09) and the others are the correctly
rounded true values, or undefined with the reason when they overflow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossctl import evaluate

PRED = np.array([[0.1], [0.5], [0.9]])
TRUE = np.array([[0.0], [1.0], [1.0]])


@pytest.fixture
def files(tmp_path):
    np.save(tmp_path / "p.npy", PRED)
    np.save(tmp_path / "y.npy", TRUE)

    def weights(values, chunk_rows=65536):
        np.save(tmp_path / "w.npy", np.asarray(values, dtype=np.float64))
        report = evaluate(
            "mse", str(tmp_path / "p.npy"), str(tmp_path / "y.npy"), str(tmp_path / "w.npy"), chunk_rows=chunk_rows
        )
        return {c.name: c for c in report.conventions}

    return weights


@pytest.mark.parametrize("w", [1.0, 1e308, 1.7e308, 5e-324, 1e-310, 3.0])
@pytest.mark.parametrize("chunk_rows", [1, 2, 65536])
def test_weighted_mean_is_scale_free(files, w, chunk_rows):
    got = files([w, w, w], chunk_rows)
    assert got["weighted_mean"].value == pytest.approx(0.09, rel=1e-15)  # hand: (0.01 + 0.25 + 0.01) / 3


def test_huge_weights_overflow_says_why(tmp_path):
    np.save(tmp_path / "p.npy", np.array([[10.0], [10.0], [10.0]]))  # squared errors 100
    np.save(tmp_path / "y.npy", np.zeros((3, 1)))
    np.save(tmp_path / "w.npy", np.full(3, 1.7e308))
    report = evaluate("mse", str(tmp_path / "p.npy"), str(tmp_path / "y.npy"), str(tmp_path / "w.npy"))
    got = {c.name: c for c in report.conventions}
    assert got["weighted_sum"].value is None and "overflows float64" in got["weighted_sum"].note
    assert got["weighted_mean"].n is None  # Σw itself is not a float64
    assert got["weighted_mean"].value == 100.0


def test_mixed_scales_weigh_correctly(files):
    # weights 1e300 : 1e300 : 2e300 -> (0.01 + 0.25 + 2 * 0.01) / 4 = 0.07, across chunks of one row
    got = files([1e300, 1e300, 2e300], chunk_rows=1)
    assert got["weighted_mean"].value == pytest.approx(0.07, rel=1e-15)
    assert got["weighted_sum"].value == pytest.approx(0.28e300, rel=1e-15)


def test_tiny_weights_give_correctly_rounded_sums(files):
    got = files([1e-310, 1e-310, 1e-310])
    assert got["weighted_sum"].value == pytest.approx(0.27e-310, rel=1e-5)  # subnormal: ~5 digits left
    assert math.isfinite(got["weighted_batch_mean"].value)


def test_scaled_sums_merge_across_states():
    """Two states of different weight scales merge to the single-pass ratio (issue 14's mergeable state)."""
    from lossctl.compute import _ScaledSum

    w = np.array([1e300, 3.0, 2e-300, 5e307])
    values = np.array([0.5, 0.25, 4.0, 0.125])
    one, num, den = _ScaledSum(), _ScaledSum(), _ScaledSum()
    for part in (slice(0, 1), slice(1, 3), slice(3, 4)):
        largest = np.max(w[part])
        e = int(np.frexp(largest)[1])
        scaled = np.ldexp(w[part], -e)
        (num if part.start else one).add(float(np.dot(scaled, values[part])), e)
        den.add(float(np.sum(scaled)), e)
    one.merge(num)
    expected = float(np.dot(w / 5e307, values) / np.sum(w / 5e307))  # hand: scale-free ratio
    assert one.ratio(den) == pytest.approx(expected, rel=1e-15)
