"""Regression and similarity losses: hand-checked conventions, the real frameworks as oracles, the CLI.

mae, mape, msle, huber, logcosh, poisson and cosine. Every expected value below
is computed by hand (or by an independent formula, named in the provenance) and
never by the function under test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from lossctl.cli import app
from lossctl.errors import InputError
from lossctl.losses import LOSSES, Chunk, Params, get_loss
from tests.conftest import run, values

LOG2, LOG3 = math.log(2.0), math.log(3.0)
SQRT_HALF = math.sqrt(0.5)

# ---------------------------------------------------------------------------------------------------
# Convention values against hand-checked numbers
# ---------------------------------------------------------------------------------------------------

# (loss, y_pred, y_true, delta, {convention: expected}, provenance)
CASES = [
    (
        "mae",
        [[1.0, 2.0], [3.0, 5.0]],
        [[1.5, 2.0], [2.0, 2.0]],
        1.0,
        {
            "mean": 1.125,
            "batch_mean": 2.25,
            "sum_of_sample_means": 2.25,
            "sum": 4.5,
            "per_sample": [0.25, 2.0],
            "per_output": [0.75, 1.5],
        },
        "hand: |e| = 0.5, 0, 1, 3; sum 4.5 over N·K = 4, N = 2, K = 2",
    ),
    (
        "mae",
        [0.6, 1.29, 1.99, 2.69, 3.4],
        [1, 1, 2, 2, 4],
        1.0,
        {"mean": 0.398, "batch_mean": 0.398, "sum": 1.99},
        "hand: 0.4 + 0.29 + 0.01 + 0.69 + 0.6 = 1.99 over 5",
    ),
    (
        "mape",
        [[1.0, -5.0], [12.0, 1.0]],
        [[2.0, -4.0], [10.0, 0.5]],
        1.0,
        {
            "mean": 48.75,
            "batch_mean": 97.5,
            "sum_of_sample_means": 97.5,
            "sum": 195.0,
            "per_sample": [37.5, 60.0],
            "per_output": [35.0, 62.5],
        },
        "hand: 100·(1/2, 1/4, 2/10, 0.5/0.5) = 50, 25, 20, 100 (negative labels by magnitude)",
    ),
    (
        "mape",
        [1.5, 1.0, 5.0],
        [1.0, 2.0, 4.0],
        1.0,
        {"mean": 125 / 3, "sum": 125.0},
        "hand: 50% + 50% + 25% = 125 over 3",
    ),
    (
        "msle",
        [[math.e - 1, 0.0]],
        [[0.0, math.e**2 - 1]],
        1.0,
        {"mean": 2.5, "batch_mean": 5.0, "sum": 5.0, "half_sum": 2.5, "half_mean": 1.25, "half_batch_mean": 2.5},
        "hand: log(1 + x) = 1, 0 against 0, 2; squared differences 1 and 4",
    ),
    (
        "msle",
        [2.5, 5.0, 4.0, 8.0],
        [3.0, 5.0, 2.5, 7.0],
        1.0,
        {"mean": float(np.mean(np.log([3.5 / 4, 1.0, 5 / 3.5, 9 / 8]) ** 2))},
        "log ratios (3.5/4, 6/6, 5/3.5, 9/8) squared, mean 0.03973; sklearn's docstring example says 0.039...",
    ),
    (
        "msle",
        [0.5],
        [-0.5],
        1.0,
        {"mean": LOG3**2},
        "hand: log(1.5) − log(0.5) = log 3; conventions.md §6: sklearn keeps values in (−1, 0) as they are",
    ),
    (
        "huber",
        [0.5, 2.0, -3.0],
        [0.0, 0.0, 0.0],
        1.0,
        {"mean": 1.375, "sum": 4.125},
        "conventions.md §15: 0.125 + 1.5 + 2.5 at δ = 1 gives 1.375 in Keras, PyTorch and optax",
    ),
    (
        "huber",
        [0.5, 2.0, -3.0],
        [0.0, 0.0, 0.0],
        2.0,
        {"mean": 6.125 / 3, "sum": 6.125},
        "conventions.md §15: 0.125 + 2 + 2·(3 − 1) = 6.125 at δ = 2, mean 2.0417",
    ),
    (
        "huber",
        [[1.0, -2.0, 0.25]],
        [[0.0, -1.0, 1.25]],
        1.0,
        {"mean": 0.5, "batch_mean": 1.5},
        "hand: |e| = δ exactly: ½·1² = 1·(1 − ½) = 0.5 for each of the three",
    ),
    (
        "huber",
        [0.25, 1.0],
        [0.0, 0.0],
        0.5,
        {"mean": (0.03125 + 0.375) / 2},
        "hand: δ = 0.5: ½·0.0625 = 0.03125 and 0.5·(1 − 0.25) = 0.375",
    ),
    (
        "logcosh",
        [[LOG2, 0.0, 0.0]],
        [[0.0, LOG3, 0.0]],
        1.0,
        {"mean": (math.log(1.25) + math.log(5 / 3)) / 3, "sum": math.log(1.25) + math.log(5 / 3)},
        "hand: cosh(log 2) = (2 + ½)/2 = 1.25, cosh(log 3) = (3 + ⅓)/2 = 5/3, cosh 0 = 1",
    ),
    (
        "logcosh",
        [1e-9, 1000.0, -800.0],
        [0.0, 0.0, 0.0],
        1.0,
        {"sum": 5e-19 + (1000 - LOG2) + (800 - LOG2)},
        "hand: log cosh d ≈ d²/2 for tiny d (next term d⁴/12 is 1e-37), |d| − log 2 for large d; no overflow",
    ),
    (
        "poisson",
        [0.5, 1.5, 2.0],
        [0.0, 1.0, 3.0],
        1.0,
        {"mean": (0.5 + 1.5 - math.log(1.5) + 2.0 - 3 * LOG2) / 3},
        "conventions.md §13: 0.50503, equal to Keras and torch PoissonNLLLoss(log_input=False)",
    ),
    (
        "poisson",
        [[0.0, 2.0]],
        [[0.0, 2.0]],
        1.0,
        {"mean": (2 - 2 * LOG2) / 2, "per_sample": [(2 - 2 * LOG2) / 2]},
        "hand: ŷ = y = 0 gives 0 (y·log ŷ → 0); ŷ = y = 2 gives 2 − 2·log 2: not zero at a perfect prediction",
    ),
    (
        "cosine",
        [[1.0, 1.0], [-1.0, -1.0]],
        [[1.0, 0.0], [1.0, 1.0]],
        1.0,
        {"batch_mean": (1 - SQRT_HALF) / 2, "sum": 1 - SQRT_HALF, "per_sample": [-SQRT_HALF, 1.0]},
        "conventions.md §14: u = [[1,0],[1,1]], v = [[1,1],[−1,−1]]: Keras per-sample [−0.7071, +1.0], mean 0.1464",
    ),
    (
        "cosine",
        [[3.0, 4.0], [3.0, 4.0]],
        [[6.0, 8.0], [-4.0, 3.0]],
        1.0,
        {"batch_mean": -0.5, "per_sample": [-1.0, 0.0]},
        "hand: parallel rows give −1 whatever their lengths; (3,4)·(−4,3) = 0 is orthogonal",
    ),
    (
        "cosine",
        [[0.0, 1.0], [1e200, 1e200]],
        [[0.0, 7e-232], [1e200, 0.0]],
        1.0,
        {"per_sample": [-1.0, -SQRT_HALF]},
        "hand: directions (0,1)·(0,1) and (1,1)·(1,0); squaring 7e-232 or 1e200 would under/overflow",
    ),
]


@pytest.mark.parametrize("name,y_pred,y_true,delta,expected,provenance", CASES)
def test_conventions_hand_checked(name, y_pred, y_true, delta, expected, provenance):
    got = values(run(name, y_pred, y_true, params=Params(delta=delta)))
    for convention, value in expected.items():
        assert_allclose(got[convention], value, rtol=1e-12, atol=1e-300, err_msg=f"{convention}: {provenance}")


def test_weighted_conventions_hand_checked():
    # cosine per-sample −1/√2 and +1 (conventions.md §14) with weights 1 and 3
    got = values(run("cosine", [[1.0, 1.0], [-1.0, -1.0]], [[1.0, 0.0], [1.0, 1.0]], weights=[1.0, 3.0]))
    assert_allclose(got["weighted_mean"], (3 - SQRT_HALF) / 4, rtol=1e-12)
    assert_allclose(got["weighted_batch_mean"], (3 - SQRT_HALF) / 2, rtol=1e-12)
    assert_allclose(got["weighted_sum"], 3 - SQRT_HALF, rtol=1e-12)
    # mae per-sample 0.25 and 2.0 (first case above) with weights 2 and 0
    got = values(run("mae", [[1.0, 2.0], [3.0, 5.0]], [[1.5, 2.0], [2.0, 2.0]], weights=[2.0, 0.0]))
    assert got["weighted_mean"] == pytest.approx(0.25, rel=1e-12)
    assert got["weighted_batch_mean"] == pytest.approx(0.25, rel=1e-12)


@pytest.mark.parametrize(
    "name,squared,kind,primary",
    [
        ("mae", False, "element", "mean"),
        ("mape", False, "element", "mean"),
        ("msle", True, "element", "mean"),
        ("huber", False, "element", "mean"),
        ("logcosh", False, "element", "mean"),
        ("poisson", False, "element", "mean"),
        ("cosine", False, "sample", "batch_mean"),
    ],
)
def test_convention_grid(name, squared, kind, primary):
    loss = get_loss(name)
    assert (loss.squared, loss.kind, loss.primary) == (squared, kind, primary)
    names = [c.name for c in run(name, [[0.5, 0.6]], [[0.4, 0.9]]).conventions]
    if kind == "sample":
        assert names == ["batch_mean", "sum", "per_sample"]
    else:
        halves = ["half_mean", "half_batch_mean", "half_sum"] if squared else []
        assert names == ["mean", "batch_mean", "sum_of_sample_means", "sum", *halves, "per_sample", "per_output"]


# ---------------------------------------------------------------------------------------------------
# Undefined mathematics: None with a note, never a silent inf or nan
# ---------------------------------------------------------------------------------------------------

UNDEFINED = [
    ("mape", [[1.5], [0.5]], [[1.0], [0.0]], "division by a label of 0", 2),
    ("mape", [[0.0], [2.0]], [[0.0], [1.0]], "division by a label of 0", 1),  # 0/0
    (
        "poisson",
        [[1.0, 0.0]],
        [[1.0, 2.0]],
        "log 0 or a negative rate: a predicted rate of 0 where the label is positive, or a rate < 0",
        1,
    ),
    (
        "poisson",
        [[1.0], [-0.5]],
        [[1.0], [0.0]],
        "log 0 or a negative rate: a predicted rate of 0 where the label is positive, or a rate < 0",
        2,
    ),
    ("cosine", [[1.0, 1.0], [0.0, 0.0]], [[1.0, 0.0], [1.0, 1.0]], "0/0: an all-zero row has no direction", 2),
    ("cosine", [[1.0, 1.0]], [[0.0, 0.0]], "0/0: an all-zero row has no direction", 1),
]


@pytest.mark.parametrize("name,y_pred,y_true,why,row", UNDEFINED)
def test_undefined_values_are_none_with_a_note(name, y_pred, y_true, why, row):
    report = run(name, y_pred, y_true, weights=np.ones(len(y_pred)))
    for c in report.conventions:
        assert c.note == f"undefined: {why} (first at row {row})", c.name
        if c.name == "per_sample":
            assert not np.isfinite(c.value[row - 1])
        elif c.vector:
            assert not np.isfinite(c.value).all()
        else:
            assert c.value is None, c.name
    # each framework reports its own (epsilon-floored) number, which equals no convention
    for r in report.frameworks:
        assert r.convention is None, r
        assert r.note


def test_undefined_reaches_json_as_null(tmp_path):
    preds, labels = tmp_path / "p.csv", tmp_path / "y.csv"
    preds.write_text("1.5\n0.5\n")
    labels.write_text("1\n0\n")
    result = CliRunner().invoke(app, ["mape", str(preds), str(labels), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    by_name = {c["name"]: c for c in doc["conventions"]}
    assert by_name["mean"]["value"] is None and "division by a label of 0" in by_name["mean"]["note"]
    # row 2 is inf (division by 0): min 50, the rest inf -> null, and argmax_row is that row
    assert by_name["per_sample"]["summary"] == {
        "count": 2,
        "min": 50.0,
        "median": None,
        "mean": None,
        "max": None,
        "argmax_row": 2,
    }
    named = CliRunner().invoke(app, ["mape", str(preds), str(labels), "-f", "json", "-c", "per_sample"])
    assert json.loads(named.stdout)["conventions"][0]["value"] == [50.0, None]
    keras = next(f for f in doc["frameworks"] if f["framework"] == "keras")
    assert keras["convention"] is None and keras["value"] == pytest.approx(0.5 * (50 + 0.5 / 1e-7 * 100), rel=2e-6)


@pytest.mark.parametrize(
    "name,y_pred,y_true,message",
    [
        ("poisson", [[0.5, 0.5]], [[1.0, -2.0]], "poisson expects labels that are counts ≥ 0; labels row 1 column 2"),
    ],
)
def test_out_of_domain_input_is_an_error(name, y_pred, y_true, message):
    with pytest.raises(InputError) as e:
        run(name, y_pred, y_true)
    assert message in str(e.value)


def test_msle_accepts_values_just_above_minus_one():
    got = values(run("msle", [-0.999999], [0.5]))
    assert_allclose(got["mean"], (math.log(1e-6) - math.log(1.5)) ** 2, rtol=1e-9)  # log1p(−0.999999) = log(1e-6)


def test_cosine_warns_about_one_column():
    report = run("cosine", [[1.0], [-2.0]], [[3.0], [4.0]])
    assert values(report)["per_sample"].tolist() == [-1.0, 1.0]  # hand: sign agreement only
    assert any("one-column rows" in n for n in report.notes)
    assert not run("cosine", [[1.0, 0.0]], [[1.0, 1.0]]).notes


# ---------------------------------------------------------------------------------------------------
# The real frameworks as oracles
# ---------------------------------------------------------------------------------------------------


def _rtol(framework: str) -> float:
    return 2e-6 if framework == "keras" else 1e-12


def test_huber_calls_carry_delta():
    report = run("huber", [1.0], [0.0], params=Params(delta=2.5))
    calls = {r.api: r.call for r in report.frameworks}
    assert "delta=2.5)" in calls["torch.nn.HuberLoss()"]
    assert "beta=2.5)" in calls["torch.nn.SmoothL1Loss()"]
    assert calls["keras.losses.Huber()"].startswith("keras.losses.Huber(delta=2.5)(")


# Edge cases where the frameworks' epsilons, floors and clamps show. Each framework value must still be what
# the real framework returns on these arrays.
EDGES = [
    (
        "mape",
        [[1.5, 0.5], [0.0, 1.0]],
        [[1.0, 0.0], [0.0, -2.0]],
        "labels of 0: Keras floors |y| at 1e-7, sklearn 2.2e-16",
    ),
    ("mape", [[1e-9], [3.0]], [[0.0], [1e-9]], "tiny and zero labels"),
    ("cosine", [[0.0, 0.0], [1.0, 2.0]], [[1.0, 0.0], [2.0, 1.0]], "zero prediction row"),
    ("cosine", [[1.0, 2.0], [1e-9, 0.0]], [[0.0, 0.0], [1.0, 0.0]], "zero label row; a row shorter than 1e-7"),
    ("huber", [[1.0, -1.0, 3.0]], [[0.0, 0.0, 2.0]], "|e| == δ at δ = 1"),
    ("huber", [[2.5, -2.5]], [[0.0, 0.0]], "|e| == δ at δ = 2.5 (SmoothL1 = Huber/2.5)"),
    ("msle", [[-0.999999, 0.5], [-0.5, 2.0]], [[0.5, -0.9], [-0.5, 0.0]], "near −1: Keras clamps to 1e-7"),
    ("poisson", [[0.0, 0.5], [1.0, 0.0]], [[0.0, 1.0], [2.0, 3.0]], "zero rates, with a zero and positive count"),
    ("logcosh", [[1000.0, -800.0, 30.0]], [[0.0, 0.0, 0.0]], "huge errors: no overflow"),
]


@pytest.mark.parametrize("name,y_pred,y_true,why", EDGES)
def test_edge_cases_match_real_frameworks(oracle, name, y_pred, y_true, why):
    y_pred, y_true = np.array(y_pred, dtype=np.float64), np.array(y_true, dtype=np.float64)
    delta = 2.5 if "2.5" in why else 1.0
    report = run(name, y_pred, y_true, params=Params(delta=delta))
    assert report.frameworks
    for r in report.frameworks:
        if not math.isfinite(r.value):
            continue  # see test_sklearn_poisson_deviance_refuses_zero_rates
        real = oracle(r.call, y_pred, y_true)
        assert_allclose(r.value, real, rtol=_rtol(r.framework), err_msg=f"{why}: {r.call}")


def test_sklearn_poisson_deviance_refuses_zero_rates(oracle):
    y_pred, y_true = np.array([[0.0], [1.0]]), np.array([[1.0], [1.0]])
    (deviance,) = [r for r in run("poisson", y_pred, y_true).frameworks if r.framework == "sklearn"]
    assert math.isnan(deviance.value) and deviance.convention is None
    with pytest.raises(ValueError, match="strictly positive y_pred"):
        oracle(deviance.call, y_pred, y_true)


def test_epsilons_make_frameworks_differ_where_the_mathematics_does():
    # msle with a label of −0.5: Keras lifts it to 1e-7 (conventions.md §6), sklearn does not
    report = run("msle", [[0.5]], [[-0.5]])
    by_api = {r.api: r for r in report.frameworks}
    keras = by_api["keras.losses.MeanSquaredLogarithmicError()"]
    assert keras.convention is None and keras.value == pytest.approx(math.log(1.5) ** 2, rel=1e-6)
    assert by_api["sklearn.metrics.mean_squared_log_error"].convention == "mean"
    # poisson y=[0,1,3], ŷ=[.5,1.5,2] (conventions.md §13): torch's default reads ŷ as log-rates → 2.0065
    report = run("poisson", [0.5, 1.5, 2.0], [0.0, 1.0, 3.0])
    by_api = {r.api: r for r in report.frameworks}
    assert by_api["torch.nn.PoissonNLLLoss()"].value == pytest.approx(2.0065, abs=1e-4)
    assert by_api["keras.losses.Poisson()"].value == pytest.approx(0.50503, abs=1e-5)
    assert by_api["sklearn.metrics.mean_poisson_deviance"].value == pytest.approx(0.54062, abs=1e-5)
    # cosine: torch's CosineEmbeddingLoss is 1 − cos (conventions.md §14: 1.1464)
    report = run("cosine", [[1.0, 1.0], [-1.0, -1.0]], [[1.0, 0.0], [1.0, 1.0]])
    (torch_entry,) = [r for r in report.frameworks if r.framework == "pytorch"]
    assert torch_entry.value == pytest.approx(1.1464466, rel=1e-7)


# ---------------------------------------------------------------------------------------------------
# Properties (hypothesis), each against an independent formula
# ---------------------------------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False)
rows = st.lists(finite, min_size=1, max_size=6)


def _terms(name: str, y_pred, y_true, delta: float = 1.0) -> np.ndarray:
    b = Chunk(np.atleast_2d(np.asarray(y_pred, dtype=np.float64)), np.atleast_2d(np.asarray(y_true, dtype=np.float64)))
    with np.errstate(all="ignore"):
        return LOSSES[name].terms(b, Params(delta=delta))


@given(e=rows, delta=st.floats(0.01, 100.0))
def test_huber_equals_optax_form(e, delta):
    # optax: ½·min(|e|,δ)² + δ·(|e| − min(|e|,δ)), a different formula for the same function
    e = np.asarray(e)
    m = np.minimum(np.abs(e), delta)
    assert_allclose(_terms("huber", e, np.zeros_like(e), delta)[0], 0.5 * m**2 + delta * (np.abs(e) - m), rtol=1e-12)


@given(e=st.floats(-0.01, 0.01))
def test_logcosh_small_errors_match_the_taylor_series(e):
    # log cosh x = x²/2 − x⁴/12 + x⁶/45 − 17x⁸/2520 + …; the next term is below 1e-20 relative here
    series = e**2 / 2 - e**4 / 12 + e**6 / 45 - 17 * e**8 / 2520
    assert_allclose(_terms("logcosh", [e], [0.0])[0, 0], series, rtol=1e-13, atol=1e-300)


@given(e=st.floats(0.01, 700.0))
def test_logcosh_matches_log_of_cosh_where_that_is_accurate(e):
    assert_allclose(_terms("logcosh", [-e], [0.0])[0, 0], np.log(np.cosh(e)), rtol=1e-9)


@given(y_pred=rows, y_true=rows, scale=st.floats(1e-3, 1e3), flip=st.sampled_from([1.0, -1.0]))
@settings(max_examples=50)
def test_mape_is_scale_free(y_pred, y_true, scale, flip):
    n = min(len(y_pred), len(y_true))
    y_pred, y_true = np.asarray(y_pred[:n]), np.asarray(y_true[:n])
    y_true = np.where(np.abs(y_true) < 1e-3, 1.0, y_true)
    c = scale * flip
    assert_allclose(_terms("mape", c * y_pred, c * y_true), _terms("mape", y_pred, y_true), rtol=1e-9)


@given(
    st.integers(1, 6).flatmap(
        lambda k: st.tuples(
            st.lists(finite, min_size=k, max_size=k),
            st.lists(finite, min_size=k, max_size=k),
            st.floats(1e-3, 1e3),
        )
    )
)
def test_cosine_is_bounded_and_ignores_length(case):
    y_pred, y_true, scale = (np.asarray(case[0]), np.asarray(case[1]), case[2])
    if not (np.any(y_pred) and np.any(y_true)):
        return
    value = _terms("cosine", y_pred, y_true)[0]
    assert -1 - 1e-12 <= value <= 1 + 1e-12
    assert_allclose(_terms("cosine", scale * y_pred, y_true)[0], value, rtol=1e-9, atol=1e-12)
    assert_allclose(_terms("cosine", scale * y_true, y_true)[0], -1.0, rtol=1e-12)


@given(rate=st.floats(0.01, 100.0), count=st.integers(1, 200))
def test_poisson_is_smallest_at_the_count(rate, count):
    # d/dŷ (ŷ − y·log ŷ) = 1 − y/ŷ vanishes at ŷ = y
    assert _terms("poisson", [rate], [count])[0, 0] >= _terms("poisson", [float(count)], [count])[0, 0] - 1e-12


# ---------------------------------------------------------------------------------------------------
# Command line: aliases, --delta, explain
# ---------------------------------------------------------------------------------------------------

ALIASES = {
    "mae": ["mean_absolute_error", "mean-absolute-error", "l1"],
    "mape": ["mean_absolute_percentage_error", "mean-absolute-percentage-error"],
    "msle": ["mean_squared_logarithmic_error", "mean-squared-logarithmic-error"],
    "huber": [],
    "logcosh": ["log_cosh", "log-cosh"],
    "poisson": [],
    "cosine": ["cosine_similarity", "cosine-similarity", "cosine_proximity", "cosine-proximity"],
}


@pytest.fixture
def files(tmp_path):
    preds, labels = tmp_path / "preds.csv", tmp_path / "labels.csv"
    preds.write_text("0.5,1.5\n2.0,0.25\n")
    labels.write_text("1.0,1.0\n3.0,0.5\n")
    return str(preds), str(labels)


@pytest.mark.parametrize("name,alias", [(n, a) for n, aliases in ALIASES.items() for a in [n, *aliases]])
def test_every_alias_resolves(cli, files, name, alias):
    result = cli(alias, *files, "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["loss"] == name and doc["shape"] == [2, 2]
    assert doc["signature"].startswith(f"loss:{name}|")


def test_aliases_are_registered():
    for name, aliases in ALIASES.items():
        assert {a for a in aliases if "-" not in a} == set(get_loss(name).aliases)


def test_delta_changes_huber(cli, tmp_path):
    preds, labels = tmp_path / "p.csv", tmp_path / "y.csv"
    preds.write_text("0.5\n2\n-3\n")
    labels.write_text("0\n0\n0\n")
    default = cli("huber", str(preds), str(labels), "-f", "plain", "-c", "mean")
    wide = cli("huber", str(preds), str(labels), "-f", "plain", "-c", "mean", "--delta", "2")
    assert default.exit_code == wide.exit_code == 0, (default.stderr, wide.stderr)
    assert float(default.stdout) == pytest.approx(1.375, rel=1e-12)  # conventions.md §15
    assert float(wide.stdout) == pytest.approx(6.125 / 3, rel=1e-12)
    doc = json.loads(cli("huber", str(preds), str(labels), "-f", "json", "--delta", "2").stdout)
    assert doc["delta"] == 2.0 and "|delta:2|" in doc["signature"]
    assert all("delta=2.0" in f["call"] or "beta=2.0" in f["call"] for f in doc["frameworks"])


def test_delta_is_only_an_option_of_huber(cli, files):
    result = cli("mae", *files, "--delta", "2")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "--delta" in result.stderr


def test_domain_error_on_the_command_line(cli, tmp_path):
    preds, labels = tmp_path / "p.csv", tmp_path / "y.csv"
    preds.write_text("0.5\n1.5\n")
    labels.write_text("1\n-1\n")
    result = cli("poisson", str(preds), str(labels))
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert (
        lines[0].startswith("error: poisson expects labels that are counts ≥ 0")
        and "y.csv row 2 column 1 has -1" in lines[0]
    )


def test_msle_below_minus_one_is_undefined_on_the_command_line(cli, tmp_path):
    """Keras computes msle on any value, so lossctl shows the rows instead of refusing (issue 11 part 4)."""
    preds, labels = tmp_path / "p.csv", tmp_path / "y.csv"
    preds.write_text("0.5\n-1.5\n")
    labels.write_text("1\n1\n")
    result = cli("msle", str(preds), str(labels), "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    mean = next(c for c in doc["conventions"] if c["name"] == "mean")
    assert mean["value"] is None and mean["note"] == "undefined: log(1 + x) of a value ≤ -1 (first at row 2)"
    keras = next(f for f in doc["frameworks"] if f["framework"] == "keras")
    assert keras["value"] is not None and math.isfinite(keras["value"])


@pytest.mark.parametrize("name", list(LOSSES))
def test_explain(name):
    loss = get_loss(name)
    result = CliRunner().invoke(app, ["explain", loss.aliases[0] if loss.aliases else name], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(name)
    assert loss.summary in out
    assert loss.formula.splitlines()[0].strip() in out
    assert "Pitfalls:" in out and loss.pitfalls[0][:40] in out
    for fw in loss.frameworks:
        assert fw.api in out


@pytest.mark.parametrize("name", list(LOSSES))
def test_docstrings_have_formula_doctest_and_pitfalls(name):
    loss = get_loss(name)
    doc = loss.terms.__doc__ or ""
    assert loss.summary and loss.formula and ">>>" in doc
    assert len(loss.pitfalls) >= 3
    assert loss.expects and loss.frameworks
