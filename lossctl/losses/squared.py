"""Squared errors: mean squared error and mean squared logarithmic error."""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..frameworks import (
    KERAS_EPS,
    OWN,
    Framework,
)
from ..params import Params
from ._numerics import (
    DEFAULT,
    normal_pairs,
)
from ._registry import register


def _squared_error(b: Chunk, p: Params) -> np.ndarray:
    return (b.y_pred - b.y_true) ** 2


@register(
    "mse",
    domain=normal_pairs,
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
            OWN,
            "mean",
            weighted_call="torch.nn.functional.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y_true), "
            "weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape))",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "keras",
            "keras.losses.MeanSquaredError()",
            "keras.losses.MeanSquaredError()(y_true, y_pred)",
            OWN,
            "mean",
            float32=True,
            weighted_call="keras.losses.MeanSquaredError()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_squared_error",
            "sklearn.metrics.mean_squared_error(y_true, y_pred)",
            OWN,
            "mean",
            reduce="columns",
            weighted_call="sklearn.metrics.mean_squared_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "numpy",
            "np.mean((ŷ−y)**2)",
            "np.mean((y_pred - y_true) ** 2)",
            OWN,
            "mean",
            weighted_call="np.average(np.mean((y_pred - y_true) ** 2, axis=1), weights=sample_weight)",
            weighted_divisor="sum(w)",
        ),
    ),
)
def mse(b: Chunk, p: Params) -> np.ndarray:
    """Mean squared error: the squared difference of each prediction and label.

    e[i,k] = (ŷ[i,k] − y[i,k])²

    >>> b = Chunk(np.array([[0.8, 0.2, 0.5, 0.9]]), np.array([[0.7, 0.3, 0.4, 1.0]]))
    >>> float(np.round(mse(b, Params()).mean(), 12))  # hand: 4 × 0.1² / 4
    0.01
    """
    return _squared_error(b, p)


