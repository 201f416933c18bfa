"""Shared fixtures: the real frameworks as oracles, and helpers to run lossctl."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
from typer.testing import CliRunner

from lossctl.compute import compute
from lossctl.losses import Chunk, Params, get_loss


def run(loss: str, y_pred, y_true, weights=None, params: Params | None = None, **kw):
    """Compute a Report from in-memory arrays (one batch)."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    spec = get_loss(loss)
    y_true = np.asarray(y_true)
    if spec.labels == "indices":
        y_true = y_true.reshape(-1).astype(np.int64)
    else:
        y_true = y_true.astype(np.float64)
        if y_true.ndim == 1:
            y_true = y_true[:, None]
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    return compute(spec, [Chunk(y_pred, y_true, w)], params, **kw)


def values(report) -> dict:
    """{convention name: value} for a Report."""
    return {c.name: c.value for c in report.conventions}


class Oracle:
    """Evaluates lossctl's ``call`` strings with the real frameworks in scope."""

    def __init__(self) -> None:
        import keras
        import sklearn
        import sklearn.metrics  # noqa: F401
        import torch

        self.scope = {"np": np, "torch": torch, "keras": keras, "sklearn": sklearn}

    def __call__(self, call: str, y_pred, y_true, sample_weight=None) -> float:
        import warnings

        scope = dict(self.scope, y_pred=y_pred, y_true=y_true, sample_weight=sample_weight)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # frameworks' own warnings (e.g. kl_div 'mean') are not failures
            value = eval(call, scope)  # noqa: S307 - the strings come from lossctl's own registry
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        return float(np.asarray(value))


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    return Oracle()


def valid_inputs(loss_name: str, rng: np.random.Generator, shape: tuple[int, int]):
    """Random inputs inside a loss's domain: ``(y_pred, y_true)`` as lossctl reads them.

    Every loss declares its ``domain`` (tests/test_frameworks_registry.py checks it).
    """
    return get_loss(loss_name).domain(rng, shape)


def perfect_pair(loss_name: str, rng: np.random.Generator, shape: tuple[int, int]):
    """``(y_pred, y_true)`` where the prediction is perfect: hard labels predicted exactly."""
    spec = get_loss(loss_name)
    n, k = shape
    if spec.labels == "indices":
        idx = rng.integers(0, k, size=n).astype(np.int64)
        return np.eye(k)[idx], idx
    if spec.name in ("cce", "kld", "categorical-hinge"):
        onehot = np.eye(k)[rng.integers(0, k, size=n)]
        return onehot, onehot.copy()
    if spec.name == "bce":
        y = rng.integers(0, 2, size=shape).astype(np.float64)
        return y, y.copy()
    _, y_true = valid_inputs(loss_name, rng, shape)
    return np.array(y_true, dtype=np.float64), y_true


@pytest.fixture
def cli(monkeypatch):
    """Run ``lossctl ARGS`` through Typer's CliRunner (stdout and stderr apart), user settings cleared."""
    from lossctl.cli import app

    for var in ("LOSSCTL_FORMAT", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(app, [str(a) for a in args], **kw)


def assert_error(result, *fragments: str) -> str:
    """Exit 2, nothing on stdout, exactly one ``error:`` line on stderr containing ``fragments``; returns it."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def force_streaming(monkeypatch, block: int = 16, piece: int = 7) -> None:
    """Send even tiny text files through the streamed (big-file) reader, in tiny blocks."""
    from lossctl.io import text

    monkeypatch.setattr(text, "BIG_FILE_BYTES", 0)
    monkeypatch.setattr(text, "BLOCK_BYTES", block)
    monkeypatch.setattr(text, "PIECE_BYTES", piece)


@pytest.fixture(params=["small", "streamed"])
def reader_path(request, monkeypatch):
    """Run the test once on each text reader path."""
    if request.param == "streamed":
        force_streaming(monkeypatch)
    return request.param
