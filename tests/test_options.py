"""The options that change the number: hand-checked terms and divisors, properties, and the CLI's refusals.

Every expected value below is worked out on paper from the formula (logs of powers of two,
so each is a small multiple of ln 2); the framework rows are checked against the real
frameworks in tests/test_frameworks_registry.py, which tries every option's example values.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from lossctl.losses import Params
from tests.conftest import assert_error, run

LN2 = math.log(2.0)
#: rows whose logs are multiples of ln 2
P3 = [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5]]


def conv(report, name):
    return report.convention(name)


def framework(report, framework: str):
    return next(r for r in report.frameworks if r.framework == framework)


# --------------------------------------------------------------------------- class weights


def test_class_weights_divide_by_the_targets_weights():
    # terms: w[0]·(−log .5) = ln2, w[2]·(−log .25) = 2·2ln2, w[2]·(−log .5) = 2·ln2 → Σ = 7 ln2
    # Σ w[y] = 1 + 2 + 2 = 5 (PyTorch's divisor), N = 3
    r = run("sparse-cce", P3, [0, 2, 2], params=Params(class_weights=(1.0, 3.0, 2.0)))
    cw = conv(r, "class_weighted_mean")
    assert (cw.divisor, cw.n) == ("sum(w[y])", 5.0)
    assert_allclose(cw.value, 7 * LN2 / 5, rtol=1e-14)
    assert (conv(r, "batch_mean").n, conv(r, "batch_mean").value) == (3.0, pytest.approx(7 * LN2 / 3, rel=1e-14))
    torch_row = framework(r, "pytorch")
    assert torch_row.convention == "class_weighted_mean"
    assert_allclose(torch_row.value, 7 * LN2 / 5, rtol=1e-14)
    assert "weight=torch.tensor([1.0, 3.0, 2.0])" in torch_row.call
    assert [f.framework for f in r.frameworks] == ["pytorch"]  # Keras and scikit-learn have no class weights


def test_class_weights_on_probability_targets_divide_by_n_in_pytorch():
    # cce with one-hot rows: the same terms (7 ln2); Σ_i Σ_k w_k·y[i,k] = 5 still shown, but PyTorch's
    # cross_entropy on probability targets divides by N = 3
    onehot = np.eye(3)[[0, 2, 2]]
    scores = np.log(np.array(P3))  # log-softmax of log p is log p: rows sum to 1
    r = run("cce", scores, onehot, params=Params(logits=True, class_weights=(1.0, 3.0, 2.0)))
    assert conv(r, "class_weighted_mean").n == 5.0
    torch_row = framework(r, "pytorch")
    assert torch_row.convention == "batch_mean"
    assert_allclose(torch_row.value, 7 * LN2 / 3, rtol=1e-13)


def test_bce_class_weights_rescale_columns_and_keep_the_divisor():
    # z = 0: every term is ln2; column weights 1 and 3 → ln2 + 3 ln2 over N·K = 2
    r = run("bce", [[0.0, 0.0]], [[1.0, 0.0]], params=Params(logits=True, class_weights=(1.0, 3.0)))
    assert (conv(r, "mean").n, conv(r, "mean").value) == (2.0, pytest.approx(2 * LN2, rel=1e-14))
    assert "class_weighted_mean" not in [c.name for c in r.conventions]
    assert_allclose(framework(r, "pytorch").value, 2 * LN2, rtol=1e-14)


# --------------------------------------------------------------------------- ignore_index


def test_ignored_rows_leave_every_divisor():
    # rows 1 and 3 kept: −log .5 = ln2 each; row 2 (label −100) ignored
    w = [1.0, 5.0, 3.0]
    r = run("sparse-cce", P3, [0, -100, 2], weights=w, params=Params(ignore_index=-100))
    assert r.shape == (2, 3)
    expected = {
        "mean": (6.0, 2 * LN2 / 6),
        "batch_mean": (2.0, LN2),
        "sum": (1.0, 2 * LN2),
        "weighted_mean": (4.0, (1 + 3) * LN2 / 4),  # Σw of the kept rows: 1 + 3, not 9
        "weighted_batch_mean": (2.0, 4 * LN2 / 2),
    }
    for name, (n, value) in expected.items():
        c = conv(r, name)
        assert c.n == n, name
        assert_allclose(c.value, value, rtol=1e-14, err_msg=name)
    assert any("1 of 3 rows ignored" in note for note in r.notes)


def test_ignore_index_and_class_weights_together():
    # kept: w[0]·ln2 + w[2]·ln2 = 3 ln2 over Σ w[y] = 1 + 2 (the ignored row's class weight leaves it too)
    r = run("sparse-cce", P3, [0, 1, 2], params=Params(ignore_index=1, class_weights=(1.0, 3.0, 2.0)))
    assert conv(r, "class_weighted_mean").n == 3.0
    assert_allclose(conv(r, "class_weighted_mean").value, LN2, rtol=1e-14)


def test_every_row_ignored_is_an_error():
    from lossctl.errors import InputError

    with pytest.raises(InputError, match="every row of labels is labelled --ignore-index 2"):
        run("sparse-cce", P3, [2, 2, 2], params=Params(ignore_index=2))


# --------------------------------------------------------------------------- label smoothing


def test_cce_label_smoothing_spreads_eps_over_the_classes():
    # ε = 0.3, K = 3: ỹ = [0.7 + 0.1, 0.1, 0.1]; e = 0.8·ln2 + 0.1·2ln2 + 0.1·2ln2 = 1.2 ln2; ÷ N = 1
    r = run("cce", [P3[0]], [[1.0, 0.0, 0.0]], params=Params(label_smoothing=0.3))
    assert_allclose(conv(r, "batch_mean").value, 1.2 * LN2, rtol=1e-14)
    keras = framework(r, "keras")
    assert "label_smoothing=0.3" in keras.call
    assert_allclose(keras.value, 1.2 * LN2, rtol=2e-6)
    assert [f.framework for f in r.frameworks] == ["keras"]  # scikit-learn has none; PyTorch here needs logits


def test_sparse_label_smoothing_matches_pytorchs_form():
    # PyTorch: (1−ε)·(−log p_t) + (ε/K)·Σ_k (−log p_k); row 1 of P3, t = 0, ε = 0.3:
    # 0.7·ln2 + 0.1·(ln2 + 2ln2 + 2ln2) = 1.2 ln2 — the same as smoothing the one-hot target
    r = run("sparse-cce", [P3[0]], [0], params=Params(label_smoothing=0.3))
    assert_allclose(conv(r, "batch_mean").value, 1.2 * LN2, rtol=1e-14)
    assert r.frameworks == ()  # nll_loss and Keras's sparse loss have no smoothing; scikit-learn none


def test_bce_label_smoothing_squeezes_toward_a_half():
    # ε = 0.2: ỹ = 1·0.8 + 0.1 = 0.9; e = −0.9·log 0.8 − 0.1·log 0.2
    r = run("bce", [[0.8]], [[1.0]], params=Params(label_smoothing=0.2))
    expected = -0.9 * math.log(0.8) - 0.1 * math.log(0.2)
    assert_allclose(conv(r, "mean").value, expected, rtol=1e-14)
    assert [f.framework for f in r.frameworks] == ["keras"]  # PyTorch's BCE has no smoothing


# --------------------------------------------------------------------------- pos_weight, log_target, poisson


def test_pos_weight_multiplies_the_positive_term():
    # z = 0: positive term 3·ln2 (conventions.md §9 [run]), negative term ln2; mean over N·K = 2
    r = run("bce", [[0.0], [0.0]], [[1.0], [0.0]], params=Params(logits=True, pos_weight=(3.0,)))
    assert_allclose(conv(r, "mean").value, 2 * LN2, rtol=1e-14)
    assert_allclose(framework(r, "pytorch").value, 2 * LN2, rtol=1e-14)
    assert "pos_weight=torch.tensor([3.0])" in framework(r, "pytorch").call


def test_log_target_reads_labels_as_log_probabilities():
    # P = [.5, .5], Q = [.25, .75]: KL = .5·log 2 + .5·log(2/3), with labels given as log P
    expected = 0.5 * LN2 + 0.5 * math.log(2 / 3)
    r = run("kld", [[0.25, 0.75]], np.log([[0.5, 0.5]]), params=Params(log_target=True))
    assert_allclose(conv(r, "batch_mean").value, expected, rtol=1e-14)
    assert [f.framework for f in r.frameworks] == ["pytorch", "pytorch"]  # no Keras: it takes P, not log P
    assert all("log_target=True" in f.call for f in r.frameworks)


def test_poisson_log_input_and_full():
    # log-rate log 2, count 3: exp(log 2) − 3·log 2; --full adds 3·log 3 − 3 + ½·log(6π) (y = 3 > 1)
    plain = 2 - 3 * LN2
    stirling = 3 * math.log(3) - 3 + 0.5 * math.log(6 * math.pi)
    r = run("poisson", [[LN2]], [[3.0]], params=Params(log_input=True))
    assert_allclose(conv(r, "mean").value, plain, rtol=1e-14)
    r = run("poisson", [[LN2, 0.0]], [[3.0, 1.0]], params=Params(log_input=True, full=True))
    # y = 1 gets no Stirling term: exp(0) − 1·0 = 1
    assert_allclose(conv(r, "mean").value, (plain + stirling + 1.0) / 2, rtol=1e-14)
    assert framework(r, "pytorch").convention == "mean"


def test_poisson_full_matches_the_fact_sheet_run():
    # conventions.md §13 [run]: y = [0, 1, 3], ŷ = [.5, 1.5, 2], torch full=True gives 1.0931
    r = run("poisson", [[0.5, 1.5, 2.0]], [[0.0, 1.0, 3.0]], params=Params(full=True))
    assert conv(r, "mean").value == pytest.approx(1.0931, abs=5e-5)


# --------------------------------------------------------------------------- rmse


def test_rmse_roots_of_each_convention_and_sklearns_mean_of_roots():
    # errors 1, 0 / 0, 4 → squares 1, 0, 0, 16 (Σ = 17)
    r = run("rmse", [[1.0, 2.0], [3.0, 5.0]], [[0.0, 2.0], [3.0, 1.0]])
    assert_allclose(conv(r, "mean").value, math.sqrt(17 / 4), rtol=1e-15)
    assert_allclose(conv(r, "batch_mean").value, math.sqrt(17 / 2), rtol=1e-15)
    assert_allclose(conv(r, "sum").value, math.sqrt(17), rtol=1e-15)
    assert conv(r, "mean").n == 4
    assert_allclose(conv(r, "per_sample").value, [math.sqrt(0.5), math.sqrt(8)], rtol=1e-15)
    assert_allclose(conv(r, "per_output").value, [math.sqrt(0.5), math.sqrt(8)], rtol=1e-15)
    sklearn = framework(r, "sklearn")
    assert_allclose(sklearn.value, (math.sqrt(0.5) + math.sqrt(8)) / 2, rtol=1e-15)  # 1.7678, not 2.0616
    assert sklearn.convention is None and "each output's RMSE" in sklearn.note
    assert framework(r, "pytorch").convention == "mean"


def test_rmse_weighted():
    # row MSEs 0.5 and 8, weights 1 and 3: √((0.5 + 24) / 4)
    r = run("rmse", [[1.0, 2.0], [3.0, 5.0]], [[0.0, 2.0], [3.0, 1.0]], weights=[1.0, 3.0])
    assert_allclose(conv(r, "weighted_mean").value, math.sqrt(24.5 / 4), rtol=1e-15)
    assert_allclose(framework(r, "keras").value, math.sqrt(24.5 / 4), rtol=2e-6)
    # scikit-learn: column squares (1, 0) and (0, 16) → √((1 + 0)/4) and √((0 + 48)/4), averaged
    assert_allclose(framework(r, "sklearn").value, (math.sqrt(1 / 4) + math.sqrt(48 / 4)) / 2, rtol=1e-15)


# --------------------------------------------------------------------------- properties


shapes = st.tuples(st.integers(1, 10), st.integers(2, 5))
seeds = st.integers(0, 2**32 - 1)


def _classes(seed: int, shape: tuple[int, int]):
    rng = np.random.default_rng(seed)
    n, k = shape
    return rng.dirichlet(np.ones(k), size=n), rng.integers(0, k, size=n)


def _same(a, b) -> None:
    assert [c.name for c in a.conventions] == [c.name for c in b.conventions]
    for x, y in zip(a.conventions, b.conventions, strict=True):
        assert_allclose(x.value, y.value, rtol=1e-13, atol=1e-15, err_msg=x.name)
        assert x.n == y.n, x.name
    # a framework without the option drops out (scikit-learn, Keras); every row that stays is unchanged
    plain = {f.api: f for f in b.frameworks}
    assert a.frameworks and {f.api for f in a.frameworks} <= set(plain)
    for f in a.frameworks:
        assert f.convention == plain[f.api].convention, f.call
        assert_allclose(f.value, plain[f.api].value, rtol=1e-13, err_msg=f.call)


@given(shape=shapes, seed=seeds)
@settings(max_examples=30, deadline=None)
def test_an_absent_ignore_index_changes_nothing(shape, seed):
    p, t = _classes(seed, shape)
    absent = shape[1] + 7
    _same(run("sparse-cce", p, t, params=Params(ignore_index=absent)), run("sparse-cce", p, t))


@given(shape=shapes, seed=seeds)
@settings(max_examples=30, deadline=None)
def test_unit_class_weights_equal_none(shape, seed):
    p, t = _classes(seed, shape)
    ones = Params(class_weights=(1.0,) * shape[1])
    with_ones, plain = run("sparse-cce", p, t, params=ones), run("sparse-cce", p, t)
    # the same conventions and values, plus class_weighted_mean, which then is batch_mean (Σ w[y] = N)
    assert_allclose(conv(with_ones, "class_weighted_mean").value, conv(plain, "batch_mean").value, rtol=1e-13)
    for c in plain.conventions:
        assert_allclose(conv(with_ones, c.name).value, c.value, rtol=1e-13, atol=1e-15, err_msg=c.name)
    for loss, y in (("bce", (t[:, None] == np.arange(shape[1])).astype(float)),):
        _same(run(loss, p, y, params=ones), run(loss, p, y))


@given(shape=shapes, seed=seeds, eps=st.floats(0.0, 1.0))
@settings(max_examples=30, deadline=None)
def test_label_smoothing_is_the_loss_of_the_smoothed_targets(shape, seed, eps):
    p, t = _classes(seed, shape)
    y = np.eye(shape[1])[t]
    smoothed = run("cce", p, y * (1 - eps) + eps / shape[1])
    for c in smoothed.conventions:
        assert_allclose(conv(run("cce", p, y, params=Params(label_smoothing=eps)), c.name).value, c.value, rtol=1e-12)
    bce = run("bce", p, y * (1 - eps) + eps / 2)
    assert_allclose(conv(run("bce", p, y, params=Params(label_smoothing=eps)), "mean").value, conv(bce, "mean").value)


def test_label_smoothing_zero_on_the_command_line_equals_none(cli, tmp_path):
    preds, labels = tmp_path / "p.csv", tmp_path / "y.csv"
    preds.write_text("0.7,0.2,0.1\n0.1,0.8,0.1\n")
    labels.write_text("1,0,0\n0,0,1\n")
    plain = cli("cce", preds, labels, "-f", "tsv")
    zero = cli("cce", preds, labels, "-f", "tsv", "--label-smoothing", "0")
    assert plain.exit_code == zero.exit_code == 0
    assert zero.stdout == plain.stdout


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def files(tmp_path):
    (tmp_path / "p.csv").write_text("0.7,0.2,0.1\n0.1,0.8,0.1\n")
    (tmp_path / "y.csv").write_text("1,0,0\n0,0,1\n")
    (tmp_path / "t.csv").write_text("0\n-100\n")
    return tmp_path


@pytest.mark.parametrize(
    "loss, flag, owners",
    [
        ("mse", ["--label-smoothing", "0.1"], "cce, sparse-cce, bce"),
        ("cce", ["--ignore-index", "-100"], "sparse-cce"),
        ("kld", ["--class-weights", "1,2,3"], "cce, sparse-cce, bce"),
        ("cce", ["--pos-weight", "2"], "bce"),
        ("poisson", ["--log-target"], "kld"),
        ("kld", ["--log-input"], "poisson"),
        ("rmse", ["--full"], "poisson"),
    ],
)
def test_a_loss_without_the_option_refuses_it(cli, files, loss, flag, owners):
    result = cli(loss, files / "p.csv", files / "y.csv", *flag)
    assert_error(result, f"{flag[0]} applies to {owners} only, not {loss}")


@pytest.mark.parametrize(
    "loss, args, message",
    [
        ("bce", ["--pos-weight", "2"], "--pos-weight needs --logits"),
        ("cce", ["--class-weights", "1,2"], "--class-weights has 2 numbers but the predictions have 3 columns"),
        ("cce", ["--label-smoothing", "1.5"], "--label-smoothing must be in [0, 1], not 1.5"),
        ("cce", ["--class-weights", "1,x,2"], "--class-weights takes W0,W1,...|FILE, not '1,x,2'"),
        ("cce", ["--class-weights", "1,-2,2"], "--class-weights takes finite numbers ≥ 0"),
        ("sparse-cce", ["--ignore-index", "1.5"], "--ignore-index takes I, not '1.5'"),
    ],
)
def test_bad_option_values_are_one_error_line(cli, files, loss, args, message):
    labels = files / ("t.csv" if loss == "sparse-cce" else "y.csv")
    assert_error(cli(loss, files / "p.csv", labels, *args), message)


def test_class_weights_from_a_file_and_the_ignore_index_through_the_reader(cli, files):
    (files / "w.txt").write_text("# one weight per class\n1\n3\n\n2\n")
    result = cli(
        "sparse-cce", files / "p.csv", files / "t.csv", "--ignore-index", "-100", "--class-weights",
        files / "w.txt", "-f", "tsv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = {line.split("\t")[1]: line.split("\t") for line in result.stdout.splitlines()}
    # one kept row: label 0, −log 0.7, weight 1 → Σ w[y] = 1
    assert rows["class_weighted_mean"][2:5] == ["sum(w[y])", "1", f"{-math.log(0.7):.15g}"]
    assert "ignore_index:-100|class_weights:1,3,2" in result.stdout
    assert "1 of 2 rows ignored" in result.stderr


def test_a_label_outside_the_classes_suggests_ignore_index(cli, files):
    result = cli("sparse-cce", files / "p.csv", files / "t.csv")
    assert_error(result, "class index -100", "pass --ignore-index -100")


def test_check_takes_the_options_and_refuses_them_where_they_do_not_apply(cli, files):
    ok = cli("check", "sparse-cce", files / "p.csv", "--labels", files / "t.csv", "--ignore-index", "-100", "-f", "tsv")
    assert ok.exit_code == 0, ok.stderr
    assert "ignore_index:-100" in ok.stdout
    assert_error(
        cli("check", "mse", files / "p.csv", "--labels", files / "y.csv", "--delta", "2"),
        "--delta applies to huber only, not mse",
    )


def test_manifest_option_columns(cli, files):
    (files / "w.csv").write_text("1\n3\n")
    (files / "m.csv").write_text(
        "predictions,labels,loss,weights,label_smoothing,logits\np.csv,y.csv,cce,w.csv,0.2,no\np.csv,y.csv,mse,,0.2,\n"
    )
    result = cli("check", "-m", files / "m.csv", "-f", "tsv")
    assert result.exit_code == 2  # the second row is an error, the first still runs
    first, second = result.stdout.splitlines()[1:]
    assert "\tpass\t" in first and "weights:yes" in first and "label_smoothing:0.2" in first
    assert "--label-smoothing applies to cce, sparse-cce, bce only, not mse" in second
    (files / "bad.csv").write_text("predictions,labels,loss,smoothing\np.csv,y.csv,cce,0.2\n")
    assert_error(cli("check", "-m", files / "bad.csv"), "unknown column 'smoothing'")


def test_rows_named_in_messages_count_the_ignored_rows(cli, files):
    # row 3 predicts 0 for its true class: undefined (log 0) at file row 3, though row 2 is ignored
    (files / "p0.csv").write_text("0.7,0.2,0.1\n0.1,0.8,0.1\n0.0,0.5,0.5\n")
    (files / "t0.csv").write_text("0\n-100\n0\n")
    result = cli("sparse-cce", files / "p0.csv", files / "t0.csv", "--ignore-index", "-100", "-f", "json")
    assert result.exit_code == 0, result.stderr
    notes = {c["name"]: c.get("note") for c in json.loads(result.stdout)["conventions"]}
    assert "(first at row 3)" in notes["batch_mean"]
    (files / "p1.csv").write_text("0.7,0.2,0.1\n0.1,0.8,0.1\n1.5,0.5,0.5\n")
    result = cli("sparse-cce", files / "p1.csv", files / "t0.csv", "--ignore-index", "-100")
    assert_error(result, "row 3 column 1 has 1.5")
