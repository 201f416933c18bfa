"""Binary cross-entropy (the cross-entropy family's two-class member): each output an independent
probability or logit, with Keras's, PyTorch's and scikit-learn's clipping and options.

Shares the family's numerics and checks with :mod:`.cross_entropy`.
"""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..frameworks import (
    KERAS_EPS,
    KERAS_ONE_MINUS_EPS,
    KERAS_SAMPLE_WEIGHT,
    Framework,
)
from ..params import CLASS_WEIGHTS, LABEL_SMOOTHING, LOGITS, POS_WEIGHT, Params
from ._ce_options import (
    BCE_DOCS,
    check_options,
    class_w,
    plain,
    smooth,
)
from ._numerics import (
    DEFAULT,
    hard_rows,
    log1m,
    safe_log,
)
from ._registry import register
from .cross_entropy import (
    _bce_terms,
    _check_label_probabilities,
    _check_probabilities,
    _logits_look_like_probabilities,
    _sklearn_eps,
)


def _keras_bce(b: Chunk, p: Params) -> np.ndarray:
    """Keras: targets smoothed toward ½, probabilities clipped to [1e-7, 1 − 1e-7]; no class or pos weights."""
    y = smooth(b.y_true, p, 2)
    if p.logits:
        return np.mean(_bce_terms(y, b.y_pred, True), axis=1)
    q = np.clip(b.y_pred, KERAS_EPS, KERAS_ONE_MINUS_EPS)
    return np.mean(-(y * np.log(q) + (1 - y) * np.log1p(-q)), axis=1)


def _torch_bce(b: Chunk, p: Params) -> np.ndarray:
    """PyTorch: weight= per output column, pos_weight= (logits); no smoothing (the entry needs ε = 0)."""
    if p.logits:
        return np.mean(_bce_terms(b.y_true, b.y_pred, True, p), axis=1)
    # BCELoss clamps each log at -100, so one term is at most 100
    log_p = np.maximum(safe_log(b.y_pred), -100.0)
    log_1mp = np.maximum(log1m(b.y_pred), -100.0)
    return np.mean(-class_w(p, b.y_pred.shape[1]) * (b.y_true * log_p + (1 - b.y_true) * log_1mp), axis=1)


def _sklearn_bce(b: Chunk, p: Params) -> np.ndarray:
    """log_loss on one column: [1 − p, p], each clipped to [eps, 1 − eps]; hard labels only (else nan)."""
    y, pred = b.y_true[:, 0], b.y_pred[:, 0]
    bounds = _sklearn_eps(pred)
    q1 = np.clip(pred, *bounds)
    q0 = np.clip(1 - pred, *bounds)
    return np.where(y == 1, -np.log(q1), np.where(y == 0, -np.log(q0), np.nan))


def _validate_bce(b: Chunk, p: Params) -> None:
    check_options(b, p, "bce")
    _check_probabilities(b, p, "bce")
    _check_label_probabilities(b, "bce", "labels (0/1 or soft targets)")


def _warn_bce(b: Chunk, p: Params) -> list[str]:
    out = _logits_look_like_probabilities(b, p)
    if not p.logits and b.y_pred.shape[1] == 1 and not np.all(hard_rows(b.y_true)):
        out.append("{labels} holds soft targets (not 0/1): scikit-learn's log_loss refuses them, so its value is nan")
    return out


