"""Regression losses: element terms over predictions and real-valued labels."""

from __future__ import annotations

import numpy as np

from ..frameworks import Framework
from ._registry import Batch, Params, register


def row_mean(fn):
    """Per-sample mean over outputs of an element-term function (Keras's inner axis)."""
    return lambda b, p: np.mean(fn(b, p), axis=1)


def _squared_error(b: Batch, p: Params) -> np.ndarray:
    return (b.y_pred - b.y_true) ** 2


@register(
    "mse",
    aliases=("mean_squared_error", "l2"),
    kind="element",
    inner="mean",
    squared=True,
    pitfalls=(
        "MSE is not ½Σ(ŷ−y)²: the ½ belongs to the quadratic loss (half_sum / half_mean) used to tidy derivatives.",
        "Dividing by N (batch_mean) instead of N·K (mean) makes a 10-output model look 10× worse.",
        "Keras averages over the last axis first, then over the batch; on a rectangular (N, K) grid "
        "this equals mean, but with sample weights its default still divides by N, not Σw.",
        "Passing (N,) labels against (N, 1) predictions to PyTorch broadcasts to (N, N): a silent wrong number.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.MSELoss()",
            "torch.nn.functional.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y_true))",
            row_mean(_squared_error),
            "mean",
            weighted_call="torch.nn.functional.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y_true), "
            "weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape))",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "keras",
            "keras.losses.MeanSquaredError()",
            "keras.losses.MeanSquaredError()(y_true, y_pred)",
            row_mean(_squared_error),
            "mean",
            float32=True,
            weighted_call="keras.losses.MeanSquaredError()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_squared_error",
            "sklearn.metrics.mean_squared_error(y_true, y_pred)",
            row_mean(_squared_error),
            "mean",
            weighted_call="sklearn.metrics.mean_squared_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "numpy",
            "np.mean((ŷ−y)**2)",
            "np.mean((y_pred - y_true) ** 2)",
            row_mean(_squared_error),
            "mean",
            weighted_call="np.average(np.mean((y_pred - y_true) ** 2, axis=1), weights=sample_weight)",
            weighted_divisor="sum(w)",
        ),
    ),
)
def mse(b: Batch, p: Params) -> np.ndarray:
    """Mean squared error: the squared difference of each prediction and label.

    e[i,k] = (ŷ[i,k] − y[i,k])²

    >>> b = Batch(np.array([[0.8, 0.2, 0.5, 0.9]]), np.array([[0.7, 0.3, 0.4, 1.0]]))
    >>> float(np.round(mse(b, Params()).mean(), 12))  # hand: 4 × 0.1² / 4
    0.01
    """
    return _squared_error(b, p)
