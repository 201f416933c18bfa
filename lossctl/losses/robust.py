"""Robust losses, quadratic near 0 and linear far out: Huber and log-cosh."""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..frameworks import (
    OWN,
    TORCH_WEIGHT,
    Framework,
    torch_array,
)
from ..params import DELTA, Params
from ._numerics import (
    normal_pairs,
)
from ._registry import register


def _huber_terms(error: np.ndarray, delta: float) -> np.ndarray:
    a = np.abs(error)
    return np.where(a <= delta, 0.5 * error**2, delta * (a - 0.5 * delta))


def _huber(b: Chunk, p: Params) -> np.ndarray:
    return _huber_terms(b.y_pred - b.y_true, p.delta)


def _keras_huber(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(_huber_terms(b.y_pred - b.y_true, float(np.float32(p.delta))), axis=1)


def _smooth_l1(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(_huber(b, p), axis=1) / p.delta


@register(
    "huber",
    domain=normal_pairs,
    kind="element",
    inner="mean",
    options=(DELTA,),
    expects="predictions and labels of the same shape (N, K); --delta > 0 sets the threshold (default 1)",
    pitfalls=(
        "PyTorch's SmoothL1Loss(beta=δ) is HuberLoss(delta=δ) divided by δ: the two agree only at δ = 1.",
        "δ is in the units of the error: with δ = 1 on targets in the thousands, Huber is MAE minus a constant.",
        "Huber carries a ½: for small errors it is half the squared error, not the squared error.",
        "PyTorch's F.huber_loss(weight=) divides by N·K, while F.mse_loss and F.l1_loss with weight= divide by Σw.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.HuberLoss()",
            f"torch.nn.functional.huber_loss({torch_array('y_pred')}, {torch_array('y_true')}, delta={{delta}})",
            OWN,
            "mean",
            weighted_call=f"torch.nn.functional.huber_loss({torch_array('y_pred')}, {torch_array('y_true')}, delta={{delta}}, "
            f"{TORCH_WEIGHT})",
            weighted_divisor="N",
        ),
        Framework(
            "pytorch",
            "torch.nn.SmoothL1Loss()",
            f"torch.nn.functional.smooth_l1_loss({torch_array('y_pred')}, {torch_array('y_true')}, beta={{delta}})",
            _smooth_l1,
            "mean",
            note="SmoothL1Loss(beta=δ) is Huber/δ: equal to HuberLoss only at δ = 1",
        ),
        Framework(
            "keras",
            "keras.losses.Huber()",
            "keras.losses.Huber(delta={delta})(y_true, y_pred)",
            _keras_huber,
            "mean",
            float32=True,
            weighted_call="keras.losses.Huber(delta={delta})(y_true, y_pred, sample_weight=sample_weight)",
        ),
    ),
)
def huber(b: Chunk, p: Params) -> np.ndarray:
    """Huber loss: quadratic for errors up to δ, linear beyond (δ from --delta, default 1).

    e[i,k] = ½·d²            if |d| ≤ δ
             δ·(|d| − ½·δ)   otherwise,   where d = ŷ[i,k] − y[i,k]

    >>> b = Chunk(np.array([[0.5, 2.0, -3.0]]), np.zeros((1, 3)))
    >>> huber(b, Params(delta=1.0)).tolist()  # hand: ½·0.25, 1·(2 − ½), 1·(3 − ½)
    [[0.125, 1.5, 2.5]]
    """
    return _huber(b, p)


LOG2 = float(np.log(2.0))


def _log_cosh(error: np.ndarray) -> np.ndarray:
    """log(cosh(d)) without overflow and without cancellation for small |d|.

    For |d| < 1: log(1 + 2·sinh²(d/2)), exact to rounding even for tiny d;
    otherwise |d| + log(1 + exp(−2|d|)) − log 2, which never overflows.
    """
    a = np.abs(error)
    small = np.log1p(2.0 * np.sinh(np.minimum(a, 1.0) / 2.0) ** 2)
    large = a + np.log1p(np.exp(-2.0 * a)) - LOG2
    return np.where(a < 1.0, small, large)


def _logcosh(b: Chunk, p: Params) -> np.ndarray:
    return _log_cosh(b.y_pred - b.y_true)


@register(
    "logcosh",
    domain=normal_pairs,
    aliases=("log_cosh",),
    kind="element",
    inner="mean",
    pitfalls=(
        "Written as log(cosh(d)) it overflows for |d| > ~710; the stable form is |d| + log(1 + e^(−2|d|)) − log 2.",
        "For small errors log cosh(d) ≈ d²/2 (half the squared error), for large ones ≈ |d| − log 2.",
        "Keras 3 exports it as keras.losses.log_cosh / LogCosh; the old name logcosh survives only under "
        "keras._legacy. Keras's float32 formula loses relative precision for errors far below 1.",
        "PyTorch and scikit-learn have no log-cosh loss.",
    ),
    frameworks=(
        Framework(
            "keras",
            "keras.losses.LogCosh()",
            "keras.losses.LogCosh()(y_true, y_pred)",
            OWN,
            "mean",
            note="Keras's float32 d + softplus(−2d) − log 2 is rounding noise for errors below ~1e-3",
            float32=True,
            weighted_call="keras.losses.LogCosh()(y_true, y_pred, sample_weight=sample_weight)",
        ),
    ),
)
def logcosh(b: Chunk, p: Params) -> np.ndarray:
    """Log-cosh loss: the logarithm of the hyperbolic cosine of each error.

    e[i,k] = log(cosh(ŷ[i,k] − y[i,k]))

    >>> b = Chunk(np.array([[np.log(2.0), 0.0]]), np.array([[0.0, np.log(3.0)]]))
    >>> np.round(logcosh(b, Params()), 12).tolist() == np.round([[np.log(1.25), np.log(5 / 3)]], 12).tolist()
    True

    (hand: cosh(log 2) = (2 + ½)/2 = 1.25 and cosh(log 3) = (3 + ⅓)/2 = 5/3.)
    """
    return _logcosh(b, p)
