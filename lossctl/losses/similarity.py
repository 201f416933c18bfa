"""Losses comparing directions: cosine similarity."""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..frameworks import (
    Framework,
    torch_array,
)
from ..params import Params
from ._numerics import (
    DEFAULT,
)
from ._registry import register

#: Keras caps 1/‖x‖ at ``1 / epsilon`` = 1e7 (exact in float32) when normalizing: a norm floored at 1e-7
KERAS_NORM_FLOOR = 1.0 / float(np.float32(1.0 / 1e-7))


#: the constant PyTorch's cosine_embedding_loss adds to each squared norm
TORCH_COSINE_EPS = 1e-12


def _correlated_rows(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """Rows pointing roughly the same way: cos stays away from 0, where float32 loses relative precision."""
    y_true = rng.normal(size=shape)
    return y_true + rng.normal(scale=0.5, size=shape), y_true


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Each row divided by its length; an all-zero row becomes NaN (0/0).

    Rows are first scaled by their largest magnitude, so squaring neither
    underflows (a row of 1e-200s) nor overflows (a row of 1e200s).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = x / np.max(np.abs(x), axis=1, keepdims=True)
        return scaled / np.linalg.norm(scaled, axis=1, keepdims=True)


def _keras_cosine(b: Chunk, p: Params) -> np.ndarray:
    def unit(x: np.ndarray) -> np.ndarray:
        # x · min(1/‖x‖, 1e7) is x / max(‖x‖, 1e-7); dividing keeps one-column rows exactly ±1
        return x / np.maximum(np.sqrt(np.sum(x**2, axis=1, keepdims=True)), KERAS_NORM_FLOOR)

    return -np.sum(unit(b.y_true) * unit(b.y_pred), axis=1)


def _torch_cosine_embedding(b: Chunk, p: Params) -> np.ndarray:
    dot = np.sum(b.y_pred * b.y_true, axis=1)
    squares = (np.sum(b.y_pred**2, axis=1) + TORCH_COSINE_EPS) * (np.sum(b.y_true**2, axis=1) + TORCH_COSINE_EPS)
    return 1.0 - dot / np.sqrt(squares)


def _one_column(b: Chunk, p: Params) -> list[str]:
    if b.y_pred.shape[1] == 1:
        return [
            "cosine of one-column rows is only the sign agreement (±1) of each sample; "
            "each row of {predictions} should be a vector"
        ]
    return []


@register(
    "cosine",
    domain=_correlated_rows,
    aliases=("cosine_similarity", "cosine_proximity"),
    kind="sample",
    inner="sum",
    warnings=_one_column,
    expects="predictions and labels of the same shape (N, K); each row is a vector compared by direction",
    undefined="0/0: an all-zero row has no direction",
    zero_at_perfect=False,
    pitfalls=(
        "Keras's loss is −cos (−1 is a perfect match); PyTorch's F.cosine_similarity and tf.keras's metric "
        "are +cos, and PyTorch's CosineEmbeddingLoss with target 1 is 1 − cos.",
        "PyTorch's F.cosine_similarity reduces dim=1 by default, Keras the last axis: the same for (N, K) "
        "arrays but not for 3-D tensors.",
        "A zero vector has no direction: Keras returns 0 for it and PyTorch's CosineEmbeddingLoss 1, "
        "hiding the problem.",
        "keras.losses.cosine_proximity is gone in Keras 3; in Keras 2.3 the metric of that name had the "
        "opposite sign of the loss.",
    ),
    frameworks=(
        Framework(
            "keras",
            "keras.losses.CosineSimilarity()",
            "keras.losses.CosineSimilarity()(y_true, y_pred)",
            _keras_cosine,
            "batch_mean",
            note="floors each norm at 1e-7, so an all-zero row counts as 0",
            float32=True,
            weighted_call="keras.losses.CosineSimilarity()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "pytorch",
            "torch.nn.CosineEmbeddingLoss()",
            f"torch.nn.functional.cosine_embedding_loss({torch_array('y_pred')}, {torch_array('y_true')}, "
            "torch.ones(len(y_pred), dtype=torch.float64))",
            _torch_cosine_embedding,
            None,
            note="with target 1 it is 1 − cos (lossctl's batch_mean + 1); adds 1e-12 to each squared norm",
        ),
    ),
)
def cosine(b: Chunk, p: Params) -> np.ndarray:
    """Cosine similarity loss: minus the cosine of the angle between each prediction row and label row.

    l[i] = −Σ_k ŷ[i,k]·y[i,k] / (‖ŷ[i]‖·‖y[i]‖)   (−1 is a perfect match; undefined for an all-zero row)

    >>> b = Chunk(np.array([[1.0, 1.0], [-1.0, -1.0]]), np.array([[1.0, 0.0], [1.0, 1.0]]))
    >>> np.round(cosine(b, Params()), 4).tolist()  # hand: −1/√2, −(−2)/(√2·√2)
    [-0.7071, 1.0]
    """
    return -np.sum(_unit_rows(b.y_pred) * _unit_rows(b.y_true), axis=1)
