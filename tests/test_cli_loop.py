"""`--batch-size`: what a training loop logs, against a real PyTorch DataLoader/DistributedSampler loop."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lossctl.stats import simulate_loop
from tests.conftest import assert_error

pytest.importorskip("torch")
from tests.test_stats_loop import torch_loop  # noqa: E402  (the real DataLoader loop)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(11)
    n, k = 103, 3
    y_pred, y_true = rng.normal(size=(n, k)), rng.normal(size=(n, k))
    np.save(tmp_path / "p.npy", y_pred)
    np.save(tmp_path / "y.npy", y_true)
    return tmp_path / "p.npy", tmp_path / "y.npy", ((y_pred - y_true) ** 2).mean(axis=1)


def loop_rows(cli, p, y, *extra, loss="mse"):
    result = cli(loss, p, y, "-f", "json", *extra)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    return doc, {c["name"]: c for c in doc["conventions"]}


@pytest.mark.parametrize(
    "b,drop_last,w,a", [(8, False, 1, 1), (8, True, 1, 1), (10, False, 3, 1), (7, True, 2, 3), (16, False, 4, 2)]
)
@pytest.mark.parametrize("chunk_rows", ["65536", "9"])
def test_loop_conventions_match_a_real_torch_loop(cli, files, b, drop_last, w, a, chunk_rows):
    p, y, per_row = files
    extra = ["--batch-size", str(b), "--world-size", str(w), "--accum-steps", str(a), "--chunk-rows", chunk_rows]
    extra += ["--drop-last"] if drop_last else []
    doc, convs = loop_rows(cli, p, y, *extra)
    mobm, bwm, _, steps, seen = torch_loop(per_row, b, drop_last, w, a)  # each batch's F.mse_loss = mean of rows
    assert convs["mean_of_batch_means"]["value"] == pytest.approx(mobm, rel=1e-12)
    assert convs["batch_weighted_mean"]["value"] == pytest.approx(bwm, rel=1e-12)
    assert (convs["mean_of_batch_means"]["n"], convs["batch_weighted_mean"]["n"]) == (steps, seen)
    assert (convs["mean_of_batch_means"]["divisor"], convs["batch_weighted_mean"]["divisor"]) == ("batches", "N_seen")
    assert f"|batch:{b}|" in doc["signature"] and "conv:all" in doc["signature"]
    assert ("drop-last:yes" in doc["signature"]) == drop_last


def test_loop_of_a_batch_mean_loss_uses_row_sums_and_says_how_far(cli, tmp_path):
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=50)
    onehot = np.eye(4)[rng.integers(0, 4, size=50)]
    np.save(tmp_path / "p.npy", probs)
    np.save(tmp_path / "y.npy", onehot)
    _, convs = loop_rows(cli, tmp_path / "p.npy", tmp_path / "y.npy", "--batch-size", "16", loss="cce")
    l = -np.log(np.clip(probs, 1e-7, 1)[onehot.astype(bool)])  # noqa: E741  (cce per sample, batch_mean primary)
    want = simulate_loop(l, 16)
    assert convs["mean_of_batch_means"]["value"] == pytest.approx(want.mean_of_batch_means, rel=1e-6)
    true = convs["batch_mean"]["value"]
    assert convs["batch_weighted_mean"]["value"] == pytest.approx(true, rel=1e-12)
    assert convs["batch_weighted_mean"]["note"] == "equals the true batch_mean"
    assert "from the true batch_mean" in convs["mean_of_batch_means"]["note"]


def test_loop_intervals_with_ci_are_delta_method(cli, files):
    p, y, per_row = files
    _, convs = loop_rows(cli, p, y, "--batch-size", "10", "--ci")
    ci = convs["batch_weighted_mean"]["ci"]
    assert ci["method"] == "delta"
    want = simulate_loop(per_row, 10).batch_weighted_mean_moments.delta_interval(0.95)
    assert [ci["low"], ci["high"]] == pytest.approx([want.low, want.high], rel=1e-9)
    # no padding, no drop: the size-weighted mean is the mean, and its interval the mean's t interval
    assert [ci["low"], ci["high"]] == pytest.approx([convs["mean"]["ci"]["low"], convs["mean"]["ci"]["high"]])


def test_loop_options_need_batch_size(cli, files):
    p, y, _ = files
    assert_error(cli("mse", p, y, "--world-size", "2"), "give --batch-size too")
    assert_error(cli("mse", p, y, "--batch-size", "0"), "--batch-size must be a positive integer")


def test_table_shows_the_loop_rows(cli, files):
    p, y, _ = files
    result = cli("mse", p, y, "--batch-size", "10", "-f", "table", env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "mean_of_batch_means" in result.stdout and "batch_weighted_mean" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
