"""Did you mean: every unknown name gets the closest valid one, in one error line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lossctl.suggest import closest, unknown
from tests.conftest import assert_error

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
P, Y = str(SAMPLE / "preds.csv"), str(SAMPLE / "labels.csv")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["mes", P, Y], "unknown loss or command 'mes'; did you mean 'mse'?"),
        (["expalin", "mse"], "unknown loss or command 'expalin'; did you mean 'explain'?"),
        (["mean_sqared_error", P, Y], "did you mean 'mean_squared_error'?"),
        (["explain", "mes"], "unknown loss 'mes'; did you mean 'mse'?"),
        (["mse", P, Y, "-c", "hlf_mean"], "unknown convention 'hlf_mean'; did you mean 'half_mean'?"),
        (["mse", P, Y, "-f", "jsn"], "unknown format 'jsn'; did you mean 'json'?"),
        (["mse", P, Y, "--formt", "json"], "unknown option '--formt' for mse; did you mean '--format'?"),
        (["--verison"], "unknown option '--verison' for lossctl; did you mean '--version'?"),
        (["mse", P, Y, "--delta", "2"], "--delta applies to huber only, not mse"),
        (["mae", P, Y, "--logits"], "--logits applies to cce, sparse-cce, bce only, not mae"),
        (["check", "mse", P, "--labels", Y, "-f", "jsn"], "unknown format 'jsn'; did you mean 'json'?"),
    ],
)
def test_did_you_mean(cli, args, expected):
    assert_error(cli(*args), expected)


def test_only_this_runs_conventions_are_listed(cli):
    line = assert_error(cli("mae", P, Y, "-c", "hlf_mean"), "mae has: mean, batch_mean")
    assert "half_mean" not in line and "weighted" not in line  # mae has no ½ variants; no --weights given
    line = assert_error(cli("mae", P, Y, "-c", "wieghted_mean", "-w", str(SAMPLE / "preds.csv")), "weighted_mean")


def test_nothing_close_lists_the_choices_instead():
    assert closest("zzzz", ["mse", "mae"]) is None
    assert unknown("loss", "zzzz", ["mse"], "known losses: mse") == "unknown loss 'zzzz'; known losses: mse"


def test_unknown_loss_with_nothing_close_lists_the_losses(cli):
    assert_error(cli("explain", "zzzz"), "unknown loss 'zzzz'; known losses: mse, rmse, mae")
