"""What the cross-entropy options change: label smoothing, class weights and pos weights in the terms,
the frameworks that have them, and what ``lossctl explain`` says about each (used by :mod:`.cross_entropy`)."""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..errors import UsageError
from ..params import Params
from ._numerics import onehot, xlog


def smooth(y: np.ndarray, p: Params, classes: int) -> np.ndarray:
    """--label-smoothing: y(1−ε) + ε/C, as Keras and PyTorch smooth targets (C = 2 for bce)."""
    eps = p.label_smoothing
    return y * (1.0 - eps) + eps / classes if eps else y


def class_w(p: Params, k: int) -> np.ndarray | float:
    """--class-weights as a row to multiply the (n, K) terms by (1 without the option)."""
    return 1.0 if p.class_weights is None else np.asarray(p.class_weights, dtype=np.float64)


def targets(b: Chunk, p: Params) -> np.ndarray:
    """The (n, K) targets after one-hot encoding of class indices and --label-smoothing."""
    k = b.y_pred.shape[1]
    y = b.y_true if b.y_true.ndim == 2 else onehot(b.y_true, k)
    return smooth(y, p, k)


def weighted_ce(b: Chunk, p: Params, log_q: np.ndarray) -> np.ndarray:
    """e[i,k] = −cw_k·ỹ[i,k]·log q[i,k], ỹ the (smoothed) targets: PyTorch's CrossEntropyLoss terms."""
    return class_w(p, b.y_pred.shape[1]) * xlog(targets(b, p), log_q)


def check_options(b: Chunk, p: Params, loss: str) -> None:
    """--class-weights has K numbers; --pos-weight 1 or K, and only with --logits; ε in [0, 1]."""
    k = b.y_pred.shape[1]
    if not 0.0 <= p.label_smoothing <= 1.0:
        raise UsageError(f"--label-smoothing must be in [0, 1], not {p.label_smoothing:g}")
    what = "output column" if loss == "bce" else "class"
    if p.class_weights is not None and len(p.class_weights) != k:
        raise UsageError(
            f"--class-weights has {len(p.class_weights)} numbers but the predictions have {k} columns; "
            f"give one weight per {what}"
        )
    if p.pos_weight is not None:
        if not p.logits:
            raise UsageError(
                "--pos-weight needs --logits: PyTorch's pos_weight exists only in BCEWithLogitsLoss (raw scores)"
            )
        if len(p.pos_weight) not in (1, k):
            raise UsageError(f"--pos-weight has {len(p.pos_weight)} numbers; give one, or one per output column ({k})")


def keras_sparse(p: Params) -> bool:
    """Keras's SparseCategoricalCrossentropy has ignore_class but neither label smoothing nor class weights."""
    return not p.label_smoothing and p.class_weights is None


def plain(p: Params) -> bool:
    """No option a framework without options could be given (scikit-learn's log_loss has none of them)."""
    return not p.label_smoothing and p.class_weights is None and p.ignore_index is None and p.pos_weight is None


#: what each option changes, per loss (``lossctl explain``)
LOGITS_DOC = ("logits", "log ŷ becomes the log-softmax (bce: log-sigmoid) of the scores; the divisors do not change.")
CCE_DOCS = (
    LOGITS_DOC,
    (
        "label_smoothing",
        "Terms use ỹ = y(1−ε) + ε/K: every class gets a term. Divisors unchanged (N for batch_mean). "
        "Keras CategoricalCrossentropy(label_smoothing=ε) and PyTorch cross_entropy(label_smoothing=ε) "
        "smooth the same way; scikit-learn has none (no row).",
    ),
    (
        "class_weights",
        "Terms become w_k·ỹ[i,k]·(−log ŷ[i,k]); adds class_weighted_mean = Σ e / Σ_i Σ_k w_k·y[i,k] (= Σ w[y] "
        "for one-hot labels). PyTorch cross_entropy(weight=) on probability targets divides by N (batch_mean); "
        "on class indices by Σ w[y] (see sparse-cce). Keras and scikit-learn have no class weights (no rows).",
    ),
)
SPARSE_DOCS = (
    LOGITS_DOC,
    (
        "label_smoothing",
        "Terms use ỹ = onehot(t)(1−ε) + ε/K, so every class gets a term: PyTorch's "
        "(1−ε)·NLL + (ε/K)·Σ_k w_k(−log ŷ_k), divided by the same Σ w[y] (or the non-ignored N). "
        "Keras's SparseCategoricalCrossentropy and PyTorch's nll_loss have no label smoothing (no rows).",
    ),
    (
        "ignore_index",
        "Rows labelled I leave every sum and every divisor: N (and N·K, Σw, Σ w[y]) count the other rows, as "
        "PyTorch ignore_index=I and Keras ignore_class=I do; the note says how many rows were ignored. "
        "I may be outside [0, K) (−100, −1); per_sample lists the kept rows only. scikit-learn has none (no row).",
    ),
    (
        "class_weights",
        "Terms become w[t_i]·(−log ŷ[i,t_i]); adds class_weighted_mean = Σ e / Σ_i w[t_i], which is what "
        "PyTorch's CrossEntropyLoss/NLLLoss(weight=) report with reduction='mean' (not batch_mean). "
        "Keras and scikit-learn have no class weights (no rows).",
    ),
)
BCE_DOCS = (
    LOGITS_DOC,
    (
        "label_smoothing",
        "Terms use ỹ = y(1−ε) + ε/2 (squeezed toward ½, C = 2 as in Keras BinaryCrossentropy(label_smoothing=ε)); "
        "divisors unchanged. PyTorch's BCE losses and scikit-learn have no label smoothing (no rows).",
    ),
    (
        "class_weights",
        "One weight per output column: e[i,k] is multiplied by w_k; divisors unchanged (mean still ÷ N·K), as "
        "PyTorch binary_cross_entropy(weight=) broadcast over the columns. Keras and scikit-learn have none.",
    ),
    (
        "pos_weight",
        "With --logits only: the positive term of column k is multiplied by p_k (one number: every column); "
        "divisors unchanged, as PyTorch BCEWithLogitsLoss(pos_weight=). Keras and scikit-learn have none.",
    ),
)
