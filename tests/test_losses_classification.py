"""Classification losses: hand-checked conventions, the real frameworks as oracles, and the CLI.

Losses: cce, sparse-cce, bce, kld, hinge, squared-hinge, categorical-hinge.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from lossctl.compute import compute
from lossctl.errors import InputError
from lossctl.losses import Chunk, Params, get_loss
from tests.conftest import assert_error, run, values

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
PROBS, ONEHOT, INDEX = (str(SAMPLE / f) for f in ("class_probs.csv", "class_onehot.csv", "class_index.csv"))
LOGITS = Params(logits=True)
BCE_08_04 = -math.log(0.8) - math.log(0.6)  # hand: y = 1 with p = 0.8, y = 0 with p = 0.4
PROBS_ARRAY = np.loadtxt(PROBS, delimiter=",", skiprows=1)
ONEHOT_ARRAY = np.loadtxt(ONEHOT, delimiter=",", skiprows=1)

# sample_data: true-class probabilities 0.7, 0.8, 0.5, 0.3
SAMPLE_CE = [-math.log(0.7), -math.log(0.8), -math.log(0.5), -math.log(0.3)]

# --------------------------------------------------------------------------- hand-checked conventions

# (loss, y_pred, y_true, params, {convention: expected}, provenance)
CASES = [
    (
        "cce",
        PROBS_ARRAY,
        ONEHOT_ARRAY,
        Params(),
        {
            "batch_mean": sum(SAMPLE_CE) / 4,
            "mean": sum(SAMPLE_CE) / 12,
            "sum": sum(SAMPLE_CE),
            "sum_of_sample_means": sum(SAMPLE_CE) / 3,
        },
        "hand: −(ln .7 + ln .8 + ln .5 + ln .3) = 2.47693847; ÷4 samples, ÷12 elements, ÷3 classes",
    ),
    (
        "cce",
        [[0.5, 0.25, 0.25]],
        [[0.5, 0.5, 0.0]],
        Params(),
        {"batch_mean": 1.5 * math.log(2), "mean": 0.5 * math.log(2)},
        "hand, soft target: 0.5·ln 2 + 0.5·ln 4 = 1.5·ln 2",
    ),
    (
        "cce",
        [[2.0, 1.0, 0.1]],
        [[1.0, 0.0, 0.0]],
        LOGITS,
        {"batch_mean": math.log(math.exp(2) + math.e + math.exp(0.1)) - 2},
        "hand: ln(e² + e + e^0.1) − 2 = 2.41702998 − 2 (the classic softmax example)",
    ),
    (
        "cce",
        [[0.2, 0.3]],
        [[0.0, 1.0]],
        Params(),
        {"batch_mean": -math.log(0.3)},
        "hand: −ln 0.3; no renormalization in the convention (Keras gives −ln 0.6, below)",
    ),
    (
        "sparse-cce",
        PROBS_ARRAY,
        [0, 1, 2, 1],
        Params(),
        {"batch_mean": sum(SAMPLE_CE) / 4, "mean": sum(SAMPLE_CE) / 12, "sum": sum(SAMPLE_CE)},
        "hand: same samples as the one-hot case",
    ),
    (
        "sparse-cce",
        [[30.0, -30.0]],
        [1],
        LOGITS,
        {"batch_mean": 60.0, "mean": 30.0},
        "hand: −log-softmax = 60 + ln(1 + e^−60) = 60 to 1e-26 (exp-then-log would give inf)",
    ),
    (
        "bce",
        [[0.8], [0.4]],
        [[1.0], [0.0]],
        Params(),
        {"mean": BCE_08_04 / 2, "batch_mean": BCE_08_04 / 2, "sum": BCE_08_04},
        "hand: (−ln 0.8 − ln 0.6) / 2",
    ),
    (
        "bce",
        [[0.8, 0.4]],
        [[1.0, 0.0]],
        Params(),
        {"mean": BCE_08_04 / 2, "batch_mean": BCE_08_04, "sum_of_sample_means": BCE_08_04 / 2},
        "hand: two outputs of one sample; batch_mean sums over the outputs",
    ),
    (
        "bce",
        [[0.3]],
        [[0.3]],
        Params(),
        {"mean": -(0.3 * math.log(0.3) + 0.7 * math.log(0.7))},
        "hand, soft target: −(0.3 ln 0.3 + 0.7 ln 0.7), the binary entropy of 0.3 in nats",
    ),
    (
        "bce",
        [[0.0], [-30.0], [30.0]],
        [[1.0], [1.0], [1.0]],
        LOGITS,
        {"sum": math.log(2) + 30.0 + 9.357622968839737e-14},
        "hand: ln 2 + (30 + ln(1 + e^−30)) + ln(1 + e^−30); ln(1 + e^−30) = 9.3576e-14 (log1p)",
    ),
    (
        "kld",
        [[0.3, 0.3, 0.4], [0.2, 0.5, 0.3]],
        [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]],
        Params(),
        {"batch_mean": 0.29244, "mean": 0.09748},
        "conventions.md §12 worked example (Keras / torch batchmean 0.29244, torch mean 0.09748)",
    ),
    (
        "kld",
        [[0.5, 0.5], [0.0, 1.0]],
        [[0.0, 1.0], [0.0, 1.0]],
        Params(),
        {"batch_mean": math.log(2) / 2, "sum": math.log(2)},
        "hand: 0·ln(0/0.5) = 0, 1·ln 2; second row identical (0·ln 0/0 = 0)",
    ),
    (
        "hinge",
        [[0.5], [2.0], [-1.0]],
        [[1.0], [0.0], [1.0]],
        Params(),
        {"mean": 5.5 / 3, "sum": 5.5},
        "hand: 0 read as −1: 1 − 0.5, 1 + 2, 1 + 1",
    ),
    (
        "hinge",
        [[0.3, 0.5, 1.5]],
        [[1.0, -1.0, 1.0]],
        Params(),
        {"mean": 2.2 / 3, "batch_mean": 2.2, "sum_of_sample_means": 2.2 / 3},
        "hand: 0.7 + 1.5 + 0 (margin met)",
    ),
    (
        "squared-hinge",
        [[0.5], [2.0], [-1.0]],
        [[1.0], [0.0], [1.0]],
        Params(),
        {"mean": 13.25 / 3, "sum": 13.25, "half_sum": 6.625, "half_mean": 13.25 / 6, "half_batch_mean": 13.25 / 6},
        "hand: 0.5² + 3² + 2²",
    ),
    (
        "categorical-hinge",
        [[-1.0, -2.0, 0.5], [1.0, -2.0, 0.5]],
        np.eye(3)[[2, 2]],
        Params(),
        {"batch_mean": 0.75, "sum": 1.5},
        "hand, Crammer–Singer: max(0, 1 − 1 − 0.5) = 0; max(0, 1 + 1 − 0.5) = 1.5",
    ),
]


@pytest.mark.parametrize("loss,y_pred,y_true,params,expected,provenance", CASES)
def test_conventions_hand_checked(loss, y_pred, y_true, params, expected, provenance):
    got = values(run(loss, y_pred, y_true, params=params))
    for name, value in expected.items():
        rtol = 5e-5 if "§12" in provenance else 1e-12  # the fact sheet prints 5 significant digits
        assert_allclose(got[name], value, rtol=rtol, err_msg=f"{name}: {provenance}")


def test_per_sample_and_per_output_vectors():
    got = values(run("cce", PROBS_ARRAY, ONEHOT_ARRAY))
    assert_allclose(got["per_sample"], SAMPLE_CE, rtol=1e-12)
    # per_output: column sums of the terms over N = 4; each class's terms come from its true rows only
    assert_allclose(got["per_output"], [-math.log(0.7) / 4, (-math.log(0.8) - math.log(0.3)) / 4, -math.log(0.5) / 4])
    kld = values(run("kld", [[0.3, 0.3, 0.4], [0.2, 0.5, 0.3]], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))
    # optax per-row [0.0305, 0.5544] (conventions.md §12); hand: 0.2 ln(2/3) + 0.5 ln 1.25 = 0.030479
    assert_allclose(kld["per_sample"], [0.030479, 0.554405], atol=1e-6)


def test_weighted_cross_entropy_hand_checked():
    # per-sample −ln .7, −ln .8, −ln .5, −ln .3 with weights 1, 0, 2, 1
    w = np.array([1.0, 0.0, 2.0, 1.0])
    got = values(run("cce", PROBS_ARRAY, ONEHOT_ARRAY, weights=w))
    total = SAMPLE_CE[0] + 2 * SAMPLE_CE[2] + SAMPLE_CE[3]
    assert_allclose(got["weighted_mean"], total / 4, rtol=1e-12)
    assert_allclose(got["weighted_batch_mean"], total / 4, rtol=1e-12)  # Σw = N = 4 here
    got = values(run("cce", PROBS_ARRAY, ONEHOT_ARRAY, weights=w * 2))
    assert_allclose(got["weighted_mean"], total / 4, rtol=1e-12)
    assert_allclose(got["weighted_batch_mean"], total / 2, rtol=1e-12)


def test_mean_is_k_times_smaller_than_batch_mean_for_cross_entropy():
    """The classic mistake: averaging cross-entropy over every element also divides by the classes."""
    report = run("cce", PROBS_ARRAY, ONEHOT_ARRAY)
    v = values(report)
    assert report.primary == "batch_mean"
    assert_allclose(v["mean"] * 3, v["batch_mean"], rtol=1e-12)
    assert any("mean (÷N·K) also divides by the number of classes" in p for p in get_loss("cce").pitfalls)
    assert {r.convention for r in report.frameworks if "mistake" not in r.api} == {"batch_mean"}


@pytest.mark.parametrize(
    "loss,primary",
    [
        ("cce", "batch_mean"),
        ("sparse-cce", "batch_mean"),
        ("kld", "batch_mean"),
        ("bce", "mean"),
        ("hinge", "mean"),
        ("squared-hinge", "mean"),
        ("categorical-hinge", "batch_mean"),
    ],
)
def test_primary_convention_follows_keras_inner_axis(loss, primary):
    assert get_loss(loss).primary == primary


def test_only_squared_hinge_gets_the_half_conventions():
    names = {
        loss: {c.name for c in run(loss, y_pred, y_true).conventions}
        for loss, y_pred, y_true in [
            ("hinge", [[0.5]], [[1.0]]),
            ("squared-hinge", [[0.5]], [[1.0]]),
            ("bce", [[0.5]], [[1.0]]),
        ]
    }
    assert "half_sum" in names["squared-hinge"] and "half_sum" not in names["hinge"] | names["bce"]
    ch = {c.name for c in run("categorical-hinge", [[0.1, 0.2]], [[0.0, 1.0]]).conventions}
    assert ch == {"batch_mean", "sum", "per_sample"}


@pytest.mark.parametrize(
    "loss,y_pred,y_true",
    [
        ("cce", [[0.5, 0.5], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]),
        ("sparse-cce", [[0.5, 0.5], [0.0, 1.0]], [0, 0]),
        ("bce", [[0.3], [1.0]], [[0.0], [1.0 - 1e-3]]),
        ("kld", [[0.5, 0.5], [1.0, 0.0]], [[0.5, 0.5], [0.5, 0.5]]),
    ],
)
def test_log_of_zero_is_undefined_not_a_number(loss, y_pred, y_true):
    report = run(loss, y_pred, y_true)
    for c in report.conventions:
        if c.name in ("mean", "batch_mean", "sum"):
            assert c.value is None and "undefined" in c.note and "row 2" in c.note, c
    assert math.isinf(values(report)["per_sample"][1])


def test_zero_times_log_zero_is_zero():
    # the zero-probability classes carry zero labels: defined, and exactly the true-class terms
    got = values(run("cce", [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    assert_allclose(got["sum"], math.log(2), rtol=1e-15)
    assert values(run("bce", [[0.0, 1.0]], [[0.0, 1.0]]))["sum"] == 0.0


# --------------------------------------------------------------------------- framework values from the fact sheet


def tolerance(r) -> dict:
    """Keras computes in float32 (rtol 2e-6); its logs also carry an absolute error of a few float32 ulps,
    which is large relative to a tiny loss, hence the atol. Everything else agrees to float64 rounding."""
    return {"rtol": 2e-6, "atol": 2e-7} if r.framework == "keras" else {"rtol": 1e-12, "atol": 0.0}


def fw(report, framework: str, api_contains: str = "") -> object:
    matches = [r for r in report.frameworks if r.framework == framework and api_contains in r.api]
    assert len(matches) == 1, [r.api for r in report.frameworks]
    return matches[0]


def test_bce_hard_zero_one_each_framework_hides_the_infinity_differently(oracle):
    # conventions.md §9: y = [1, 0], p = [0, 1]: Keras 16.030, PyTorch 100.0, sklearn 36.044
    y_pred, y_true = np.array([[0.0], [1.0]]), np.array([[1.0], [0.0]])
    report = run("bce", y_pred, y_true)
    assert values(report)["mean"] is None
    assert_allclose(fw(report, "keras").value, 16.030, atol=5e-4)
    # hand: Keras's float32 clip bounds are 1e-7 and 1 − 2⁻²³ (= 1 − 1.19e-7): −ln 1e-7 = 16.118, −ln 2⁻²³ = 15.942
    assert_allclose(fw(report, "keras").value, (-math.log(1e-7) - math.log(2**-23)) / 2, rtol=1e-6)
    assert fw(report, "pytorch").value == 100.0
    assert_allclose(fw(report, "sklearn").value, -math.log(np.finfo(np.float64).eps), rtol=1e-12)
    assert_allclose(fw(report, "sklearn").value, 36.044, atol=5e-4)
    for r in report.frameworks:
        assert r.convention is None
        assert_allclose(r.value, oracle(r.call, y_pred, y_true), **tolerance(r))


def test_keras_renormalizes_cce_rows_sklearn_does_not(oracle):
    # conventions.md §10: p = [0.2, 0.3] renormalized by Keras → −ln 0.6 = 0.5108; sklearn −ln 0.3 = 1.204
    y_pred, y_true = np.array([[0.2, 0.3]]), np.array([[0.0, 1.0]])
    report = run("cce", y_pred, y_true)
    keras, sk = fw(report, "keras"), fw(report, "sklearn")
    assert_allclose(keras.value, -math.log(0.6), rtol=2e-6)
    assert_allclose(keras.value, 0.5108, atol=1e-4)
    assert keras.convention is None and "renormalizes" in keras.note
    assert_allclose(sk.value, -math.log(0.3), rtol=1e-12)
    assert sk.convention == "batch_mean"
    assert any("Keras renormalizes" in n for n in report.notes)
    for r in report.frameworks:
        assert_allclose(r.value, oracle(r.call, y_pred, y_true), **tolerance(r))


def test_kld_torch_mean_and_batchmean(oracle):
    # conventions.md §12: Keras 0.29244, torch 'batchmean' 0.29244, torch 'mean' 0.09748 (= /6)
    q, p = np.array([[0.3, 0.3, 0.4], [0.2, 0.5, 0.3]]), np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    report = run("kld", q, p)
    assert_allclose(fw(report, "pytorch", "batchmean").value, 0.29244, atol=1e-5)
    assert fw(report, "pytorch", "batchmean").convention == "batch_mean"
    assert_allclose(fw(report, "pytorch", "'mean'").value, 0.09748, atol=1e-5)
    assert fw(report, "pytorch", "'mean'").convention == "mean"
    assert_allclose(fw(report, "keras").value, 0.29244, atol=1e-5)
    assert fw(report, "keras").convention == "batch_mean"
    for r in report.frameworks:
        assert_allclose(r.value, oracle(r.call, q, p), **tolerance(r))


def test_categorical_hinge_keras_is_not_crammer_singer(oracle):
    # conventions.md §8: s = [−1, −2, 0.5], t = 2: Keras 0.5; sklearn and torch 0.0
    s, y = np.array([[-1.0, -2.0, 0.5]]), np.array([[0.0, 0.0, 1.0]])
    report = run("categorical-hinge", s, y)
    assert values(report)["batch_mean"] == 0.0
    assert fw(report, "keras").value == 0.5 and fw(report, "keras").convention is None
    assert fw(report, "sklearn").value == 0.0 and fw(report, "sklearn").convention == "batch_mean"
    assert fw(report, "pytorch").value == 0.0
    for r in report.frameworks:
        assert_allclose(r.value, oracle(r.call, s, y), rtol=1e-12)
    # and the multi-margin loss is a different loss: hand (max(0, 1 − .5 + 1) + 0) / 3 = 0.5
    report = run("categorical-hinge", [[1.0, -2.0, 0.5]], y)
    assert_allclose(fw(report, "pytorch").value, 0.5, rtol=1e-12)
    assert fw(report, "pytorch").convention is None
    assert fw(report, "keras").value == 1.5 and fw(report, "keras").convention == "batch_mean"


def test_keras_kld_clips_a_zero_p_to_epsilon():
    # hand: P = [0, 1], Q = [.5, .5]: the truth is ln 2; Keras adds ε·ln(ε/0.5) with ε = 1e-7 ≈ −1.5e-6
    report = run("kld", [[0.5, 0.5]], [[0.0, 1.0]])
    assert values(report)["batch_mean"] == pytest.approx(math.log(2), rel=1e-15)
    eps = float(np.float32(1e-7))
    assert_allclose(fw(report, "keras").value, math.log(2) + eps * math.log(eps / 0.5), rtol=1e-6)
    assert fw(report, "keras").convention is None


# --------------------------------------------------------------------------- real frameworks on random inputs


# Random inputs for every loss and framework entry: tests/test_frameworks_registry.py


# Edge cases where the epsilons show: exact 0 and 1, 1e-9, logits of ±30
EDGES = [
    ("bce", [[0.0], [1.0], [1e-9], [1 - 1e-9], [0.5]], [[0.0], [1.0], [1.0], [0.0], [1.0]], Params()),
    ("bce", [[0.0, 1.0], [1e-9, 0.5]], [[1.0, 1.0], [0.0, 0.0]], Params()),
    ("bce", [[30.0], [-30.0], [30.0], [-30.0]], [[1.0], [1.0], [0.0], [0.0]], LOGITS),
    ("cce", [[1.0, 0.0, 0.0], [1e-9, 1 - 1e-9, 0.0], [0.5, 0.5, 0.0]], np.eye(3)[[0, 0, 1]], Params()),
    ("cce", [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], np.eye(3)[[1, 0]], Params()),
    ("cce", [[30.0, -30.0, 0.0], [-30.0, 30.0, 0.0]], np.eye(3)[[1, 1]], LOGITS),
    ("sparse-cce", [[1.0, 0.0, 0.0], [1e-9, 1 - 1e-9, 0.0], [0.5, 0.5, 0.0]], [0, 0, 1], Params()),
    ("sparse-cce", [[1.0, 0.0], [0.0, 1.0]], [1, 1], Params()),
    ("sparse-cce", [[30.0, -30.0], [-30.0, 30.0]], [0, 0], LOGITS),
    ("kld", [[1e-9, 1 - 1e-9], [0.5, 0.5]], [[0.5, 0.5], [0.0, 1.0]], Params()),
    ("kld", [[0.0, 1.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]], Params()),
    ("kld", [[0.0, 1.0]], [[0.5, 0.5]], Params()),
    ("hinge", [[0.5], [2.0], [-1.0]], [[1.0], [0.0], [1.0]], Params()),
    ("hinge", [[0.5], [2.0], [-1.0]], [[1.0], [-1.0], [1.0]], Params()),
    ("squared-hinge", [[0.5, 2.0], [-1.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]], Params()),
    ("categorical-hinge", [[-1.0, -2.0, 0.5], [30.0, -30.0, 0.0]], np.eye(3)[[2, 1]], Params()),
]


@pytest.mark.parametrize("loss,y_pred,y_true,params", EDGES)
def test_edge_cases_match_real_frameworks(oracle, loss, y_pred, y_true, params):
    report = run(loss, y_pred, y_true, params=params)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true).reshape(-1).astype(np.int64) if loss == "sparse-cce" else np.asarray(y_true, float)
    assert report.frameworks
    for r in report.frameworks:
        real = oracle(r.call, y_pred, y_true)
        # inf and nan compare equal to inf and nan (assert_allclose), so undefined values must match too
        assert_allclose(r.value, real, **tolerance(r), err_msg=r.call)


def test_torch_kl_div_of_zero_by_zero_is_nan_as_in_pytorch(oracle):
    # P = Q with a zero: the KL is 0 (0·log 0/0 = 0); PyTorch computes 0·(−inf) = nan from log Q
    q = p = np.array([[0.0, 1.0], [0.5, 0.5]])
    report = run("kld", q, p)
    assert values(report)["batch_mean"] == 0.0
    torch_value = fw(report, "pytorch", "batchmean")
    assert math.isnan(torch_value.value) and math.isnan(oracle(torch_value.call, q, p))
    assert torch_value.convention is None


def test_soft_labels_give_nan_for_sklearn_which_refuses_them(oracle):
    y_pred, y_true = np.array([[0.9], [0.8]]), np.array([[0.3], [1.0]])
    report = run("bce", y_pred, y_true)
    sk = fw(report, "sklearn")
    assert math.isnan(sk.value)
    with pytest.raises(ValueError):
        oracle(sk.call, y_pred, y_true)
    assert any("soft targets" in n and "scikit-learn" in n for n in report.notes)
    assert_allclose(fw(report, "pytorch").value, oracle(fw(report, "pytorch").call, y_pred, y_true), rtol=1e-12)


def test_hinge_zero_one_and_plus_minus_one_labels_agree(oracle):
    y_pred = np.array([[0.5], [2.0], [-1.0], [0.2]])
    zero_one, pm_one = np.array([[1.0], [0.0], [1.0], [0.0]]), np.array([[1.0], [-1.0], [1.0], [-1.0]])
    a, b = run("hinge", y_pred, zero_one), run("hinge", y_pred, pm_one)
    assert values(a)["mean"] == values(b)["mean"] == pytest.approx((0.5 + 3 + 2 + 1.2) / 4, rel=1e-12)
    for ra, rb in zip(a.frameworks, b.frameworks, strict=True):
        assert ra.value == rb.value
        assert_allclose(ra.value, oracle(ra.call, y_pred, zero_one), **tolerance(ra))


def test_hinge_single_class_warns_about_sklearn(oracle):
    y_pred, y_true = np.array([[0.5], [2.0], [-1.0]]), np.ones((3, 1))
    report = run("hinge", y_pred, y_true)
    assert any("LabelBinarizer" in n for n in report.notes)
    sk = fw(report, "sklearn")
    # hand: labels +1 → 0.5, 0, 2 → 0.8333; sklearn reads them all as −1 → 1.5, 3, 0 → 1.5
    assert_allclose(sk.value, 2.5 / 3, rtol=1e-12)
    assert_allclose(oracle(sk.call, y_pred, y_true), 1.5, rtol=1e-12)


# --------------------------------------------------------------------------- properties


finite = st.floats(-20, 20, allow_nan=False)


@given(
    st.lists(st.lists(finite, min_size=2, max_size=5), min_size=1, max_size=6).filter(
        lambda rows: len({len(r) for r in rows}) == 1
    ),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=40, deadline=None)
def test_logits_equal_softmax_probabilities(z, seed):
    z = np.array(z)
    idx = np.random.default_rng(seed).integers(0, z.shape[1], size=len(z))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    a = values(run("sparse-cce", z, idx, params=LOGITS))
    b = values(run("sparse-cce", probs, idx))
    c = values(run("cce", z, np.eye(z.shape[1])[idx], params=LOGITS))
    for name in ("batch_mean", "mean", "sum"):
        assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-12)
        assert_allclose(a[name], c[name], rtol=1e-12, atol=1e-300)


@given(st.lists(st.tuples(st.floats(-30, 30), st.floats(0, 1)), min_size=1, max_size=10))
@settings(max_examples=40, deadline=None)
def test_bce_logits_equal_sigmoid_probabilities(pairs):
    z = np.array([[a] for a, _ in pairs])
    y = np.array([[b] for _, b in pairs])
    with np.errstate(over="ignore"):
        p = 1 / (1 + np.exp(-z))
    a = values(run("bce", z, y, params=LOGITS))["sum"]
    # the probability path loses digits in 1 − p as p nears 1 (that is why --logits exists), so compare only
    # where 1 − p keeps at least 10 digits
    if np.all((p > 1e-6) & (p < 1 - 1e-6)):
        assert_allclose(a, values(run("bce", p, y))["sum"], rtol=1e-8, atol=1e-12)
    assert np.isfinite(a)  # stable: never log(0), even for z = ±30


@given(st.integers(1, 8), st.integers(2, 5), st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_kld_is_cross_entropy_minus_entropy(n, k, seed):
    rng = np.random.default_rng(seed)
    q, p = rng.dirichlet(np.ones(k), size=n), rng.dirichlet(np.ones(k), size=n)
    kl = values(run("kld", q, p))["batch_mean"]
    ce, h = values(run("cce", q, p))["batch_mean"], values(run("cce", p, p))["batch_mean"]
    assert_allclose(kl, ce - h, rtol=1e-9, atol=1e-12)
    assert kl >= -1e-12  # Gibbs' inequality


@given(st.integers(1, 8), st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_bce_of_one_output_is_cce_of_two_classes(n, seed):
    rng = np.random.default_rng(seed)
    p, y = rng.uniform(0.01, 0.99, size=(n, 1)), rng.integers(0, 2, size=(n, 1)).astype(float)
    assert_allclose(
        values(run("bce", p, y))["mean"],
        values(run("cce", np.hstack([1 - p, p]), np.hstack([1 - y, y])))["batch_mean"],
        rtol=1e-12,
    )


@given(st.integers(1, 8), st.integers(2, 6), st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_keras_categorical_hinge_never_below_crammer_singer(n, k, seed):
    rng = np.random.default_rng(seed)
    s, y = rng.normal(size=(n, k)), np.eye(k)[rng.integers(0, k, size=n)]
    report = run("categorical-hinge", s, y)
    assert fw(report, "keras").value >= values(report)["batch_mean"] - 1e-6


# --------------------------------------------------------------------------- domain checks (core)


@pytest.mark.parametrize(
    "loss,y_pred,y_true,fragments",
    [
        (
            "cce",
            [[0.5, 1.2]],
            [[0.0, 1.0]],
            ["cce expects probabilities in [0, 1]", "row 1 column 2 has 1.2", "pass --logits"],
        ),
        ("sparse-cce", [[0.5, 0.5], [-0.3, 1.0]], [0, 1], ["sparse-cce expects probabilities", "row 2 column 1"]),
        ("bce", [[0.5], [0.5]], [[1.0], [2.0]], ["bce expects labels", "row 2 column 1 has 2"]),
        ("bce", [[1.5]], [[1.0]], ["bce expects probabilities", "pass --logits"]),
        ("kld", [[0.5, 0.5]], [[1.5, -0.5]], ["kld expects label probabilities", "row 1 column 1 has 1.5"]),
        ("hinge", [[0.5], [0.5]], [[1.0], [0.5]], ["hinge expects labels -1/+1 or 0/1", "row 2"]),
        ("hinge", [[0.5], [0.5], [0.1]], [[0.0], [1.0], [-1.0]], ["mix 0 and -1", "row 1 has 0", "row 3 has -1"]),
        ("squared-hinge", [[0.5]], [[2.0]], ["squared-hinge expects labels"]),
        ("categorical-hinge", [[0.5]], [[1.0]], ["at least 2 classes"]),
    ],
)
def test_domain_errors_name_the_file_and_row(loss, y_pred, y_true, fragments):
    spec = get_loss(loss)
    y_true = np.asarray(y_true)
    y_true = y_true.astype(np.int64) if spec.labels == "indices" else y_true.astype(float)
    batch = Chunk(np.asarray(y_pred, dtype=float), y_true)
    with pytest.raises(InputError) as e:
        compute(spec, [batch], names={"predictions": "p.csv", "labels": "y.csv"})
    message = str(e.value)
    assert "p.csv" in message or "y.csv" in message
    for fragment in fragments:
        assert fragment in message, message


def test_logits_skip_the_probability_check_and_warn_when_they_look_like_probabilities():
    report = run("cce", [[2.0, -1.0]], [[1.0, 0.0]], params=LOGITS)
    assert report.notes == ()
    report = run("bce", [[0.2], [0.9]], [[1.0], [0.0]], params=LOGITS)
    assert any("drop --logits" in n for n in report.notes)


def test_kld_warns_about_rows_that_do_not_sum_to_one():
    report = run("kld", [[0.2, 0.2]], [[0.5, 0.5]])
    assert any(
        "{predictions}" not in n and "neither lossctl, Keras nor PyTorch renormalizes" in n for n in report.notes
    )


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    "name,canonical",
    [
        ("categorical_crossentropy", "cce"),
        ("categorical-crossentropy", "cce"),
        ("sparse_categorical_crossentropy", "sparse-cce"),
        ("binary_crossentropy", "bce"),
        ("kullback_leibler_divergence", "kld"),
        ("kl_divergence", "kld"),
        ("kl-divergence", "kld"),
        ("squared_hinge", "squared-hinge"),
        ("categorical_hinge", "categorical-hinge"),
        ("hinge", "hinge"),
    ],
)
def test_aliases_work_on_the_command_line(cli, tmp_path, name, canonical):
    labels = ONEHOT
    if canonical == "sparse-cce":
        labels = INDEX
    elif canonical in ("hinge", "squared-hinge"):
        labels = ONEHOT  # 0/1 labels, read as −1/+1
    result = cli(name, PROBS, labels, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["loss"] == canonical


def test_cli_cross_entropy_mean_vs_batch_mean(cli):
    result = cli("cce", PROBS, ONEHOT, "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    conv = {c["name"]: c for c in doc["conventions"]}
    assert conv["batch_mean"]["n"] == 4 and conv["batch_mean"]["value"] == pytest.approx(sum(SAMPLE_CE) / 4, rel=1e-12)
    assert conv["mean"]["n"] == 12 and conv["mean"]["value"] == pytest.approx(sum(SAMPLE_CE) / 12, rel=1e-12)
    assert doc["primary"] == "batch_mean"
    assert {f["convention"] for f in doc["frameworks"] if "mistake" not in f["api"]} == {"batch_mean"}
    assert [f["framework"] for f in doc["frameworks"]] == ["pytorch", "pytorch", "keras", "sklearn"]


def test_cli_logits(cli, tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text("2,1,0.1\n0,0,0\n")
    labels = tmp_path / "y.csv"
    labels.write_text("1,0,0\n0,0,1\n")
    result = cli("cce", str(scores), str(labels), "--logits", "-f", "json", "-c", "batch_mean")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    # hand: ln(e² + e + e^0.1) − 2 (the classic softmax example) and ln 3 (three equal scores)
    assert doc["conventions"][0]["value"] == pytest.approx(
        (math.log(math.exp(2) + math.e + math.exp(0.1)) - 2 + math.log(3)) / 2, rel=1e-12
    )
    assert "logits:yes" in doc["signature"]
    assert {f["api"] for f in doc["frameworks"]} == {
        "torch.nn.CrossEntropyLoss()",
        "keras.losses.CategoricalCrossentropy(from_logits=True)",
    }
    without = cli("cce", str(scores), str(labels), "-f", "json")
    assert_error(
        without,
        "cce expects probabilities in [0, 1]",
        "scores.csv row 1 column 1 has 2",
        "pass --logits if these are scores",
    )


def test_cli_one_column_labels_switch_cce_to_sparse_cce(cli):
    result = cli("cce", PROBS, INDEX, "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["loss"] == "sparse-cce"
    assert {c["name"]: c.get("value") for c in doc["conventions"]}["batch_mean"] == pytest.approx(
        sum(SAMPLE_CE) / 4, rel=1e-12
    )
    assert "warning:" in result.stderr and "class_index.csv has one column" in result.stderr
    assert "sparse-cce" in result.stderr


@pytest.mark.parametrize(
    "loss,pred_rows,label_rows,fragments",
    [
        ("bce", "0.2\n0.7\n", "1\n3\n", ["bce expects labels", "y.csv row 2 column 1 has 3"]),
        ("kld", "0.5,0.5\n0.2,0.9\n", "0.5,0.5\n-1,2\n", ["kld expects label probabilities", "y.csv row 2"]),
        ("hinge", "0.5\n-0.5\n0.1\n", "1\n0\n-1\n", ["hinge labels mix 0 and -1", "y.csv row 2 has 0"]),
        ("sparse-cce", "0.5,0.5\n-0.1,1.1\n", "0\n1\n", ["sparse-cce expects probabilities", "p.csv row 2 column 1"]),
    ],
)
def test_cli_domain_errors_are_one_line_with_exit_2(cli, tmp_path, loss, pred_rows, label_rows, fragments):
    (tmp_path / "p.csv").write_text(pred_rows)
    (tmp_path / "y.csv").write_text(label_rows)
    assert_error(cli(loss, str(tmp_path / "p.csv"), str(tmp_path / "y.csv"), "-f", "json"), *fragments)


def test_cli_unnormalized_rows_warn_on_stderr(cli, tmp_path):
    (tmp_path / "p.csv").write_text("0.2,0.3\n0.5,0.5\n")
    (tmp_path / "y.csv").write_text("0,1\n1,0\n")
    result = cli("cce", str(tmp_path / "p.csv"), str(tmp_path / "y.csv"), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert f"warning: rows of {tmp_path / 'p.csv'} do not all sum to 1: Keras renormalizes" in result.stderr
    frameworks = {f["framework"]: f for f in json.loads(result.stdout)["frameworks"]}
    assert frameworks["keras"]["convention"] is None and frameworks["sklearn"]["convention"] == "batch_mean"


def test_cli_undefined_value_is_null_with_a_note(cli, tmp_path):
    (tmp_path / "p.csv").write_text("0,1\n0.5,0.5\n")
    (tmp_path / "y.csv").write_text("1,0\n1,0\n")
    result = cli("cce", str(tmp_path / "p.csv"), str(tmp_path / "y.csv"), "-f", "json")
    assert result.exit_code == 0, result.stderr
    conv = {c["name"]: c for c in json.loads(result.stdout)["conventions"]}
    assert conv["batch_mean"]["value"] is None
    assert "predicted probability is 0 where the label is positive" in conv["batch_mean"]["note"]
    assert "row 1" in conv["batch_mean"]["note"]


def test_explain_shows_the_formula_and_the_cross_entropy_pitfall(cli):
    result = cli("explain", "categorical_crossentropy")
    assert result.exit_code == 0, result.stderr
    assert "−y[i,k]·log ŷ[i,k]" in result.stdout
    assert "the classic mistake, K× too small" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    "loss,role", [("cce", "predictions"), ("cce", "labels"), ("kld", "predictions"), ("kld", "labels")]
)
@pytest.mark.parametrize("off,warned", [(0.9e-6, False), (-0.9e-6, False), (1.1e-6, True), (-1.1e-6, True)])
def test_rows_sum_to_one_within_one_in_a_million(loss, role, off, warned):
    """Rows off by up to 1e-6 (rounding in a saved file) pass quietly; beyond that a warning names the file."""
    good = np.array([[0.3, 0.7], [0.5, 0.5]])
    bad = good + np.array([[0.0, off], [0.0, 0.0]])
    y_pred, y_true = (bad, good) if role == "predictions" else (good, bad)
    notes = [n for n in run(loss, y_pred, y_true).notes if "do not all sum to 1" in n]
    assert bool(notes) is warned, notes
    if warned:
        assert notes[0].startswith(f"rows of {role} do not all sum to 1")
