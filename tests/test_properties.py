"""Registry-wide invariants: every loss, every convention (sklearn's test_common, for losses).

These run over ``LOSSES``, so a newly registered loss is checked without new tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from lossctl.losses import LOSSES
from tests.conftest import perfect_pair, run, valid_inputs, values

LOSS_NAMES = sorted(LOSSES)
shapes = st.tuples(st.integers(1, 12), st.integers(1, 6))
seeds = st.integers(0, 2**32 - 1)


def scalars(report) -> dict:
    return {c.name: c.value for c in report.conventions if not isinstance(c.value, np.ndarray)}


def sums(name, report) -> dict:
    """{convention: value} before the loss's ``finish``: rmse's conventions squared back to mse's."""
    v = values(report)
    if LOSSES[name].finish is None:
        return v
    assert LOSSES[name].finish is np.sqrt
    return {key: value**2 for key, value in v.items()}


def _inputs(name, seed, shape):
    if name == "sparse-cce" or LOSSES[name].labels == "indices":
        shape = (shape[0], max(shape[1], 2))
    if name in ("cce", "kld", "categorical-hinge") and shape[1] == 1:
        shape = (shape[0], 2)
    return valid_inputs(name, np.random.default_rng(seed), shape)


@pytest.mark.parametrize("name", LOSS_NAMES)
@given(shape=shapes, seed=seeds)
@settings(max_examples=25, deadline=None)
def test_invariant_to_sample_order(name, shape, seed):
    y_pred, y_true = _inputs(name, seed, shape)
    perm = np.random.default_rng(seed + 1).permutation(len(y_pred))
    a, b = run(name, y_pred, y_true), run(name, y_pred[perm], y_true[perm])
    for key, value in scalars(a).items():
        assert_allclose(scalars(b)[key], value, rtol=1e-12, atol=1e-14, err_msg=key)
    assert_allclose(values(b)["per_sample"], values(a)["per_sample"][perm], rtol=1e-12)
    for fa, fb in zip(a.frameworks, b.frameworks, strict=True):
        # sums of mixed-sign terms (cosine) can cancel to ~0, so allow an absolute float64 rounding error
        assert_allclose(fb.value, fa.value, rtol=1e-12, atol=1e-14, err_msg=fa.call)


@pytest.mark.parametrize("name", LOSS_NAMES)
@given(shape=shapes, seed=seeds)
@settings(max_examples=25, deadline=None)
def test_divisors_relate_the_conventions(name, shape, seed):
    y_pred, y_true = _inputs(name, seed, shape)
    report = run(name, y_pred, y_true)
    v = sums(name, report)
    n, k = report.shape
    assert_allclose(v["batch_mean"] * n, v["sum"], rtol=1e-12)
    assert_allclose(
        np.sum(v["per_sample"]),
        v["sum"] if LOSSES[name].inner == "sum" or LOSSES[name].kind == "sample" else v["sum"] / k,
        rtol=1e-10,
        atol=1e-12,
    )
    if LOSSES[name].kind == "element":
        assert_allclose(v["mean"] * n * k, v["sum"], rtol=1e-12)
        assert_allclose(v["sum_of_sample_means"] * k, v["sum"], rtol=1e-12)
        assert_allclose(np.sum(v["per_output"]) * n, v["sum"], rtol=1e-10, atol=1e-12)
    if LOSSES[name].squared:
        assert_allclose(v["half_sum"] * 2, v["sum"], rtol=1e-12)
        assert_allclose(v["half_mean"] * 2, v["mean"], rtol=1e-12)
        assert_allclose(v["half_batch_mean"] * 2, v["batch_mean"], rtol=1e-12)
    primary = v[LOSSES[name].primary]
    assert_allclose(primary, np.mean(v["per_sample"]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", LOSS_NAMES)
@given(shape=shapes, seed=seeds)
@settings(max_examples=15, deadline=None)
def test_unit_weights_equal_no_weights(name, shape, seed):
    y_pred, y_true = _inputs(name, seed, shape)
    plain = sums(name, run(name, y_pred, y_true))
    weighted = sums(name, run(name, y_pred, y_true, weights=np.ones(len(y_pred))))
    mean_l = np.mean(plain["per_sample"])
    assert_allclose(weighted["weighted_mean"], mean_l, rtol=1e-12, atol=1e-300)
    assert_allclose(weighted["weighted_batch_mean"], mean_l, rtol=1e-12, atol=1e-300)
    assert_allclose(weighted["weighted_sum"], np.sum(plain["per_sample"]), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", LOSS_NAMES)
@given(shape=shapes, seed=seeds)
@settings(max_examples=15, deadline=None)
def test_weights_scale_free(name, shape, seed):
    """weighted_mean divides by Σw, so scaling every weight leaves it unchanged."""
    y_pred, y_true = _inputs(name, seed, shape)
    w = np.random.default_rng(seed).uniform(0.1, 2.0, size=len(y_pred))
    a = sums(name, run(name, y_pred, y_true, weights=w))
    b = sums(name, run(name, y_pred, y_true, weights=w * 3.0))
    assert_allclose(b["weighted_mean"], a["weighted_mean"], rtol=1e-12, atol=1e-300)
    assert_allclose(b["weighted_sum"], 3.0 * a["weighted_sum"], rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", [n for n in LOSS_NAMES if LOSSES[n].zero_at_perfect])
@given(shape=shapes, seed=seeds)
@settings(max_examples=15, deadline=None)
def test_zero_at_a_perfect_prediction(name, shape, seed):
    if LOSSES[name].labels == "indices" or name in ("cce", "kld", "categorical-hinge"):
        shape = (shape[0], max(shape[1], 2))
    y_pred, y_true = perfect_pair(name, np.random.default_rng(seed), shape)
    for key, value in scalars(run(name, y_pred, y_true)).items():
        assert value == pytest.approx(0.0, abs=1e-12), key


SINGLE_COLUMN = [n for n in LOSS_NAMES if _inputs(n, 0, (2, 1))[0].shape[1] == 1]  # not the K ≥ 2 losses


@pytest.mark.parametrize("name", SINGLE_COLUMN)
def test_one_dimensional_npy_equals_n_by_1(name, tmp_path):
    from lossctl import evaluate

    y_pred, y_true = _inputs(name, 7, (9, 1))
    np.save(tmp_path / "p1.npy", y_pred[:, 0])
    np.save(tmp_path / "p2.npy", y_pred)
    np.save(tmp_path / "y1.npy", y_true[:, 0])
    np.save(tmp_path / "y2.npy", y_true)
    a = evaluate(name, str(tmp_path / "p1.npy"), str(tmp_path / "y1.npy"))
    b = evaluate(name, str(tmp_path / "p2.npy"), str(tmp_path / "y2.npy"))
    assert a.shape == b.shape == (9, 1)
    assert scalars(a) == scalars(b)


def test_checks_that_span_chunks_see_every_chunk(tmp_path):
    """hinge refuses 0 and -1 as the negative class even when they sit in different chunks."""
    from lossctl import evaluate
    from lossctl.errors import InputError

    y = np.ones((10, 1))
    y[2], y[8] = 0.0, -1.0
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "p.npy", np.linspace(-1, 1, 10)[:, None])
    for chunk_rows in (3, 100):
        with pytest.raises(InputError, match=r"row 3 has 0, row 9 has -1"):
            evaluate("hinge", str(tmp_path / "p.npy"), str(tmp_path / "y.npy"), chunk_rows=chunk_rows)
