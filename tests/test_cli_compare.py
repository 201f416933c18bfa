"""`lossctl compare`: values, deltas, intervals and p-values against scipy and lossctl.stats; verdicts, exits, errors."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from lossctl.stats import PoissonBootstrap, bootstrap_result, convention_replicates, holm, sign_flip_test
from tests.conftest import assert_error

scipy_stats = pytest.importorskip("scipy.stats")


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A baseline, a better and a worse candidate, labels and weights (named relative to the cwd); and the arrays."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(2024)
    n, k = 400, 3
    y = rng.normal(size=(n, k))
    arrays = {
        "y": y,
        "base": y + rng.normal(scale=1.0, size=(n, k)),
        "good": y + rng.normal(scale=0.8, size=(n, k)),
        "bad": y + rng.normal(scale=1.3, size=(n, k)),
        "w": rng.uniform(0.5, 2.0, size=n),
    }
    paths = {}
    for name, arr in arrays.items():
        paths[name] = f"{name}.npy"
        np.save(tmp_path / paths[name], arr)
    return paths, arrays


def compare_json(cli, paths, *candidates, extra=(), code=0):
    args = ["compare", "mse", paths["base"], *(paths[c] for c in candidates), "--labels", paths["y"], "-f", "json"]
    result = cli(*args, *extra)
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)


def row_sums(arrays, name):
    return ((arrays[name] - arrays["y"]) ** 2).sum(axis=1)


def test_json_keys_values_and_the_paired_t_test_against_scipy(cli, models):
    paths, arrays = models
    doc = compare_json(cli, paths, "good")
    assert set(doc) >= {"lossctl", "loss", "convention", "labels", "baseline", "results", "signature"}
    assert doc["convention"] == "mean" and doc["labels"] == "y.npy"
    assert doc["baseline"]["file"] == "base.npy"
    (r,) = doc["results"]
    assert set(r) == {"file", "value", "delta", "ci", "p_value", "test", "verdict"}  # no p_adjusted for one
    single = json.loads(cli("mse", paths["good"], paths["y"], "-f", "json", "-c", "mean").stdout)
    assert r["value"] == pytest.approx(single["conventions"][0]["value"], rel=1e-13)
    k = arrays["y"].shape[1]
    s_good, s_base = row_sums(arrays, "good"), row_sums(arrays, "base")
    assert r["delta"] == pytest.approx((s_good - s_base).mean() / k, rel=1e-12)
    assert r["p_value"] == pytest.approx(scipy_stats.ttest_rel(s_good, s_base).pvalue, rel=1e-9)
    d = (s_good - s_base) / k
    low, high = scipy_stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=scipy_stats.sem(d))
    assert [r["ci"]["low"], r["ci"]["high"]] == pytest.approx([low, high], rel=1e-9)
    assert (r["test"], r["verdict"]) == ("paired-t", "better")
    assert "|test:paired-t|" in doc["signature"] and "|ci:t95|" in doc["signature"]


def test_several_candidates_are_holm_adjusted_and_verdicts_use_it(cli, models):
    paths, arrays = models
    doc = compare_json(cli, paths, "good", "bad", "base")
    p = [r["p_value"] for r in doc["results"]]
    assert [r["p_adjusted"] for r in doc["results"]] == pytest.approx(holm(p))
    assert [r["verdict"] for r in doc["results"]] == ["better", "worse", "no-difference"]
    same = doc["results"][2]
    assert (same["delta"], same["p_value"], same["ci"]["low"], same["ci"]["high"]) == (0.0, 1.0, 0.0, 0.0)


def test_holm_can_turn_a_verdict(cli, tmp_path):
    """A candidate with p = 0.04 alone is worse; beside a second (identical) candidate Holm makes it 0.08."""
    n = 30
    z = np.resize([1.0, -1.0], n)  # mean 0, sample sd sqrt(n / (n - 1))
    a = math.sqrt(n) / (math.sqrt(n / (n - 1)) * scipy_stats.t.ppf(1 - 0.04 / 2, n - 1))
    errors = {"base": np.full(n, 5.0), "cand": 6.0 + a * z}  # squared errors; labels 0, predictions their roots
    np.save(tmp_path / "y.npy", np.zeros((n, 1)))
    for name, e in errors.items():
        np.save(tmp_path / f"{name}.npy", np.sqrt(e)[:, None])
    np.save(tmp_path / "same.npy", np.sqrt(errors["base"])[:, None])
    run = lambda *c: json.loads(
        cli("compare", "mse", tmp_path / "base.npy", *c, "--labels", tmp_path / "y.npy", "-f", "json").stdout
    )
    one = run(tmp_path / "cand.npy")["results"][0]
    assert one["p_value"] == pytest.approx(0.04, rel=1e-9) and one["verdict"] == "worse"
    two = run(tmp_path / "cand.npy", tmp_path / "same.npy")["results"]
    assert [r["p_adjusted"] for r in two] == pytest.approx([0.08, 1.0], rel=1e-9)
    assert [r["verdict"] for r in two] == ["no-difference", "no-difference"]


def test_bootstrap_equals_the_stats_core(cli, models):
    paths, arrays = models
    n, k = arrays["y"].shape
    extra = ("--test", "bootstrap", "--resamples", "400", "--seed", "3")
    doc = compare_json(cli, paths, "good", extra=extra)
    (r,) = doc["results"]
    s_base, s_good = row_sums(arrays, "base"), row_sums(arrays, "good")
    state = PoissonBootstrap(400, 3, columns=2).update(np.column_stack([s_base, s_good]), start=0)
    reps = convention_replicates(state, "mean", n, k, 1) - convention_replicates(state, "mean", n, k, 0)
    want = bootstrap_result(reps, (s_good - s_base).mean() / k, 0.95)
    assert [r["ci"]["low"], r["ci"]["high"], r["p_value"]] == pytest.approx([want.ci.low, want.ci.high, want.p_value])
    assert r["test"] == "paired-bootstrap" and r["ci"]["method"] == "bootstrap"
    assert "|ci:bs400|seed:3|" in doc["signature"]
    again = compare_json(cli, paths, "good", extra=(*extra, "--chunk-rows", "37"))["results"][0]
    assert (again["ci"], again["p_value"]) == (r["ci"], r["p_value"])  # the resamples do not depend on chunking
    assert again["delta"] == pytest.approx(r["delta"], rel=1e-13)


def test_weighted_mean_delta_method_by_hand(cli, models):
    paths, arrays = models
    doc = compare_json(cli, paths, "good", extra=("-w", paths["w"], "-c", "weighted_mean"))
    (r,) = doc["results"]
    w = arrays["w"]
    lb, lg = row_sums(arrays, "base") / 3, row_sums(arrays, "good") / 3
    d = lg - lb
    delta = (w * d).sum() / w.sum()
    se = math.sqrt(((w * (d - delta)) ** 2).sum() / (len(d) * (len(d) - 1))) / w.mean()
    assert r["delta"] == pytest.approx(delta, rel=1e-12)
    p = 2 * scipy_stats.t.sf(abs(delta / se), len(d) - 1)
    assert r["p_value"] == pytest.approx(p, rel=1e-8)
    assert r["value"] == pytest.approx((w * lg).sum() / w.sum(), rel=1e-13)
    assert r["test"] == "paired-delta"


def test_permutation_against_the_core_and_its_row_cap(cli, models, monkeypatch):
    paths, arrays = models
    doc = compare_json(cli, paths, "good", extra=("--test", "permutation", "--resamples", "500"))
    d = (row_sums(arrays, "good") - row_sums(arrays, "base")) / 3
    assert doc["results"][0]["p_value"] == pytest.approx(sign_flip_test(d, 500, 12345))
    import lossctl.compare

    monkeypatch.setattr(lossctl.compare, "PERMUTATION_MAX_ROWS", 100)
    args = ["compare", "mse", paths["base"], paths["good"], "--labels", paths["y"], "--test", "permutation"]
    assert_error(cli(*args), "100 rows", "--test t")


def test_fail_if_worse_exits_1_and_still_prints(cli, models):
    paths, _ = models
    args = ["compare", "mse", paths["base"], paths["good"], paths["bad"], "--labels", paths["y"], "-f", "json"]
    result = cli(*args, "--fail-if-worse")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["results"][1]["verdict"] == "worse"
    assert result.stderr.startswith("fail: bad.npy is worse than base.npy")
    assert cli(*args).exit_code == 0
    ok = cli("compare", "mse", paths["base"], paths["good"], "--labels", paths["y"], "--fail-if-worse", "-f", "json")
    assert ok.exit_code == 0


def test_table_baseline_first_and_csv(cli, models):
    paths, _ = models
    args = ["compare", "mse", paths["base"], paths["good"], paths["bad"], "--labels", paths["y"]]
    out = cli(*args, "-f", "table", env={"COLUMNS": "100", "NO_COLOR": "1"}).stdout
    lines = [line for line in out.splitlines() if ".npy" in line and "signature" not in line]
    assert lines[1].startswith("base.npy (baseline)") and "better" in lines[2] and "worse" in lines[3]
    assert "Holm" in out and "signature: loss:mse|conv:mean|" in out
    rows = list(csv.reader(io.StringIO(cli(*args, "-f", "csv").stdout)))
    assert rows[0] == [
        "role",
        "file",
        "value",
        "delta",
        "ci_low",
        "ci_high",
        "p_value",
        "p_adjusted",
        "test",
        "verdict",
    ]
    assert [r[0] for r in rows[1:]] == ["baseline", "candidate", "candidate", "signature"]


def test_shape_and_row_mismatches_are_one_error(cli, models):
    paths, arrays = models
    np.save("short.npy", arrays["good"][:-1])
    np.save("wide.npy", np.hstack([arrays["good"], arrays["good"][:, :1]]))
    base = ["compare", "mse", paths["base"]]
    assert_error(cli(*base, "short.npy", "--labels", paths["y"]), "short.npy has 399 rows but y.npy has 400")
    assert_error(cli(*base, "wide.npy", "--labels", paths["y"]), "wide.npy has 4 columns")
    assert_error(cli(*base, paths["good"], "--labels", paths["y"], "--test", "wilcoxon"), "--test must be")
    assert_error(cli(*base, paths["good"], "--labels", paths["y"], "-c", "per_sample"), "scalar convention")
    assert_error(cli(*base, paths["good"], "--labels", paths["y"], "--alpha", "2"), "--alpha")


@pytest.mark.parametrize("width", [60, 80, 120])
def test_table_numbers_whole_at_every_width(cli, models, width):
    paths, _ = models
    args = ["compare", "mse", paths["base"], paths["good"], paths["bad"], "--labels", paths["y"]]
    out = cli(*args, "-f", "table", env={"COLUMNS": str(width), "NO_COLOR": "1"}).stdout
    assert max(len(line) for line in out.splitlines()) <= width, out
    assert "…" not in out, out
    doc = json.loads(cli(*args, "-f", "json").stdout)
    words = {w.strip("[],") for w in out.replace("\u00a0", " ").split()}
    for r in doc["results"]:
        assert {f"{r['value']:.6g}", f"{r['delta']:+.4g}", f"{r['ci']['low']:.4g}", f"{r['ci']['high']:.4g}"} <= words
        assert r["verdict"] in words


def test_loss_options_reach_every_model_and_are_refused_elsewhere(cli, models):
    paths, _ = models
    args = ["compare", "huber", paths["base"], paths["good"], "--labels", paths["y"], "-f", "json"]
    doc = json.loads(cli(*args, "--delta", "0.4").stdout)
    for file, value in [(paths["base"], doc["baseline"]["value"]), (paths["good"], doc["results"][0]["value"])]:
        single = json.loads(cli("huber", file, paths["y"], "--delta", "0.4", "-c", "mean", "-f", "json").stdout)
        assert value == pytest.approx(single["conventions"][0]["value"], rel=1e-13)
    assert "|delta:0.4|" in doc["signature"]
    mse = ["compare", "mse", paths["base"], paths["good"], "--labels", paths["y"]]
    assert_error(cli(*mse, "--delta", "0.4"), "--delta applies to huber only, not mse")
    assert_error(cli(*args, "--delta", "-1"), "--delta must be > 0")
