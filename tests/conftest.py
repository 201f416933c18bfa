"""Shared fixtures: the real frameworks as oracles, and helpers to run lossctl."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

from lossctl.compute import compute
from lossctl.losses import Batch, Params, get_loss


def run(loss: str, y_pred, y_true, weights=None, params: Params = Params(), **kw):
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
    return compute(spec, [Batch(y_pred, y_true, w)], params, **kw)


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
