"""Cross-entropies: categorical (one-hot or soft labels), sparse (class indices) and binary.

Convention values are the plain mathematics (no epsilon, 0·log 0 = 0); each
:class:`~lossctl.frameworks.Framework` entry reproduces one framework's own
clipping, epsilon, inner axis and divisor. ``--logits`` turns raw scores into
log-probabilities stably (log-softmax / log-sigmoid), never via exp then log.
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
from ..params import CLASS_WEIGHTS, IGNORE_INDEX, LABEL_SMOOTHING, LOGITS, Params
from ._ce_options import (
    CCE_DOCS,
    SPARSE_DOCS,
    check_options,
    class_w,
    keras_sparse,
    plain,
    smooth,
    targets,
    weighted_ce,
)
from ._numerics import (
    DEFAULT,
    hard_rows,
    log1m,
    log_sigmoid,
    log_softmax,
    onehot,
    rows_off,
    safe_log,
    xlog,
)
from ._registry import check_domain, register


def _log_probs(b: Chunk, p: Params) -> np.ndarray:
    """log ŷ of each class: log-softmax of scores with --logits, else the log of the probabilities."""
    return log_softmax(b.y_pred) if p.logits else safe_log(b.y_pred)


def _bce_terms(y: np.ndarray, pred: np.ndarray, logits: bool, p: Params | None = None) -> np.ndarray:
    pos = 1.0 if p is None or p.pos_weight is None else np.asarray(p.pos_weight, dtype=np.float64)
    cw = 1.0 if p is None else class_w(p, pred.shape[1])
    if p is not None:
        y = smooth(y, p, 2)
    if logits:
        return cw * (pos * xlog(y, log_sigmoid(pred)) + xlog(1 - y, log_sigmoid(-pred)))
    return cw * (pos * xlog(y, safe_log(pred)) + xlog(1 - y, log1m(pred)))


def _check_probabilities(b: Chunk, p: Params, loss: str) -> None:
    if not p.logits:
        bad = (b.y_pred < 0) | (b.y_pred > 1)
        check_domain(
            b, "predictions", bad, f"{loss} expects probabilities in [0, 1]", "pass --logits if these are scores"
        )


def _check_label_probabilities(b: Chunk, loss: str, what: str = "labels") -> None:
    hint = ""
    if b.y_pred.shape[1] == 1:
        hint = "class indices need predictions with one column per class"
    check_domain(b, "labels", (b.y_true < 0) | (b.y_true > 1), f"{loss} expects {what} in [0, 1]", hint)


def _logits_look_like_probabilities(b: Chunk, p: Params) -> list[str]:
    if p.logits and np.all((b.y_pred >= 0) & (b.y_pred <= 1)):
        return [
            "--logits was given but every value of {predictions} is in [0, 1]: "
            "if these are probabilities, drop --logits"
        ]
    return []


_RENORMALIZE = (
    "rows of {predictions} do not all sum to 1: Keras renormalizes each row before the log, "
    "scikit-learn and lossctl's conventions use the values as given (compare the framework rows)"
)


_ONE_CLASS = (
    "{loss} on a single column: one class always has probability 1 after softmax or renormalization; "
    "for one binary output use bce"
)


def _logits(p: Params, k: int) -> bool:
    return p.logits and k >= 2


def _probs(p: Params, k: int) -> bool:
    return not p.logits and k >= 2


def _plain_probs(p: Params, k: int) -> bool:
    """Probabilities and none of the options: the rows whose calls pass no option."""
    return _probs(p, k) and not p.label_smoothing and p.class_weights is None and p.ignore_index is None


def _class_scores(rng: np.random.Generator, shape: tuple[int, int], p: Params) -> np.ndarray:
    """Scores with --logits, else rows of probabilities summing to 1."""
    n, k = shape
    return rng.normal(scale=3.0, size=shape) if p.logits else rng.dirichlet(np.ones(k), size=n)


def _keras_cce(b: Chunk, p: Params) -> np.ndarray:
    if p.logits:
        log_q = log_softmax(b.y_pred)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            q = b.y_pred / np.sum(b.y_pred, axis=1, keepdims=True)
        log_q = np.log(np.clip(q, KERAS_EPS, KERAS_ONE_MINUS_EPS))
    return -np.sum(targets(b, p) * log_q, axis=1)


def _torch_ce(b: Chunk, p: Params) -> np.ndarray:
    """cross_entropy on logits, nll_loss(torch.log(p)) on probabilities: −Σ cw·ỹ·log q, no clipping
    (ỹ the smoothed targets; the divisor, N or Σ w[y], is the entry's)."""
    return np.sum(weighted_ce(b, p, _log_probs(b, p)), axis=1)


def _torch_ce_log_p(b: Chunk, p: Params) -> np.ndarray:
    """cross_entropy(torch.log(p), y) with probability targets: log_softmax(log p) = log(p / Σp), no epsilon.

    A zero probability is log 0 = −inf: the sample's loss is inf where its label is positive there and
    nan where the label is 0 (0·(−inf)), as PyTorch returns.
    """
    y = b.y_true if b.y_true.ndim == 2 else onehot(b.y_true, b.y_pred.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.log(b.y_pred) - np.log(np.sum(b.y_pred, axis=1, keepdims=True))
        return -np.sum(y * log_q, axis=1)


def _torch_ce_mistake(b: Chunk, p: Params) -> np.ndarray:
    """cross_entropy(p, y) on probabilities: the probabilities are taken as logits, softmax applied again."""
    y = b.y_true if b.y_true.ndim == 2 else onehot(b.y_true, b.y_pred.shape[1])
    return np.sum(xlog(y, log_softmax(b.y_pred)), axis=1)


_MISTAKE = "probabilities taken as logits: not a cross-entropy of these probabilities"


def _sklearn_eps(a: np.ndarray) -> tuple[np.floating, np.floating]:
    """log_loss's clip bounds: ``finfo(dtype).eps`` of the predictions and ``1 − eps`` in that dtype.

    2.2e-16 for float64 files; 1.19e-7 for float32 files, so a hard wrong prediction costs
    −log(1.19e-7) = 15.94 there, not −log(2.2e-16) = 36.04.
    """
    eps = np.finfo(a.dtype).eps if a.dtype.kind == "f" else np.finfo(np.float64).eps
    return eps, a.dtype.type(1) - eps if a.dtype.kind == "f" else 1 - eps


def _sklearn_log_loss(b: Chunk, p: Params) -> np.ndarray:
    """log_loss: clip to [eps, 1 − eps] (eps of the file's dtype), no renormalization; hard labels only (else nan)."""
    y = b.y_true if b.y_true.ndim == 2 else onehot(b.y_true, b.y_pred.shape[1])
    q = np.clip(b.y_pred, *_sklearn_eps(b.y_pred))
    return np.where(hard_rows(y), np.sum(xlog(y, np.log(q)), axis=1), np.nan)


def _validate_cce(b: Chunk, p: Params) -> None:
    check_options(b, p, "cce")
    _check_probabilities(b, p, "cce")
    _check_label_probabilities(b, "cce", "labels (one-hot or probabilities)")


def _warn_cce(b: Chunk, p: Params) -> list[str]:
    out = _logits_look_like_probabilities(b, p)
    if b.y_pred.shape[1] == 1:
        out.append(_ONE_CLASS.format(loss="cce"))
    if not p.logits and rows_off(b.y_pred):
        out.append(_RENORMALIZE)
    if rows_off(b.y_true):
        out.append("rows of {labels} do not all sum to 1: cross-entropy targets are one-hot rows or distributions")
    if not p.logits and not np.all(hard_rows(b.y_true)):
        out.append("{labels} holds soft targets (not 0/1): scikit-learn's log_loss refuses them, so its value is nan")
    return out


def _onehot_domain(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    n, k = shape
    return _class_scores(rng, shape, p), np.eye(k)[rng.integers(0, k, size=n)]


#: the classic mistake, shown for cce and sparse-cce on probabilities: probabilities taken as scores
_MISTAKE_ROW = Framework(
    "pytorch",
    "torch.nn.CrossEntropyLoss() on p (mistake)",
    "torch.nn.functional.cross_entropy(torch.tensor(y_pred), torch.tensor(y_true))",
    _torch_ce_mistake,
    None,
    note=_MISTAKE,
    when=_plain_probs,
)


@register(
    "cce",
    domain=_onehot_domain,
    aliases=("categorical_crossentropy",),
    kind="element",
    inner="sum",
    options=(LOGITS, LABEL_SMOOTHING, CLASS_WEIGHTS),
    option_docs=CCE_DOCS,
    index_labels="sparse-cce",
    class_weighted=True,
    validate=_validate_cce,
    warnings=_warn_cce,
    expects="probabilities (or scores with --logits), shape (N, K); one-hot or probability labels, shape (N, K)",
    undefined="a predicted probability is 0 where the label is positive (log 0)",
    pitfalls=(
        "Cross-entropy sums over the classes of a sample, so the frameworks report batch_mean (÷N). "
        "mean (÷N·K) also divides by the number of classes: the classic mistake, K× too small.",
        "Keras renormalizes each row of probabilities and clips it to [1e-7, 1−1e-7] in float32; scikit-learn "
        "clips at 2.2e-16 and does not renormalize; so rows that do not sum to 1 give different numbers.",
        "PyTorch's cross_entropy takes logits (raw scores), never probabilities: feeding it softmax outputs "
        "applies softmax twice. Pass --logits when the predictions are scores.",
        "One column of class indices as labels is sparse-cce; lossctl switches to it and says so.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.CrossEntropyLoss()",
            "torch.nn.functional.cross_entropy(torch.from_numpy(y_pred), torch.from_numpy(y_true){torch_ce})",
            _torch_ce,
            "batch_mean",
            note="logits only; probability targets, 'mean' divides by N (even with weight=)",
            when=_logits,
        ),
        Framework(
            "pytorch",
            "torch.nn.CrossEntropyLoss() on torch.log(p)",
            # the module form, torch.tensor: the call fits one line of an 80-column table
            "torch.nn.CrossEntropyLoss()(torch.tensor(y_pred).log(), torch.tensor(y_true))",
            _torch_ce_log_p,
            "batch_mean",
            nonfinite_note="no epsilon: a zero probability is log 0 = -inf, so inf (positive label) or nan (label 0)",
            when=_plain_probs,
        ),
        _MISTAKE_ROW,
        Framework(
            "keras",
            "keras.losses.CategoricalCrossentropy()",
            "keras.losses.CategoricalCrossentropy({keras_ls_only})(y_true, y_pred)",
            _keras_cce,
            "batch_mean",
            note="renormalizes rows, clips to [1e-7, 1-1e-7]",
            float32=True,
            weighted_call="keras.losses.CategoricalCrossentropy({keras_ls_only})(y_true, y_pred" + KERAS_SAMPLE_WEIGHT,
            when=lambda p, k: _probs(p, k) and p.class_weights is None,
        ),
        Framework(
            "keras",
            "keras.losses.CategoricalCrossentropy(from_logits=True)",
            "keras.losses.CategoricalCrossentropy(from_logits=True{keras_ls})(y_true, y_pred)",
            _keras_cce,
            "batch_mean",
            float32=True,
            weighted_call="keras.losses.CategoricalCrossentropy(from_logits=True{keras_ls})(y_true, y_pred"
            + KERAS_SAMPLE_WEIGHT,
            when=lambda p, k: _logits(p, k) and p.class_weights is None,
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.log_loss",
            "sklearn.metrics.log_loss(y_true, y_pred)",
            _sklearn_log_loss,
            "batch_mean",
            note="clips at finfo(dtype).eps, no renormalization; hard labels only",
            weighted_call="sklearn.metrics.log_loss(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            when=lambda p, k: _probs(p, k) and plain(p),
        ),
    ),
)
def cce(b: Chunk, p: Params) -> np.ndarray:
    """Categorical cross-entropy: minus the label-weighted log of each predicted class probability.

    e[i,k] = −y[i,k]·log ŷ[i,k]   (0·log 0 = 0; with --logits, log ŷ = log-softmax of the scores)
    l_i = Σ_k e[i,k], so the frameworks report batch_mean: Σ e / N.

    >>> b = Chunk(np.array([[0.7, 0.2, 0.1]]), np.array([[1.0, 0.0, 0.0]]))
    >>> float(np.round(cce(b, Params()).sum(), 6))  # hand: −log 0.7
    0.356675
    """
    return weighted_ce(b, p, _log_probs(b, p))


def _validate_sparse(b: Chunk, p: Params) -> None:
    check_options(b, p, "sparse-cce")
    _check_probabilities(b, p, "sparse-cce")


def _warn_sparse(b: Chunk, p: Params) -> list[str]:
    out = _logits_look_like_probabilities(b, p)
    if b.y_pred.shape[1] == 1:
        out.append(_ONE_CLASS.format(loss="sparse-cce"))
    if not p.logits and rows_off(b.y_pred):
        out.append(_RENORMALIZE)
    return out


def _index_domain(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    n, k = shape
    labels = rng.integers(0, k, size=n).astype(np.int64)
    if p.ignore_index is not None:  # about a quarter of the rows carry the ignored label, never all
        labels[rng.uniform(size=n) < 0.25] = p.ignore_index
        labels[0] = next(c for c in range(k) if c != p.ignore_index)
    return _class_scores(rng, shape, p), labels


@register(
    "sparse-cce",
    domain=_index_domain,
    aliases=("sparse_categorical_crossentropy",),
    kind="element",
    inner="sum",
    labels="indices",
    class_weighted=True,
    options=(LOGITS, LABEL_SMOOTHING, IGNORE_INDEX, CLASS_WEIGHTS),
    option_docs=SPARSE_DOCS,
    validate=_validate_sparse,
    warnings=_warn_sparse,
    expects="probabilities (or scores with --logits), shape (N, K); class indices in [0, K), shape (N,) or (N, 1)",
    undefined="the predicted probability of the true class is 0 (log 0)",
    pitfalls=(
        "The frameworks report batch_mean (÷N): the mean of −log ŷ of the true class. mean (÷N·K) also "
        "divides by the number of classes: the classic mistake, K× too small.",
        "PyTorch's cross_entropy takes logits; nll_loss takes log-probabilities: feeding nll_loss plain "
        "probabilities returns −p, not −log p.",
        "Keras renormalizes each row and clips it to [1e-7, 1−1e-7]; scikit-learn clips at 2.2e-16 and does "
        "not renormalize.",
        "scikit-learn's log_loss infers the classes from the labels; without labels= a batch missing a class "
        "raises or misaligns the columns.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.CrossEntropyLoss()",
            "torch.nn.functional.cross_entropy(torch.from_numpy(y_pred), torch.from_numpy(y_true){torch_ce})",
            _torch_ce,
            "batch_mean",
            class_divisor=True,
            when=_logits,
        ),
        Framework(
            "pytorch",
            "torch.nn.NLLLoss() on torch.log(p)",
            "torch.nn.functional.nll_loss(torch.log(torch.from_numpy(y_pred)), torch.from_numpy(y_true){torch_ce})",
            _torch_ce,
            "batch_mean",
            class_divisor=True,
            when=lambda p, k: _probs(p, k) and not p.label_smoothing,
        ),
        _MISTAKE_ROW,
        Framework(
            "keras",
            "keras.losses.SparseCategoricalCrossentropy()",
            "keras.losses.SparseCategoricalCrossentropy({keras_ignore_only})(y_true, y_pred)",
            _keras_cce,
            "batch_mean",
            note="renormalizes rows, clips to [1e-7, 1-1e-7]",
            float32=True,
            weighted_call="keras.losses.SparseCategoricalCrossentropy({keras_ignore_only})(y_true, y_pred"
            + KERAS_SAMPLE_WEIGHT,
            when=lambda p, k: _probs(p, k) and keras_sparse(p),
        ),
        Framework(
            "keras",
            "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
            "keras.losses.SparseCategoricalCrossentropy(from_logits=True{keras_ignore})(y_true, y_pred)",
            _keras_cce,
            "batch_mean",
            float32=True,
            weighted_call="keras.losses.SparseCategoricalCrossentropy(from_logits=True{keras_ignore})(y_true, y_pred"
            + KERAS_SAMPLE_WEIGHT,
            when=lambda p, k: _logits(p, k) and keras_sparse(p),
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.log_loss",
            "sklearn.metrics.log_loss(y_true, y_pred, labels=np.arange(y_pred.shape[1]))",
            _sklearn_log_loss,
            "batch_mean",
            note="clips at finfo(dtype).eps, no renormalization",
            weighted_call="sklearn.metrics.log_loss(y_true, y_pred, labels=np.arange(y_pred.shape[1]), "
            "sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            when=lambda p, k: _probs(p, k) and plain(p),
        ),
    ),
)
def sparse_cce(b: Chunk, p: Params) -> np.ndarray:
    """Sparse categorical cross-entropy: minus the log of the probability predicted for the true class.

    e[i,k] = −log ŷ[i,k] if k is the true class t_i, else 0   (with --logits, log ŷ = log-softmax)
    l_i = −log ŷ[i,t_i], so the frameworks report batch_mean: Σ e / N.

    >>> b = Chunk(np.array([[0.7, 0.2, 0.1]]), np.array([1]))
    >>> float(np.round(sparse_cce(b, Params()).sum(), 6))  # hand: −log 0.2
    1.609438
    """
    return weighted_ce(b, p, _log_probs(b, p))
