"""Margin losses on decision scores: hinge, squared hinge and the categorical (multiclass) hinge."""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..frameworks import (
    KERAS_SAMPLE_WEIGHT,
    Framework,
)
from ..params import Params
from ._numerics import (
    DEFAULT,
    hard_rows,
    onehot,
)
from ._registry import DomainError, check_domain, register


def _pm1(y: np.ndarray) -> np.ndarray:
    """0/1 or −1/+1 labels as −1/+1 (0 is the negative class)."""
    return np.where(y == 0, -1.0, y)


def _margin(b: Chunk) -> np.ndarray:
    return np.maximum(0.0, 1.0 - _pm1(b.y_true) * b.y_pred)


def _crammer_singer(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    true = y > 0
    s_true = np.sum(np.where(true, s, 0.0), axis=1)
    s_other = np.max(np.where(true, -np.inf, s), axis=1)
    return np.maximum(0.0, 1.0 + s_other - s_true)


def _validate_hinge(loss: str):
    def validate(b: Chunk, p: Params) -> None:
        y = b.y_true
        check_domain(b, "labels", ~np.isin(y, (-1.0, 0.0, 1.0)), f"{loss} expects labels -1/+1 or 0/1")
        # the first row holding 0 and the first holding -1, across every chunk of this pass
        seen = b.run if b.run is not None else {}
        for value, key in ((0.0, "hinge_zero_row"), (-1.0, "hinge_minus_row")):
            rows = np.flatnonzero((y == value).any(axis=1))
            if len(rows) and key not in seen:
                seen[key] = b.start + int(rows[0]) + 1
        if "hinge_zero_row" in seen and "hinge_minus_row" in seen:
            raise DomainError(
                f"{loss} labels mix 0 and -1 as the negative class ({{labels}} row {seen['hinge_zero_row']} has 0, "
                f"row {seen['hinge_minus_row']} has -1); use -1/+1 or 0/1, not both"
            )

    return validate


def _warn_hinge(b: Chunk, p: Params) -> list[str]:
    if b.y_pred.shape[1] == 1 and len(np.unique(b.y_true)) == 1:
        return [
            "every label in {labels} is the same class: if that holds for the whole file, scikit-learn's "
            "hinge_loss reads them all as -1 (LabelBinarizer with one class) and reports a different value"
        ]
    return []


def _keras_hinge_labels(y: np.ndarray) -> np.ndarray:
    """Keras converts labels with 2y − 1 only when every label in the tensor is 0 or 1."""
    return 2.0 * y - 1.0 if np.all((y == 0) | (y == 1)) else y


def _keras_hinge(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(np.maximum(1.0 - _keras_hinge_labels(b.y_true) * b.y_pred, 0.0), axis=1)


def _sklearn_hinge(b: Chunk, p: Params) -> np.ndarray:
    """hinge_loss maps the greater of two labels to +1 (LabelBinarizer(neg_label=-1))."""
    return _margin(b)[:, 0]


def _signed_labels(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=shape), rng.choice([-1.0, 1.0], size=shape)


@register(
    "hinge",
    domain=_signed_labels,
    aliases=(),
    kind="element",
    inner="mean",
    validate=_validate_hinge("hinge"),
    warnings=_warn_hinge,
    expects="decision scores, shape (N, K); labels -1/+1 or 0/1 (0 read as -1), shape (N, K)",
    pitfalls=(
        "Labels 0/1 must become −1/+1: Keras converts them only when every label is 0 or 1, "
        "and a 0 left as 0 always costs 1; lossctl refuses a mix of 0 and −1.",
        "Predictions are raw decision scores, not probabilities: a probability of 0.9 for the positive "
        "class still costs 0.1.",
        "scikit-learn's hinge_loss reads the greater label as +1, so labels that are all one class become −1.",
    ),
    frameworks=(
        Framework(
            "keras",
            "keras.losses.Hinge()",
            "keras.losses.Hinge()(y_true, y_pred)",
            _keras_hinge,
            "mean",
            float32=True,
            weighted_call="keras.losses.Hinge()(y_true, y_pred" + KERAS_SAMPLE_WEIGHT,
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.hinge_loss",
            "sklearn.metrics.hinge_loss(y_true[:, 0], y_pred[:, 0])",
            _sklearn_hinge,
            "mean",
            weighted_call="sklearn.metrics.hinge_loss(y_true[:, 0], y_pred[:, 0], sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            when=lambda p, k: k == 1,
        ),
    ),
)
def hinge(b: Chunk, p: Params) -> np.ndarray:
    """Hinge loss: how far each score falls short of a margin of 1 on the side of its ±1 label.

    e[i,k] = max(0, 1 − y[i,k]·ŷ[i,k])   (labels −1/+1; 0/1 labels are read with 0 as −1)
    l_i = mean_k e[i,k], as Keras averages over the last axis, so the frameworks report mean.

    >>> b = Chunk(np.array([[0.3, 0.5]]), np.array([[1.0, -1.0]]))
    >>> hinge(b, Params()).round(6).tolist()  # hand: 1 − 0.3, 1 + 0.5
    [[0.7, 1.5]]
    """
    return _margin(b)


def _keras_squared_hinge(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(np.maximum(1.0 - _keras_hinge_labels(b.y_true) * b.y_pred, 0.0) ** 2, axis=1)


@register(
    "squared-hinge",
    domain=_signed_labels,
    aliases=("squared_hinge",),
    kind="element",
    inner="mean",
    squared=True,
    validate=_validate_hinge("squared-hinge"),
    expects="decision scores, shape (N, K); labels -1/+1 or 0/1 (0 read as -1), shape (N, K)",
    pitfalls=(
        "Labels 0/1 must become −1/+1: Keras converts them only when every label is 0 or 1; "
        "lossctl refuses a mix of 0 and −1.",
        "The square applies after the max: max(0, 1 − y·ŷ)², not max(0, 1 − (y·ŷ)²).",
        "PyTorch and scikit-learn have no binary squared hinge (MultiMarginLoss(p=2) is the multiclass one).",
    ),
    frameworks=(
        Framework(
            "keras",
            "keras.losses.SquaredHinge()",
            "keras.losses.SquaredHinge()(y_true, y_pred)",
            _keras_squared_hinge,
            "mean",
            float32=True,
            weighted_call="keras.losses.SquaredHinge()(y_true, y_pred" + KERAS_SAMPLE_WEIGHT,
        ),
    ),
)
def squared_hinge(b: Chunk, p: Params) -> np.ndarray:
    """Squared hinge loss: the hinge's shortfall from the margin, squared.

    e[i,k] = max(0, 1 − y[i,k]·ŷ[i,k])²   (labels −1/+1; 0/1 labels are read with 0 as −1)
    l_i = mean_k e[i,k], as Keras averages over the last axis, so the frameworks report mean.

    >>> b = Chunk(np.array([[0.3, 0.5]]), np.array([[1.0, -1.0]]))
    >>> squared_hinge(b, Params()).round(6).tolist()  # hand: 0.7², 1.5²
    [[0.49, 2.25]]
    """
    return _margin(b) ** 2


def _validate_categorical_hinge(b: Chunk, p: Params) -> None:
    """Two classes at least; a label row that is not one-hot is undefined for the loss, not refused (Keras computes)."""
    if b.y_pred.shape[1] < 2:
        raise DomainError("categorical-hinge needs at least 2 classes (columns); {predictions} has 1")


def _not_onehot(y: np.ndarray) -> np.ndarray:
    return ~hard_rows(y) | (np.sum(y, axis=1) != 1)


def _argmax_onehot(b: Chunk) -> Chunk:
    """The labels as PyTorch's and scikit-learn's calls see them: ``y_true.argmax(axis=1)``, one-hot again."""
    return Chunk(b.y_pred, onehot(np.argmax(b.y_true, axis=1), b.y_true.shape[1]), b.weights, b.start)


def _keras_categorical_hinge(b: Chunk, p: Params) -> np.ndarray:
    pos = np.sum(b.y_true * b.y_pred, axis=1)
    neg = np.max((1.0 - b.y_true) * b.y_pred, axis=1)
    return np.maximum(neg - pos + 1.0, 0.0)


def _torch_multi_margin(b: Chunk, p: Params) -> np.ndarray:
    b = _argmax_onehot(b)
    s, true = b.y_pred, b.y_true > 0
    s_true = np.sum(np.where(true, s, 0.0), axis=1, keepdims=True)
    margins = np.where(true, 0.0, np.maximum(0.0, 1.0 - s_true + s))
    return np.sum(margins, axis=1) / s.shape[1]


def _sklearn_categorical_hinge(b: Chunk, p: Params) -> np.ndarray:
    b = _argmax_onehot(b)
    return _crammer_singer(b.y_pred, b.y_true)


def _classes(p: Params, k: int) -> bool:
    return k >= 2


def _positive_scores(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """Scores ≥ 0, so every wrong class scores ≥ 0 and Keras's categorical hinge equals Crammer–Singer."""
    n, k = shape
    return rng.uniform(0.0, 2.0, size=shape), np.eye(k)[rng.integers(0, k, size=n)]


@register(
    "categorical-hinge",
    domain=_positive_scores,
    min_outputs=2,
    aliases=("categorical_hinge",),
    kind="sample",
    inner="sum",
    validate=_validate_categorical_hinge,
    expects="class scores, shape (N, K) with K ≥ 2; one-hot labels, shape (N, K)",
    undefined="a label row that is not one-hot (one 1, zeros elsewhere); Keras still computes its formula, "
    "PyTorch's and scikit-learn's calls take the argmax",
    pitfalls=(
        "Keras's categorical_hinge is max(0, max((1−y)·s) − Σ y·s + 1): the true class's masked 0 enters "
        "the max, so when every wrong-class score is negative it differs from the multiclass "
        "(Crammer–Singer) hinge, e.g. s = [−1, −2, 0.5] with class 2 gives 0.5 instead of 0.",
        "PyTorch's MultiMarginLoss sums the margins of every wrong class and divides by K; "
        "it is a different loss (Weston–Watkins / K).",
        "scikit-learn's hinge_loss needs every class present or labels=.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.MultiMarginLoss()",
            "torch.nn.functional.multi_margin_loss(torch.from_numpy(y_pred), torch.from_numpy(y_true.argmax(axis=1)))",
            _torch_multi_margin,
            None,
            note="a different loss: Σ over wrong classes of max(0, 1 − s_t + s_j), divided by K",
            when=_classes,
        ),
        Framework(
            "keras",
            "keras.losses.CategoricalHinge()",
            "keras.losses.CategoricalHinge()(y_true, y_pred)",
            _keras_categorical_hinge,
            "batch_mean",
            note="max((1-y)*s) includes the true class's 0, so it differs when every wrong score is < 0",
            float32=True,
            weighted_call="keras.losses.CategoricalHinge()(y_true, y_pred" + KERAS_SAMPLE_WEIGHT,
            when=_classes,
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.hinge_loss (Crammer-Singer)",
            "sklearn.metrics.hinge_loss(y_true.argmax(axis=1), y_pred, labels=np.arange(y_pred.shape[1]))",
            _sklearn_categorical_hinge,
            "batch_mean",
            weighted_call="sklearn.metrics.hinge_loss(y_true.argmax(axis=1), y_pred, "
            "labels=np.arange(y_pred.shape[1]), sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            when=lambda p, k: k >= 3,
        ),
    ),
)
def categorical_hinge(b: Chunk, p: Params) -> np.ndarray:
    """Categorical hinge: how far the true class's score falls short of beating every other class by 1.

    l_i = max(0, 1 + max_{j≠t} s[i,j] − s[i,t])   (t the true class of sample i: the multiclass,
    Crammer–Singer hinge; it exists only per sample)

    >>> b = Chunk(np.array([[-1.0, -2.0, 0.5], [1.0, -2.0, 0.5]]), np.eye(3)[[2, 2]])
    >>> categorical_hinge(b, Params()).round(6).tolist()  # hand: max(0, 1 − 1 − 0.5), 1 + 1 − 0.5
    [0.0, 1.5]
    """
    return np.where(_not_onehot(b.y_true), np.nan, _crammer_singer(b.y_pred, b.y_true))