def _squared_log_error(b: Chunk, p: Params) -> np.ndarray:
    """(log1p ŷ − log1p y)²: nan or inf where a value is ≤ −1 (undefined there; Keras still computes)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log1p(b.y_pred) - np.log1p(b.y_true)) ** 2


def _keras_msle(b: Chunk, p: Params) -> np.ndarray:
    first = np.log(np.maximum(b.y_pred, KERAS_EPS) + 1.0)
    second = np.log(np.maximum(b.y_true, KERAS_EPS) + 1.0)
    return np.mean((first - second) ** 2, axis=1)


def _non_negative(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0.0, 5.0, size=shape), rng.uniform(0.0, 5.0, size=shape)


@register(
    "msle",
    aliases=("mean_squared_logarithmic_error",),
    kind="element",
    inner="mean",
    squared=True,
    expects="predictions and labels of the same shape (N, K), every value > -1 (typically ≥ 0: counts, prices)",
    undefined="log(1 + x) of a value ≤ -1",
    domain=_non_negative,
    pitfalls=(
        "Keras silently raises every value below 1e-7 to 1e-7, so negative inputs give a different number; "
        "scikit-learn keeps values in (-1, 0) as they are and raises for ≤ -1.",
        "MSLE is not RMSLE: scikit-learn's root_mean_squared_log_error is its square root.",
        "log(1 + x) measures relative error: an error of 10 on a label of 1000 costs almost nothing, "
        "and under-predicting costs more than over-predicting by the same amount.",
        "It is the MSE of log(1 + x), not of log(x): labels of 0 are fine, and there is no ½.",
    ),
    frameworks=(
        Framework(
            "keras",
            "keras.losses.MeanSquaredLogarithmicError()",
            "keras.losses.MeanSquaredLogarithmicError()(y_true, y_pred)",
            _keras_msle,
            "mean",
            note="raises values below 1e-7 to 1e-7 before log(x + 1), so negative inputs differ "
            "(and values ≤ -1, where msle is undefined, still give a number)",
            float32=True,
            weighted_call="keras.losses.MeanSquaredLogarithmicError()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_squared_log_error",
            "sklearn.metrics.mean_squared_log_error(y_true, y_pred)",
            OWN,
            "mean",
            reduce="columns",
            nonfinite_note="scikit-learn raises ValueError for values ≤ -1",
            weighted_call="sklearn.metrics.mean_squared_log_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
    ),
)
def msle(b: Chunk, p: Params) -> np.ndarray:
    """Mean squared logarithmic error: the squared difference of log(1 + ŷ) and log(1 + y).

    e[i,k] = (log(1 + ŷ[i,k]) − log(1 + y[i,k]))²   (every value must be > −1)

    >>> b = Chunk(np.array([[np.e - 1, 0.0]]), np.array([[0.0, np.e**2 - 1]]))
    >>> np.round(msle(b, Params()), 12).tolist()  # hand: (1 − 0)², (0 − 2)²
    [[1.0, 4.0]]
    """
    return _squared_log_error(b, p)


def _sklearn_rmse(t) -> float:
    """scikit-learn's root_mean_squared_error: each output's root of its (weighted) mean, then the mean of
    those roots."""
    if t.sum_w is not None:
        return float(np.mean(np.sqrt(t.weighted_per_output / t.sum_w)))
    return float(np.mean(np.sqrt(t.per_output / t.n_samples)))


@register(
    "rmse",
    domain=normal_pairs,
    aliases=("root_mean_squared_error",),
    kind="element",
    inner="mean",
    finish=np.sqrt,
    pitfalls=(
        "The root of the mean is not the mean of roots: scikit-learn's root_mean_squared_error takes each "
        "output's RMSE and averages those (multioutput='uniform_average'), which is smaller than "
        "√mean whenever the outputs' errors differ.",
        "Averaging per-batch RMSEs is not the RMSE of the data: the mean of roots is at most the root of the mean.",
        "Each convention here is the square root of the same convention of mse: √(Σ e / N·K), √(Σ e / N)…; "
        "per_sample is each row's root of its mean square, per_output each column's (scikit-learn's raw_values).",
        "PyTorch has no RMSE loss: torch.sqrt(mse_loss(...)), whose gradient is infinite at a perfect fit.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.sqrt(torch.nn.MSELoss())",
            "torch.sqrt(torch.nn.functional.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y_true)))",
            OWN,
            "mean",
            weighted_call="torch.sqrt(torch.nn.functional.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y_true), "
            "weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape)))",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "keras",
            "keras.metrics.RootMeanSquaredError()",
            "keras.metrics.RootMeanSquaredError()(y_true, y_pred)",
            OWN,
            "mean",
            note="a metric (Keras 3 has no RMSE loss)",
            float32=True,
            weighted_call="keras.metrics.RootMeanSquaredError()(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.root_mean_squared_error",
            "sklearn.metrics.root_mean_squared_error(y_true, y_pred)",
            OWN,
            None,
            note="the mean over outputs of each output's RMSE (multioutput='uniform_average'): "
            "equals mean only for one output",
            weighted_call="sklearn.metrics.root_mean_squared_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            from_totals=_sklearn_rmse,
            reduce="columns",  # on float32 files: its float32 column means, each rooted, then their mean
            per_column=np.sqrt,
        ),
        Framework(
            "numpy",
            "np.sqrt(np.mean((ŷ−y)**2))",
            "np.sqrt(np.mean((y_pred - y_true) ** 2))",
            OWN,
            "mean",
            weighted_call="np.sqrt(np.average(np.mean((y_pred - y_true) ** 2, axis=1), weights=sample_weight))",
            weighted_divisor="sum(w)",
        ),
    ),
)
def rmse(b: Chunk, p: Params) -> np.ndarray:
    """Root mean squared error: the square root of a mean of squared errors.

    e[i,k] = (ŷ[i,k] − y[i,k])²; every convention is the square root of its mean of e: √(Σ e / N·K) for
    mean, √(Σ e / N) for batch_mean, and per_sample is √(mean_k e[i,k]), each row's own RMSE.

    >>> b = Chunk(np.array([[3.0, 0.0]]), np.array([[0.0, 4.0]]))
    >>> float(np.sqrt(rmse(b, Params()).mean()))  # hand: √((9 + 16) / 2)
    3.5355339059327378
    """
    return _squared_error(b, p)