def _binary_domain(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    y_true = rng.integers(0, 2, size=shape).astype(np.float64)
    return (rng.normal(scale=3.0, size=shape) if p.logits else rng.uniform(0.01, 0.99, size=shape)), y_true


@register(
    "bce",
    domain=_binary_domain,
    aliases=("binary_crossentropy",),
    kind="element",
    inner="mean",
    options=(LOGITS, LABEL_SMOOTHING, CLASS_WEIGHTS, POS_WEIGHT),
    option_docs=BCE_DOCS,
    validate=_validate_bce,
    warnings=_warn_bce,
    expects="probabilities of the positive class (or scores with --logits), shape (N, K); "
    "labels 0/1 or soft targets in [0, 1], shape (N, K)",
    undefined="a predicted probability is 0 or 1 where the label says the opposite (log 0)",
    pitfalls=(
        "Each output is its own binary problem: Keras averages over the outputs (mean), while summing "
        "them (batch_mean) is K× larger.",
        "Probabilities of exactly 0 or 1 make the loss infinite; each framework hides that differently: "
        "PyTorch clamps each log at −100, Keras clips to [1e-7, 1−1e-7] in float32 (16.1 at most), "
        "scikit-learn clips at 2.2e-16 (36.0 at most).",
        "Applying a sigmoid and then BCELoss loses precision for large scores; pass --logits "
        "(BCEWithLogitsLoss, from_logits=True) for raw scores.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.BCELoss()",
            "torch.nn.functional.binary_cross_entropy(torch.from_numpy(y_pred), torch.from_numpy(y_true){torch_weight})",
            _torch_bce,
            "mean",
            note="clamps each log at -100",
            weighted_call="torch.nn.functional.binary_cross_entropy(torch.from_numpy(y_pred), "
            "torch.from_numpy(y_true), weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape)"
            "{torch_cw_mul})",
            when=lambda p, k: not p.logits and not p.label_smoothing,
        ),
        Framework(
            "pytorch",
            "torch.nn.BCEWithLogitsLoss()",
            "torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(y_pred), torch.from_numpy(y_true)"
            "{torch_weight}{torch_pos_weight})",
            _torch_bce,
            "mean",
            weighted_call="torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(y_pred), "
            "torch.from_numpy(y_true), weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape)"
            "{torch_cw_mul}{torch_pos_weight})",
            when=lambda p, k: p.logits and not p.label_smoothing,
        ),
        Framework(
            "keras",
            "keras.losses.BinaryCrossentropy()",
            "keras.losses.BinaryCrossentropy({keras_ls_only})(y_true, y_pred)",
            _keras_bce,
            "mean",
            note="clips to [1e-7, 1-1e-7]",
            float32=True,
            weighted_call="keras.losses.BinaryCrossentropy({keras_ls_only})(y_true, y_pred" + KERAS_SAMPLE_WEIGHT,
            when=lambda p, k: not p.logits and p.class_weights is None,
        ),
        Framework(
            "keras",
            "keras.losses.BinaryCrossentropy(from_logits=True)",
            "keras.losses.BinaryCrossentropy(from_logits=True{keras_ls})(y_true, y_pred)",
            _keras_bce,
            "mean",
            float32=True,
            weighted_call="keras.losses.BinaryCrossentropy(from_logits=True{keras_ls})(y_true, y_pred"
            + KERAS_SAMPLE_WEIGHT,
            when=lambda p, k: p.logits and p.class_weights is None and p.pos_weight is None,
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.log_loss",
            "sklearn.metrics.log_loss(y_true[:, 0], y_pred[:, 0], labels=[0, 1])",
            _sklearn_bce,
            "mean",
            note="clips at finfo(dtype).eps; hard 0/1 labels only",
            weighted_call="sklearn.metrics.log_loss(y_true[:, 0], y_pred[:, 0], labels=[0, 1], "
            "sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            when=lambda p, k: not p.logits and k == 1 and plain(p),
        ),
    ),
)
def bce(b: Chunk, p: Params) -> np.ndarray:
    """Binary cross-entropy: each output's log-loss against its 0/1 (or soft) label.

    e[i,k] = −[y·log ŷ + (1−y)·log(1−ŷ)]   (0·log 0 = 0; with --logits, log ŷ = log-sigmoid of the score)
    l_i = mean_k e[i,k], as Keras averages over the last axis, so the frameworks report mean.

    >>> b = Chunk(np.array([[0.8], [0.4]]), np.array([[1.0], [0.0]]))
    >>> float(np.round(bce(b, Params()).mean(), 6))  # hand: (−log 0.8 − log 0.6) / 2
    0.366985
    """
    return _bce_terms(b.y_true, b.y_pred, p.logits, p)
