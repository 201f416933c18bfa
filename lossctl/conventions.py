"""The averaging conventions: which "n" divides the sum of a loss's terms.

Every convention is a reducer over :class:`Totals`, the float64 sums a single
pass over the data accumulates (see :mod:`lossctl.compute`). A loss made of
element terms ``e[i, k]`` over an ``(N, K)`` grid gets the whole grid of
divisors; a loss defined only per sample gets ``batch_mean``, ``sum`` and
``per_sample``. With sample weights, the weighted conventions apply to the
per-sample losses ``l_i`` (each sample's loss under the loss's own inner
reduction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import UsageError


@dataclass
class Totals:
    """What every convention needs, accumulated in float64 over all rows."""

    n_samples: int
    n_outputs: int
    total: float  # sum of element terms (or of per-sample values, for kind="sample")
    per_sample: np.ndarray | None  # l_i under the loss's inner reduction, (N,)
    per_output: np.ndarray | None  # column sums of the element terms, (K,)
    sum_w: float | None = None  # sum of sample weights
    weighted_total: float | None = None  # sum_i w_i * l_i
    #: weighted_total / sum_w, computed on power-of-two-scaled sums so that huge or tiny weights cancel exactly
    weighted_ratio: float | None = None
    #: Σ_i Σ_k cw_k·y[i,k] (= Σ_i cw[t_i] for class indices): PyTorch's divisor with class weights
    sum_class_w: float | None = None
    #: Σ_i w_i·e[i,k] per output column, with weights (scikit-learn's weighted per-output means)
    weighted_per_output: np.ndarray | None = None


@dataclass(frozen=True)
class Convention:
    name: str
    divisor: str | None  # symbol; None for vectors
    meaning: str
    users: str
    short: str
    n: Callable[[Totals], float | None]
    value: Callable[[Totals], float | np.ndarray | None]
    element_only: bool = False
    squared_only: bool = False
    weighted: bool = False
    vector: bool = False
    #: only with --class-weights
    class_weighted: bool = False

    def applies(self, kind: str, squared: bool, weighted: bool, class_weighted: bool = False) -> bool:
        if (self.weighted and not weighted) or (self.class_weighted and not class_weighted):
            return False
        if self.element_only and kind != "element":
            return False
        return not (self.squared_only and not squared)


def _nk(t: Totals) -> float:
    return float(t.n_samples * t.n_outputs)


# fmt: off
CONVENTIONS: tuple[Convention, ...] = (
    # name, divisor, meaning, users (explain), short (table), n, value
    Convention(
        "mean", "N*K", "mean over every element",
        "np.mean, PyTorch reduction='mean', scikit-learn, Keras (for losses averaged over outputs)",
        "mean of all N·K terms",
        _nk, lambda t: t.total / _nk(t), element_only=True,
    ),
    Convention(
        "batch_mean", "N", "sum over outputs within a sample, mean over samples",
        "a cost summed over a sample's outputs and averaged over the batch; Keras and PyTorch "
        "cross-entropy; PyTorch kl_div reduction='batchmean'",
        "sum per sample, mean over samples",
        lambda t: float(t.n_samples), lambda t: t.total / t.n_samples,
    ),
    Convention(
        "sum_of_sample_means", "K", "mean over outputs within a sample, summed over samples",
        "Keras reduction='sum' for losses averaged over the last axis",
        "mean per sample, summed over samples",
        lambda t: float(t.n_outputs), lambda t: t.total / t.n_outputs, element_only=True,
    ),
    Convention(
        "sum", "1", "sum of every element",
        "PyTorch reduction='sum', np.sum",
        "sum of all terms",
        lambda t: 1.0, lambda t: t.total,
    ),
    Convention(
        "half_mean", "2*N*K", "half of mean",
        "1/(2n) Σ(ŷ−y)² with n = N·K, as in many textbook derivations",
        "½ × mean",
        lambda t: 2 * _nk(t), lambda t: t.total / (2 * _nk(t)), element_only=True, squared_only=True,
    ),
    Convention(
        "half_batch_mean", "2*N", "half of batch_mean",
        "the ½-scaled cost averaged over training examples (Andrew Ng's course, backprop notes)",
        "½ × batch_mean",
        lambda t: 2.0 * t.n_samples, lambda t: t.total / (2 * t.n_samples), element_only=True, squared_only=True,
    ),
    Convention(
        "half_sum", "2", "half of sum: the quadratic loss ½Σ(ŷ−y)²",
        "the quadratic loss; optax l2_loss summed; tf.nn.l2_loss",
        "½ × sum: the quadratic loss",
        lambda t: 2.0, lambda t: t.total / 2, element_only=True, squared_only=True,
    ),
    Convention(
        "weighted_mean", "sum(w)", "Σ w_i·l_i / Σ w_i over per-sample losses l_i",
        "scikit-learn sample_weight, Keras reduction='mean_with_sample_weight', Keras metrics",
        "Σ w·l / Σw",
        lambda t: t.sum_w, lambda t: t.weighted_ratio, weighted=True,
    ),
    Convention(
        "weighted_batch_mean", "N", "Σ w_i·l_i / N over per-sample losses l_i",
        "Keras's default reduction='sum_over_batch_size' with sample_weight",
        "Σ w·l / N",
        lambda t: float(t.n_samples), lambda t: t.weighted_total / t.n_samples, weighted=True,
    ),
    Convention(
        "weighted_sum", "1", "Σ w_i·l_i over per-sample losses l_i",
        "Keras reduction='sum' with sample_weight",
        "Σ w·l",
        lambda t: 1.0, lambda t: t.weighted_total, weighted=True,
    ),
    Convention(
        "class_weighted_mean", "sum(w[y])", "Σ of class-weighted terms / Σ_i w[y_i], the class weights of the targets",
        "PyTorch CrossEntropyLoss/NLLLoss(weight=) with class-index targets, reduction='mean'",
        "Σ e / Σ w[y]",
        lambda t: t.sum_class_w,
        lambda t: t.total / t.sum_class_w if t.sum_class_w else None, class_weighted=True,
    ),
    Convention(
        "per_sample", None, "each sample's loss under the loss's own inner reduction",
        "reduction='none' after the framework's inner reduction (Keras per-sample losses)",
        "each sample's loss l_i",
        lambda t: None, lambda t: t.per_sample, vector=True,
    ),
    Convention(
        "per_output", None, "mean over samples for each output column",
        "scikit-learn multioutput='raw_values'",
        "each output's mean over samples",
        lambda t: None, lambda t: t.per_output / t.n_samples if t.per_output is not None else None,
        element_only=True, vector=True,
    ),
)
# fmt: on

BY_NAME = {c.name: c for c in CONVENTIONS}


def get_convention(name: str) -> Convention:
    try:
        return BY_NAME[name.strip().lower().replace("-", "_")]
    except KeyError:
        from .suggest import unknown

        raise UsageError(unknown("convention", name, BY_NAME, f"known conventions: {', '.join(BY_NAME)}")) from None


def applicable(kind: str, squared: bool, weighted: bool, class_weighted: bool = False) -> list[Convention]:
    return [c for c in CONVENTIONS if c.applies(kind, squared, weighted, class_weighted)]
