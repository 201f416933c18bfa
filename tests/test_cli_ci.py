"""`--ci`: intervals on every scalar convention, checked against scipy and against lossctl.stats directly."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from lossctl.stats import PoissonBootstrap, convention_replicates, percentile_interval
from tests.conftest import assert_error

scipy_stats = pytest.importorskip("scipy.stats")


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(13)
    n, k = 300, 4
    y_pred, y_true = rng.normal(size=(n, k)), rng.normal(size=(n, k))
    w = rng.uniform(0.2, 3.0, size=n)
    paths = {}
    for name, arr in (("p", y_pred), ("y", y_true), ("w", w)):
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], arr)
    return paths, y_pred, y_true, w


def run_json(cli, paths, *extra, weights=False):
    args = [paths["p"], paths["y"], "-f", "json", *extra] + (["--weights", paths["w"]] if weights else [])
    result = cli("mse", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def by_name(doc) -> dict:
    return {c["name"]: c for c in doc["conventions"]}


def scipy_t(values, level=0.95):
    """The t interval of the mean of ``values``: scipy.stats.t.interval, the independent oracle."""
    values = np.asarray(values)
    return scipy_stats.t.interval(level, len(values) - 1, loc=values.mean(), scale=scipy_stats.sem(values))


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_t_intervals_match_scipy_for_every_unweighted_convention(cli, data, level):
    paths, y_pred, y_true, _ = data
    n, k = y_pred.shape
    s = ((y_pred - y_true) ** 2).sum(axis=1)  # each row's sum of its K terms
    doc = run_json(cli, paths, "--ci", "--ci-level", str(level))
    scale = {"mean": 1 / k, "batch_mean": 1, "sum_of_sample_means": n / k, "sum": n}
    scale |= {"half_mean": 0.5 / k, "half_batch_mean": 0.5, "half_sum": n / 2}
    convs = by_name(doc)
    for name, factor in scale.items():
        low, high = scipy_t(s * factor, level)
        ci = convs[name]["ci"]
        assert ci["method"] == "t" and ci["level"] == level
        np.testing.assert_allclose([ci["low"], ci["high"]], [low, high], rtol=1e-9)
        assert ci["low"] < convs[name]["value"] < ci["high"]
    assert "ci" not in convs["per_sample"] and "ci" not in convs["per_output"]
    assert f"|ci:t{level * 100:g}|" in doc["signature"]


def test_weighted_intervals_delta_method_and_t(cli, data):
    paths, y_pred, y_true, w = data
    n = len(w)
    l = ((y_pred - y_true) ** 2).mean(axis=1)  # noqa: E741
    doc = run_json(cli, paths, "--ci", weights=True)
    convs = by_name(doc)
    # delta method by hand: R = Σwl/Σw, se = sqrt(Σ (w(l − R))² / (n(n−1))) / mean(w)
    r = (w * l).sum() / w.sum()
    se = math.sqrt(((w * (l - r)) ** 2).sum() / (n * (n - 1))) / w.mean()
    half = scipy_stats.t.ppf(0.975, n - 1) * se
    ci = convs["weighted_mean"]["ci"]
    assert ci["method"] == "delta"
    np.testing.assert_allclose([ci["low"], ci["high"]], [r - half, r + half], rtol=1e-9)
    np.testing.assert_allclose(
        [convs["weighted_sum"]["ci"]["low"], convs["weighted_sum"]["ci"]["high"]], scipy_t(w * l * n), rtol=1e-9
    )
    np.testing.assert_allclose(
        [convs["weighted_batch_mean"]["ci"]["low"], convs["weighted_batch_mean"]["ci"]["high"]],
        scipy_t(w * l),
        rtol=1e-9,
    )


def test_bootstrap_equals_the_stats_core_and_is_recorded(cli, data):
    paths, y_pred, y_true, w = data
    n, k = y_pred.shape
    l = ((y_pred - y_true) ** 2).mean(axis=1)  # noqa: E741
    s = l * k
    doc = run_json(cli, paths, "--ci", "--ci-method", "bootstrap", "--resamples", "300", "--seed", "7", weights=True)
    state = PoissonBootstrap(300, 7, columns=3).update(np.column_stack([s, w * l, w]), start=0)
    convs = by_name(doc)
    for name in ("mean", "sum", "weighted_mean", "weighted_sum"):
        want = percentile_interval(convention_replicates(state, name, n, k, 0, 1, 2), 0.95)
        ci = convs[name]["ci"]
        assert ci["method"] == "bootstrap"
        np.testing.assert_allclose([ci["low"], ci["high"]], [want.low, want.high], rtol=1e-12)
    assert "|ci:bs300|seed:7|" in doc["signature"]


def test_bootstrap_is_reproducible_for_a_seed_whatever_the_chunk_size(cli, tmp_path):
    rng = np.random.default_rng(5)
    n = 70_000  # more than one 65,536-row generator block
    np.save(tmp_path / "p.npy", rng.normal(size=(n, 2)))
    np.save(tmp_path / "y.npy", rng.normal(size=(n, 2)))
    args = ["mse", tmp_path / "p.npy", tmp_path / "y.npy", "-f", "json", "--ci", "--ci-method", "bootstrap"]
    args += ["--resamples", "50", "--seed", "99"]
    seen = []
    for rows in ("65536", "1000", "4099"):
        result = cli(*args, "--chunk-rows", rows)
        assert result.exit_code == 0, result.stderr
        seen.append([c.get("ci") for c in json.loads(result.stdout)["conventions"]])
    assert seen[0] == seen[1] == seen[2]
    other = cli(*args[:-1], "100")
    assert [c.get("ci") for c in json.loads(other.stdout)["conventions"]] != seen[0]


def test_default_signature_and_delimited_columns(cli, data):
    paths, *_ = data
    doc = run_json(cli, paths, "--ci", "--ci-method", "bootstrap")
    assert "|ci:bs1000|seed:12345|" in doc["signature"]
    result = cli("mse", paths["p"], paths["y"], "-f", "csv", "--ci", "-c", "mean", "-c", "sum")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][-2:] == ["ci_low", "ci_high"]
    assert all(len(row) == len(rows[0]) for row in rows)
    mean = next(r for r in rows if r[1] == "mean")
    json_ci = by_name(run_json(cli, paths, "--ci", "-c", "mean"))["mean"]["ci"]
    assert [float(mean[-2]), float(mean[-1])] == pytest.approx([json_ci["low"], json_ci["high"]], rel=1e-13)
    assert "ci:t97.5" in run_json(cli, paths, "--ci", "--ci-level", "0.975")["signature"]


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("method", ["t", "bootstrap"])
def test_table_shows_intervals_and_keeps_numbers_whole(cli, data, width, method):
    paths, *_ = data
    args = ["mse", paths["p"], paths["y"], "--ci", "--ci-method", method, "--resamples", "100"]
    result = cli(*args, "-f", "table", "-p", "17", env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= width, out
    assert not any(tok for tok in out.split() if tok[:1].isdigit() and tok.endswith("…")), out
    doc = json.loads(cli(*args, "-f", "json").stdout)
    words = {w.strip("[],") for w in out.split()}
    for c in doc["conventions"]:
        if "ci" in c:
            assert f"{c['value']:.17g}" in words
            if method == "t":
                assert f"{(c['ci']['high'] - c['ci']['low']) / 2:.3g}" in words, (c, out)
            else:
                assert {f"{c['ci']['low']:.6g}", f"{c['ci']['high']:.6g}"} <= words, (c, out)


@pytest.mark.parametrize(
    "extra,fragment",
    [
        (["--ci", "--ci-level", "1.5"], "--ci-level"),
        (["--ci", "--ci-method", "jackknife"], "--ci-method must be t or bootstrap"),
        (["--seed", "3"], "--seed needs --ci"),
        (["--ci", "--ci-method", "bootstrap", "--resamples", "0"], "--resamples"),
    ],
)
def test_bad_statistics_options_are_one_error_line(cli, data, extra, fragment):
    paths, *_ = data
    assert_error(cli("mse", paths["p"], paths["y"], *extra), fragment)


def test_undefined_values_get_no_interval(cli, tmp_path):
    np.save(tmp_path / "p.npy", np.array([[0.5], [0.0]]))
    np.save(tmp_path / "y.npy", np.array([[1.0], [1.0]]))
    result = cli("bce", tmp_path / "p.npy", tmp_path / "y.npy", "-f", "json", "--ci")
    if result.exit_code == 0:  # log(0) is clipped by some losses; either way no traceback and no fake interval
        for c in json.loads(result.stdout)["conventions"]:
            if c.get("value") is None:
                assert "ci" not in c


def test_bootstrap_with_nan_omit_does_not_depend_on_the_chunk_size(cli, tmp_path):
    rng = np.random.default_rng(8)
    p = rng.normal(size=(500, 2))
    p[rng.choice(500, size=40, replace=False), 0] = np.nan  # rows dropped by --nan omit
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", rng.normal(size=(500, 2)))
    args = ["mse", tmp_path / "p.npy", tmp_path / "y.npy", "-f", "json", "--nan", "omit", "-c", "mean"]
    args += ["--ci", "--ci-method", "bootstrap", "--resamples", "64"]
    cis = [json.loads(cli(*args, "--chunk-rows", rows).stdout)["conventions"][0]["ci"] for rows in ("500", "7", "64")]
    assert cis[0] == cis[1] == cis[2]
