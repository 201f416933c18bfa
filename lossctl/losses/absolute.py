"""Absolute errors: mean absolute error and mean absolute percentage error."""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..frameworks import (
    KERAS_EPS,
    OWN,
    SKLEARN_EPS,
    TORCH_WEIGHT,
    Framework,
    torch_array,
)
from ..params import Params
from ._numerics import (
    DEFAULT,
    normal_pairs,
)
from ._registry import register


def _abs_error(b: Chunk, p: Params) -> np.ndarray:
    return np.abs(b.y_pred - b.y_true)


@register(
    "mae",
    domain=normal_pairs,
    aliases=("mean_absolute_error", "l1"),
    kind="element",
    inner="mean",
    pitfalls=(
        "Dividing by N (batch_mean) instead of N·K (mean) makes a K-output model look K× worse.",
        "With sample weights PyTorch's F.l1_loss(weight=) and scikit-learn divide by Σw, Keras's loss by N; "
        "the nn.L1Loss module takes no weights at all.",
        "The mean of signed errors is the bias, not the MAE: errors of +1 and −1 cancel to 0 there.",
        "Passing (N,) labels against (N, 1) predictions to PyTorch broadcasts to (N, N): a silent wrong number.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.L1Loss()",
            f"torch.nn.functional.l1_loss({torch_array('y_pred')}, {torch_array('y_true')})",
            OWN,
            "mean",
            weighted_call=f"torch.nn.functional.l1_loss({torch_array('y_pred')}, {torch_array('y_true')}, {TORCH_WEIGHT})",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "keras",
            "keras.losses.MeanAbsoluteError()",
            "keras.losses.MeanAbsoluteError()(y_true, y_pred)",
            OWN,
            "mean",
            float32=True,
            weighted_call="keras.losses.MeanAbsoluteError()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_absolute_error",
            "sklearn.metrics.mean_absolute_error(y_true, y_pred)",
            OWN,
            "mean",
            reduce="columns",
            weighted_call="sklearn.metrics.mean_absolute_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
    ),
)
def mae(b: Chunk, p: Params) -> np.ndarray:
    """Mean absolute error: the absolute difference of each prediction and label.

    e[i,k] = |ŷ[i,k] − y[i,k]|

    >>> b = Chunk(np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.5, 2.0], [2.0, 2.0]]))
    >>> mae(b, Params()).tolist()  # hand: |1 − 1.5|, |2 − 2|, |3 − 2|, |5 − 2|
    [[0.5, 0.0], [1.0, 3.0]]
    """
    return _abs_error(b, p)


def _keras_mape(b: Chunk, p: Params) -> np.ndarray:
    return 100.0 * np.mean(np.abs(b.y_true - b.y_pred) / np.maximum(np.abs(b.y_true), KERAS_EPS), axis=1)


def _sklearn_mape(b: Chunk, p: Params) -> np.ndarray:
    """scikit-learn's element terms (it reduces by columns): |ŷ − y| / max(|y|, float64 eps), in the file's dtype."""
    return np.abs(b.y_pred - b.y_true) / np.maximum(np.abs(b.y_true), SKLEARN_EPS)


def _nonzero_labels(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    y_true = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return y_true + rng.normal(scale=0.5, size=shape), y_true


@register(
    "mape",
    aliases=("mean_absolute_percentage_error",),
    kind="element",
    inner="mean",
    expects="predictions and labels of the same shape (N, K); labels must be non-zero (MAPE divides by |y|)",
    undefined="division by a label of 0",
    domain=_nonzero_labels,
    pitfalls=(
        "Keras reports a percentage (×100), scikit-learn a fraction: sklearn's 0.25 is Keras's 25.",
        "A label of 0 makes MAPE infinite; the frameworks hide it behind an epsilon in the denominator "
        "(Keras 1e-7, scikit-learn 2.2e-16) and report huge finite numbers such as 1.7e8 or 7.5e14.",
        "MAPE is asymmetric: over-predicting a small label costs without bound, under-predicting at most 100%; "
        "it is not the symmetric sMAPE.",
        "Keras's docstring says it divides by max(y, ε); the code divides by max(|y|, ε), so negative labels "
        "are measured against their magnitude.",
    ),
    frameworks=(
        Framework(
            "keras",
            "keras.losses.MeanAbsolutePercentageError()",
            "keras.losses.MeanAbsolutePercentageError()(y_true, y_pred)",
            _keras_mape,
            "mean",
            note="percent; divides by max(|y|, 1e-7), so a label of 0 gives a huge finite number",
            float32=True,
            weighted_call="keras.losses.MeanAbsolutePercentageError()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_absolute_percentage_error",
            "sklearn.metrics.mean_absolute_percentage_error(y_true, y_pred)",
            _sklearn_mape,
            None,
            reduce="columns",
            note="sklearn MAPE is a fraction, not a percent (mean / 100); divides by max(|y|, 2.2e-16)",
            weighted_call="sklearn.metrics.mean_absolute_percentage_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
    ),
)
def mape(b: Chunk, p: Params) -> np.ndarray:
    """Mean absolute percentage error: each absolute error as a percentage of its label.

    e[i,k] = 100 · |ŷ[i,k] − y[i,k]| / |y[i,k]|   (undefined where y[i,k] = 0)

    >>> b = Chunk(np.array([[1.5, 1.0, 5.0]]), np.array([[1.0, 2.0, -4.0]]))
    >>> mape(b, Params()).tolist()  # hand: 0.5/1, 1/2, 9/4 as percentages
    [[50.0, 50.0, 225.0]]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100.0 * np.abs(b.y_pred - b.y_true) / np.abs(b.y_true)
