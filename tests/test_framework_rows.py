"""Framework rows where the loss itself is undefined or the call is a known mistake (issue 11 parts 3 and 4).

Each case: lossctl's report on small inputs with hand-checked values, and every framework
row against the real framework evaluating the row's own ``call``. lossctl must not refuse
what some framework computes: the conventions say ``undefined`` (with the row), the
framework rows show each framework's number.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import run


def _check_rows_against_frameworks(oracle, report, y_pred, y_true, w=None):
    for row in report.frameworks:
        real = oracle(row.call, y_pred, y_true, w) if "sklearn" not in row.call or math.isfinite(row.value) else None
        if real is None:  # scikit-learn raises where lossctl shows nan
            with pytest.raises(ValueError):
                oracle(row.call, y_pred, y_true, w)
            assert row.note and "raises" in row.note, row
            continue
        if math.isnan(real):
            assert math.isnan(row.value), (row, real)
        else:
            assert row.value == pytest.approx(real, rel=2e-6, abs=2e-7), (row.call, real)


def test_cce_pytorch_rows_on_probabilities(oracle):
    y_pred = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    y_true = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    report = run("cce", y_pred, y_true)
    rows = {r.api: r for r in report.frameworks}
    log_p = rows["torch.nn.CrossEntropyLoss() on torch.log(p)"]
    # hand: (−log 0.7 − log 0.5) / 2 = (0.356675 + 0.693147) / 2
    assert log_p.value == pytest.approx(0.524911, abs=1e-6) and log_p.convention == "batch_mean"
    mistake = rows["torch.nn.CrossEntropyLoss() on p (mistake)"]
    # hand: row 1, −(0.7 − log(e^0.7 + e^0.2 + e^0.1)) = −(0.7 − log 4.340327) = 0.767950;
    # row 2, −(0.5 − log(2e^0.25 + e^0.5)) = −(0.5 − log 4.216772) = 0.939070
    assert mistake.value == pytest.approx((0.767950 + 0.939070) / 2, abs=2e-6)
    assert mistake.convention is None and "probabilities taken as logits" in mistake.note
    _check_rows_against_frameworks(oracle, report, y_pred, y_true)


def test_cce_log_of_zero_is_inf_or_nan_in_pytorch(oracle):
    """No epsilon in cross_entropy(torch.log(p), y): log 0 = −inf; 0·(−inf) is nan (label 0), 1·(−inf) inf."""
    y_pred = np.array([[0.0, 0.3, 0.7]])
    for y_true, expected in ((np.array([[0.0, 0.0, 1.0]]), math.nan), (np.array([[1.0, 0.0, 0.0]]), math.inf)):
        report = run("cce", y_pred, y_true)
        row = next(r for r in report.frameworks if r.api == "torch.nn.CrossEntropyLoss() on torch.log(p)")
        assert row.value == expected or (math.isnan(expected) and math.isnan(row.value))
        assert row.convention is None and row.note
        _check_rows_against_frameworks(oracle, report, y_pred, y_true)


def test_sparse_cce_mistake_row(oracle):
    y_pred, y_true = np.array([[0.7, 0.2, 0.1]]), np.array([0])
    report = run("sparse-cce", y_pred, y_true)
    mistake = next(r for r in report.frameworks if "mistake" in r.api)
    assert mistake.value == pytest.approx(0.767950, abs=2e-6) and mistake.convention is None
    _check_rows_against_frameworks(oracle, report, y_pred, y_true)


def test_msle_at_or_below_minus_one_is_undefined_but_keras_computes(oracle):
    y_pred, y_true = np.array([[0.5, 0.3], [-2.0, 0.1]]), np.array([[0.5, 0.2], [1.0, 0.1]])
    report = run("msle", y_pred, y_true)
    mean = report.convention("mean")
    assert mean.value is None and "≤ -1" in mean.note and "row 2" in mean.note
    keras = next(r for r in report.frameworks if r.framework == "keras")
    # hand: Keras raises −2 to 1e-7: ((log 1.3 − log 1.2)², 0, (log(1 + 1e-7) − log 2)², 0) / 4
    hand = ((math.log(1.3) - math.log(1.2)) ** 2 + (math.log1p(1e-7) - math.log(2.0)) ** 2) / 4
    assert keras.value == pytest.approx(hand, rel=2e-6)
    sklearn_row = next(r for r in report.frameworks if r.framework == "sklearn")
    assert math.isnan(sklearn_row.value) and "raises ValueError" in sklearn_row.note
    _check_rows_against_frameworks(oracle, report, y_pred, y_true)


def test_poisson_negative_predictions_are_log_rates_for_pytorch(oracle):
    y_pred, y_true = np.array([[0.5], [-0.1]]), np.array([[1.0], [1.0]])
    report = run("poisson", y_pred, y_true)
    mean = report.convention("mean")
    assert mean.value is None and "negative rate" in mean.note and "row 2" in mean.note
    log_rates = next(r for r in report.frameworks if r.api == "torch.nn.PoissonNLLLoss()")
    # hand: ((e^0.5 − 0.5) + (e^−0.1 + 0.1)) / 2
    assert log_rates.value == pytest.approx(((math.exp(0.5) - 0.5) + (math.exp(-0.1) + 0.1)) / 2, rel=1e-12)
    _check_rows_against_frameworks(oracle, report, y_pred, y_true)


def test_categorical_hinge_soft_label_row_is_undefined_but_computed(oracle):
    y_pred, y_true = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0]]), np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    report = run("categorical-hinge", y_pred, y_true)
    batch = report.convention("batch_mean")
    assert batch.value is None and "not one-hot" in batch.note and "row 2" in batch.note
    keras = next(r for r in report.frameworks if r.framework == "keras")
    # hand: row 1, max(0, 2 − 1 + 1) = 2; row 2, pos = 3.5, neg = max(0, 0, 1) = 1: max(0, 1 − 3.5 + 1) = 0
    assert keras.value == pytest.approx(1.0, rel=2e-6)
    _check_rows_against_frameworks(oracle, report, y_pred, y_true)


def test_negative_weights_every_framework_row(oracle):
    y_pred, y_true = np.array([[0.5, 1.0], [2.0, 0.0], [1.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    w = np.array([1.0, -0.5, 2.0])
    report = run("mse", y_pred, y_true, weights=w)
    assert any("negative weight" in n for n in report.notes)
    # hand: per-sample 0.125, 1.0, 1.0; Σw·l = 0.125 − 0.5 + 2 = 1.625; Σw = 2.5
    assert report.convention("weighted_mean").value == pytest.approx(0.65, rel=1e-12)
    _check_rows_against_frameworks(oracle, report, y_pred, y_true, w)
