"""MSE: every convention against hand-checked values, every framework against the real one."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tests.conftest import run, values

PRED_2x10 = np.array([[0.9] + [0.1] * 9, [0.2, 0.9] + [0.2] * 8])
TRUE_2x10 = np.eye(10)[[0, 1]]

# (y_pred, y_true, {convention: expected}, provenance)
CASES = [
    (
        PRED_2x10,
        TRUE_2x10,
        {
            "mean": 0.0235,
            "batch_mean": 0.235,
            "sum_of_sample_means": 0.047,
            "sum": 0.47,
            "half_sum": 0.235,
            "half_batch_mean": 0.1175,
            "half_mean": 0.01175,
        },
        "hand computed: sample 0 = 0.01 + 9×0.01 = 0.1, sample 1 = 0.01 + 0.01 + 8×0.04 = 0.37; sum 0.47",
    ),
    (
        [[0.8, 0.2, 0.5, 0.9]],
        [[0.7, 0.3, 0.4, 1.0]],
        {"mean": 0.01, "batch_mean": 0.04, "sum": 0.04, "sum_of_sample_means": 0.01},
        "hand computed: four errors of 0.1; the oft-quoted 0.0175 is wrong",
    ),
    (
        [0.6, 1.29, 1.99, 2.69, 3.4],
        [1, 1, 2, 2, 4],
        {"mean": 0.21606, "batch_mean": 0.21606, "sum": 1.0803},
        "hand computed: 0.16+0.0841+0.0001+0.4761+0.36 = 1.0803 over 5",
    ),
]


@pytest.mark.parametrize("y_pred,y_true,expected,provenance", CASES)
def test_conventions_hand_checked(y_pred, y_true, expected, provenance):
    got = values(run("mse", y_pred, y_true))
    for name, value in expected.items():
        assert_allclose(got[name], value, rtol=1e-12, err_msg=f"{name}: {provenance}")


def test_vectors_hand_checked():
    got = values(run("mse", PRED_2x10, TRUE_2x10))
    assert_allclose(got["per_sample"], [0.01, 0.037], rtol=1e-12)
    assert_allclose(got["per_output"], [0.025, 0.01] + [0.025] * 8, rtol=1e-12)


def test_weighted_conventions_hand_checked():
    # per-sample losses 0.01 and 0.037 with weights 1 and 3
    got = values(run("mse", PRED_2x10, TRUE_2x10, weights=[1.0, 3.0]))
    assert_allclose(got["weighted_mean"], (0.01 + 3 * 0.037) / 4, rtol=1e-12)
    assert_allclose(got["weighted_batch_mean"], (0.01 + 3 * 0.037) / 2, rtol=1e-12)
    assert_allclose(got["weighted_sum"], 0.01 + 3 * 0.037, rtol=1e-12)


def test_float32_input_accumulates_in_float64():
    rng = np.random.default_rng(0)
    p = rng.random((200_000, 1)).astype(np.float32)
    expected = np.mean((p.astype(np.float64)) ** 2)
    got = values(run("mse", p, np.zeros_like(p)))["mean"]
    assert_allclose(got, expected, rtol=1e-13)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (9, 1), (5, 3), (64, 10)])
@pytest.mark.parametrize("weighted", [False, True])
def test_frameworks_match_real_frameworks(oracle, shape, weighted):
    rng = np.random.default_rng(hash(shape) % 2**32)
    y_pred, y_true = rng.normal(size=shape), rng.normal(size=shape)
    w = rng.random(shape[0]) * 2 if weighted else None
    report = run("mse", y_pred, y_true, weights=w)
    assert {r.framework for r in report.frameworks} == {"pytorch", "keras", "sklearn", "numpy"}
    for r in report.frameworks:
        real = oracle(r.call, y_pred, y_true, w)
        rtol = 2e-6 if r.framework == "keras" else 1e-12
        assert_allclose(r.value, real, rtol=rtol, err_msg=f"{r.framework}: {r.call}")
        assert r.convention == ("weighted_" if weighted else "") + (
            "mean" if not weighted or r.framework != "keras" else "batch_mean"
        ), r
