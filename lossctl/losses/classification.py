"""Classification losses: cross-entropies, KL divergence and the hinges.

Convention values are the plain mathematics (no epsilon, 0·log 0 = 0); each
:class:`~lossctl.frameworks.Framework` entry reproduces one framework's own
clipping, epsilon, inner axis and divisor. ``--logits`` turns raw scores into
log-probabilities stably (log-softmax / log-sigmoid), never via exp then log.
"""

from __future__ import annotations

import numpy as np

from ..frameworks import KERAS_EPS, KERAS_ONE_MINUS_EPS, SKLEARN_EPS, Framework
from ..params import LOGITS
from ._registry import Chunk, DomainError, Params, check_domain, register

# --------------------------------------------------------------------------- numerics


def _log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


def _log1m(x: np.ndarray) -> np.ndarray:
    """log(1 − x), accurate for small x."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log1p(-x)


def _xlog(y: np.ndarray, log_p: np.ndarray) -> np.ndarray:
    """−y·log p, with the term 0 wherever y = 0 (0·log 0 = 0)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(y != 0, -y * log_p, 0.0)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - np.max(z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -z)


def _onehot(indices: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(indices), k))
    out[np.arange(len(indices)), indices] = 1.0
    return out


def _log_probs(b: Chunk, p: Params) -> np.ndarray:
    """log ŷ of each class: log-softmax of scores with --logits, else the log of the probabilities."""
    return _log_softmax(b.y_pred) if p.logits else _log(b.y_pred)


def _bce_terms(y: np.ndarray, pred: np.ndarray, logits: bool) -> np.ndarray:
    if logits:
        return _xlog(y, _log_sigmoid(pred)) + _xlog(1 - y, _log_sigmoid(-pred))
    return _xlog(y, _log(pred)) + _xlog(1 - y, _log1m(pred))


def _hard(y: np.ndarray) -> np.ndarray:
    """Rows whose labels are all exactly 0 or 1."""
    return np.all((y == 0) | (y == 1), axis=1)


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


# --------------------------------------------------------------------------- domain checks and warnings


def _rows_off(a: np.ndarray) -> bool:
    return bool(np.any(np.abs(np.sum(a, axis=1) - 1.0) > 1e-6))


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


def _validate_cce(b: Chunk, p: Params) -> None:
    _check_probabilities(b, p, "cce")
    _check_label_probabilities(b, "cce", "labels (one-hot or probabilities)")


def _warn_cce(b: Chunk, p: Params) -> list[str]:
    out = _logits_look_like_probabilities(b, p)
    if b.y_pred.shape[1] == 1:
        out.append(_ONE_CLASS.format(loss="cce"))
    if not p.logits and _rows_off(b.y_pred):
        out.append(_RENORMALIZE)
    if _rows_off(b.y_true):
        out.append("rows of {labels} do not all sum to 1: cross-entropy targets are one-hot rows or distributions")
    if not p.logits and not np.all(_hard(b.y_true)):
        out.append("{labels} holds soft targets (not 0/1): scikit-learn's log_loss refuses them, so its value is nan")
    return out


def _validate_sparse(b: Chunk, p: Params) -> None:
    _check_probabilities(b, p, "sparse-cce")


def _warn_sparse(b: Chunk, p: Params) -> list[str]:
    out = _logits_look_like_probabilities(b, p)
    if b.y_pred.shape[1] == 1:
        out.append(_ONE_CLASS.format(loss="sparse-cce"))
    if not p.logits and _rows_off(b.y_pred):
        out.append(_RENORMALIZE)
    return out


def _validate_bce(b: Chunk, p: Params) -> None:
    _check_probabilities(b, p, "bce")
    _check_label_probabilities(b, "bce", "labels (0/1 or soft targets)")


def _warn_bce(b: Chunk, p: Params) -> list[str]:
    out = _logits_look_like_probabilities(b, p)
    if not p.logits and b.y_pred.shape[1] == 1 and not np.all(_hard(b.y_true)):
        out.append("{labels} holds soft targets (not 0/1): scikit-learn's log_loss refuses them, so its value is nan")
    return out


def _validate_kld(b: Chunk, p: Params) -> None:
    hint = "KL divergence compares two probability distributions"
    check_domain(b, "predictions", (b.y_pred < 0) | (b.y_pred > 1), "kld expects probabilities in [0, 1]", hint)
    check_domain(b, "labels", (b.y_true < 0) | (b.y_true > 1), "kld expects label probabilities in [0, 1]", hint)


def _warn_kld(b: Chunk, p: Params) -> list[str]:
    return [
        f"rows of {{{role}}} do not all sum to 1: KL divergence compares distributions, and neither lossctl, "
        "Keras nor PyTorch renormalizes them"
        for role, a in (("predictions", b.y_pred), ("labels", b.y_true))
        if _rows_off(a)
    ]


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


def _validate_categorical_hinge(b: Chunk, p: Params) -> None:
    if b.y_pred.shape[1] < 2:
        raise DomainError("categorical-hinge needs at least 2 classes (columns); {predictions} has 1")
    y = b.y_true
    bad = ~_hard(y) | (np.sum(y, axis=1) != 1)
    check_domain(b, "labels", bad, "categorical-hinge expects one-hot labels (one 1 per row, zeros elsewhere)")


# --------------------------------------------------------------------------- framework values


def _keras_cce(b: Chunk, p: Params) -> np.ndarray:
    if p.logits:
        log_q = _log_softmax(b.y_pred)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            q = b.y_pred / np.sum(b.y_pred, axis=1, keepdims=True)
        log_q = np.log(np.clip(q, KERAS_EPS, KERAS_ONE_MINUS_EPS))
    y = b.y_true if b.y_true.ndim == 2 else _onehot(b.y_true, b.y_pred.shape[1])
    return -np.sum(y * log_q, axis=1)


def _torch_ce(b: Chunk, p: Params) -> np.ndarray:
    """cross_entropy on logits, nll_loss(torch.log(p)) on probabilities: −Σ y·log q, no clipping."""
    y = b.y_true if b.y_true.ndim == 2 else _onehot(b.y_true, b.y_pred.shape[1])
    return np.sum(_xlog(y, _log_probs(b, p)), axis=1)


def _sklearn_log_loss(b: Chunk, p: Params) -> np.ndarray:
    """log_loss: clip to [eps, 1 − eps] (float64 eps), no renormalization; hard labels only (else nan)."""
    y = b.y_true if b.y_true.ndim == 2 else _onehot(b.y_true, b.y_pred.shape[1])
    q = np.clip(b.y_pred, SKLEARN_EPS, 1 - SKLEARN_EPS)
    return np.where(_hard(y), np.sum(_xlog(y, np.log(q)), axis=1), np.nan)


def _keras_bce(b: Chunk, p: Params) -> np.ndarray:
    if p.logits:
        return np.mean(_bce_terms(b.y_true, b.y_pred, True), axis=1)
    q = np.clip(b.y_pred, KERAS_EPS, KERAS_ONE_MINUS_EPS)
    return np.mean(-(b.y_true * np.log(q) + (1 - b.y_true) * np.log1p(-q)), axis=1)


def _torch_bce(b: Chunk, p: Params) -> np.ndarray:
    if p.logits:
        return np.mean(_bce_terms(b.y_true, b.y_pred, True), axis=1)
    # BCELoss clamps each log at -100, so one term is at most 100
    log_p = np.maximum(_log(b.y_pred), -100.0)
    log_1mp = np.maximum(_log1m(b.y_pred), -100.0)
    return np.mean(-(b.y_true * log_p + (1 - b.y_true) * log_1mp), axis=1)


def _sklearn_bce(b: Chunk, p: Params) -> np.ndarray:
    """log_loss on one column: [1 − p, p], each clipped to [eps, 1 − eps]; hard labels only (else nan)."""
    y, pred = b.y_true[:, 0], b.y_pred[:, 0]
    q1 = np.clip(pred, SKLEARN_EPS, 1 - SKLEARN_EPS)
    q0 = np.clip(1 - pred, SKLEARN_EPS, 1 - SKLEARN_EPS)
    return np.where(y == 1, -np.log(q1), np.where(y == 0, -np.log(q0), np.nan))


def _keras_kld(b: Chunk, p: Params) -> np.ndarray:
    y_true = np.clip(b.y_true, KERAS_EPS, 1.0)
    y_pred = np.clip(b.y_pred, KERAS_EPS, 1.0)
    return np.sum(y_true * np.log(y_true / y_pred), axis=1)


def _torch_kl_div(b: Chunk, p: Params) -> np.ndarray:
    """kl_div(log Q, P): Σ xlogy(P, P) − P·log Q; P = 0 = Q gives 0·(−inf) = nan, as in PyTorch."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(np.where(b.y_true > 0, b.y_true * _log(b.y_true), 0.0) - b.y_true * _log(b.y_pred), axis=1)


def _torch_kl_div_mean(b: Chunk, p: Params) -> np.ndarray:
    return _torch_kl_div(b, p) / b.y_pred.shape[1]


def _keras_hinge_labels(y: np.ndarray) -> np.ndarray:
    """Keras converts labels with 2y − 1 only when every label in the tensor is 0 or 1."""
    return 2.0 * y - 1.0 if np.all((y == 0) | (y == 1)) else y


def _keras_hinge(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(np.maximum(1.0 - _keras_hinge_labels(b.y_true) * b.y_pred, 0.0), axis=1)


def _keras_squared_hinge(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(np.maximum(1.0 - _keras_hinge_labels(b.y_true) * b.y_pred, 0.0) ** 2, axis=1)


def _sklearn_hinge(b: Chunk, p: Params) -> np.ndarray:
    """hinge_loss maps the greater of two labels to +1 (LabelBinarizer(neg_label=-1))."""
    return _margin(b)[:, 0]


def _keras_categorical_hinge(b: Chunk, p: Params) -> np.ndarray:
    pos = np.sum(b.y_true * b.y_pred, axis=1)
    neg = np.max((1.0 - b.y_true) * b.y_pred, axis=1)
    return np.maximum(neg - pos + 1.0, 0.0)


def _torch_multi_margin(b: Chunk, p: Params) -> np.ndarray:
    s, true = b.y_pred, b.y_true > 0
    s_true = np.sum(np.where(true, s, 0.0), axis=1, keepdims=True)
    margins = np.where(true, 0.0, np.maximum(0.0, 1.0 - s_true + s))
    return np.sum(margins, axis=1) / s.shape[1]


def _sklearn_categorical_hinge(b: Chunk, p: Params) -> np.ndarray:
    return _crammer_singer(b.y_pred, b.y_true)


def _logits(p: Params, k: int) -> bool:
    return p.logits and k >= 2


def _probs(p: Params, k: int) -> bool:
    return not p.logits and k >= 2


def _classes(p: Params, k: int) -> bool:
    return k >= 2


KERAS_W = ", sample_weight=sample_weight)"

# --------------------------------------------------------------------------- domains: valid inputs for tests

DEFAULT = Params()


def _class_scores(rng: np.random.Generator, shape: tuple[int, int], p: Params) -> np.ndarray:
    """Scores with --logits, else rows of probabilities summing to 1."""
    n, k = shape
    return rng.normal(scale=3.0, size=shape) if p.logits else rng.dirichlet(np.ones(k), size=n)


def _onehot_domain(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    n, k = shape
    return _class_scores(rng, shape, p), np.eye(k)[rng.integers(0, k, size=n)]


def _index_domain(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    n, k = shape
    return _class_scores(rng, shape, p), rng.integers(0, k, size=n).astype(np.int64)


def _binary_domain(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    y_true = rng.integers(0, 2, size=shape).astype(np.float64)
    return (rng.normal(scale=3.0, size=shape) if p.logits else rng.uniform(0.01, 0.99, size=shape)), y_true


def _distributions(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    n, k = shape
    return rng.dirichlet(np.ones(k), size=n), rng.dirichlet(np.ones(k), size=n)


def _signed_labels(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=shape), rng.choice([-1.0, 1.0], size=shape)


def _positive_scores(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """Scores ≥ 0, so every wrong class scores ≥ 0 and Keras's categorical hinge equals Crammer–Singer."""
    n, k = shape
    return rng.uniform(0.0, 2.0, size=shape), np.eye(k)[rng.integers(0, k, size=n)]


# --------------------------------------------------------------------------- cross-entropies


@register(
    "cce",
    domain=_onehot_domain,
    aliases=("categorical_crossentropy",),
    kind="element",
    inner="sum",
    options=(LOGITS,),
    index_labels="sparse-cce",
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
            "torch.nn.functional.cross_entropy(torch.from_numpy(y_pred), torch.from_numpy(y_true))",
            _torch_ce,
            "batch_mean",
            note="logits only; probability targets, 'mean' divides by N",
            when=_logits,
        ),
        Framework(
            "keras",
            "keras.losses.CategoricalCrossentropy()",
            "keras.losses.CategoricalCrossentropy()(y_true, y_pred)",
            _keras_cce,
            "batch_mean",
            note="renormalizes rows, clips to [1e-7, 1-1e-7]",
            float32=True,
            weighted_call="keras.losses.CategoricalCrossentropy()(y_true, y_pred" + KERAS_W,
            when=_probs,
        ),
        Framework(
            "keras",
            "keras.losses.CategoricalCrossentropy(from_logits=True)",
            "keras.losses.CategoricalCrossentropy(from_logits=True)(y_true, y_pred)",
            _keras_cce,
            "batch_mean",
            float32=True,
            weighted_call="keras.losses.CategoricalCrossentropy(from_logits=True)(y_true, y_pred" + KERAS_W,
            when=_logits,
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.log_loss",
            "sklearn.metrics.log_loss(y_true, y_pred)",
            _sklearn_log_loss,
            "batch_mean",
            note="clips to [2.2e-16, 1-2.2e-16], no renormalization; hard labels only",
            weighted_call="sklearn.metrics.log_loss(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            when=_probs,
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
    return _xlog(b.y_true, _log_probs(b, p))


@register(
    "sparse-cce",
    domain=_index_domain,
    aliases=("sparse_categorical_crossentropy",),
    kind="element",
    inner="sum",
    labels="indices",
    options=(LOGITS,),
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
            "torch.nn.functional.cross_entropy(torch.from_numpy(y_pred), torch.from_numpy(y_true))",
            _torch_ce,
            "batch_mean",
            when=_logits,
        ),
        Framework(
            "pytorch",
            "torch.nn.NLLLoss() on torch.log(p)",
            "torch.nn.functional.nll_loss(torch.log(torch.from_numpy(y_pred)), torch.from_numpy(y_true))",
            _torch_ce,
            "batch_mean",
            when=_probs,
        ),
        Framework(
            "keras",
            "keras.losses.SparseCategoricalCrossentropy()",
            "keras.losses.SparseCategoricalCrossentropy()(y_true, y_pred)",
            _keras_cce,
            "batch_mean",
            note="renormalizes rows, clips to [1e-7, 1-1e-7]",
            float32=True,
            weighted_call="keras.losses.SparseCategoricalCrossentropy()(y_true, y_pred" + KERAS_W,
            when=_probs,
        ),
        Framework(
            "keras",
            "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
            "keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y_true, y_pred)",
            _keras_cce,
            "batch_mean",
            float32=True,
            weighted_call="keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y_true, y_pred" + KERAS_W,
            when=_logits,
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.log_loss",
            "sklearn.metrics.log_loss(y_true, y_pred, labels=np.arange(y_pred.shape[1]))",
            _sklearn_log_loss,
            "batch_mean",
            note="clips to [2.2e-16, 1-2.2e-16], no renormalization",
            weighted_call="sklearn.metrics.log_loss(y_true, y_pred, labels=np.arange(y_pred.shape[1]), "
            "sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            when=_probs,
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
    return _xlog(_onehot(b.y_true, b.y_pred.shape[1]), _log_probs(b, p))


@register(
    "bce",
    domain=_binary_domain,
    aliases=("binary_crossentropy",),
    kind="element",
    inner="mean",
    options=(LOGITS,),
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
            "torch.nn.functional.binary_cross_entropy(torch.from_numpy(y_pred), torch.from_numpy(y_true))",
            _torch_bce,
            "mean",
            note="clamps each log at -100",
            weighted_call="torch.nn.functional.binary_cross_entropy(torch.from_numpy(y_pred), "
            "torch.from_numpy(y_true), weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape))",
            when=lambda p, k: not p.logits,
        ),
        Framework(
            "pytorch",
            "torch.nn.BCEWithLogitsLoss()",
            "torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(y_pred), torch.from_numpy(y_true))",
            _torch_bce,
            "mean",
            weighted_call="torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(y_pred), "
            "torch.from_numpy(y_true), weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape))",
            when=lambda p, k: p.logits,
        ),
        Framework(
            "keras",
            "keras.losses.BinaryCrossentropy()",
            "keras.losses.BinaryCrossentropy()(y_true, y_pred)",
            _keras_bce,
            "mean",
            note="clips to [1e-7, 1-1e-7]",
            float32=True,
            weighted_call="keras.losses.BinaryCrossentropy()(y_true, y_pred" + KERAS_W,
            when=lambda p, k: not p.logits,
        ),
        Framework(
            "keras",
            "keras.losses.BinaryCrossentropy(from_logits=True)",
            "keras.losses.BinaryCrossentropy(from_logits=True)(y_true, y_pred)",
            _keras_bce,
            "mean",
            float32=True,
            weighted_call="keras.losses.BinaryCrossentropy(from_logits=True)(y_true, y_pred" + KERAS_W,
            when=lambda p, k: p.logits,
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.log_loss",
            "sklearn.metrics.log_loss(y_true[:, 0], y_pred[:, 0], labels=[0, 1])",
            _sklearn_bce,
            "mean",
            note="clips to [2.2e-16, 1-2.2e-16]; hard 0/1 labels only",
            weighted_call="sklearn.metrics.log_loss(y_true[:, 0], y_pred[:, 0], labels=[0, 1], "
            "sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            when=lambda p, k: not p.logits and k == 1,
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
    return _bce_terms(b.y_true, b.y_pred, p.logits)


@register(
    "kld",
    domain=_distributions,
    aliases=("kullback_leibler_divergence", "kl_divergence"),
    kind="element",
    inner="sum",
    validate=_validate_kld,
    warnings=_warn_kld,
    zero_at_perfect=True,
    expects="predicted distribution Q, shape (N, K); true distribution P (labels), shape (N, K); rows sum to 1",
    undefined="Q is 0 where P is positive (log of P/0)",
    pitfalls=(
        "KL divergence sums over the classes of a sample: the true KL is batch_mean (÷N), PyTorch's "
        "reduction='batchmean'. PyTorch's default reduction='mean' divides by N·K too (it warns).",
        "PyTorch's kl_div takes log Q as its input and P as its target: passing Q itself, or swapping them, "
        "gives a silently different number.",
        "Keras clips both P and Q to [1e-7, 1], so P = 0 contributes a tiny negative ε·log(ε/Q) instead of 0.",
        "KL(P‖Q) is not symmetric: labels are P (the truth), predictions are Q.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.KLDivLoss(reduction='batchmean')",
            "torch.nn.functional.kl_div(torch.log(torch.from_numpy(y_pred)), torch.from_numpy(y_true), "
            "reduction='batchmean')",
            _torch_kl_div,
            "batch_mean",
        ),
        Framework(
            "pytorch",
            "torch.nn.KLDivLoss()  (reduction='mean')",
            "torch.nn.functional.kl_div(torch.log(torch.from_numpy(y_pred)), torch.from_numpy(y_true), "
            "reduction='mean')",
            _torch_kl_div_mean,
            "mean",
            note="the default 'mean' divides by N*K: not the KL divergence",
        ),
        Framework(
            "keras",
            "keras.losses.KLDivergence()",
            "keras.losses.KLDivergence()(y_true, y_pred)",
            _keras_kld,
            "batch_mean",
            note="clips P and Q to [1e-7, 1]",
            float32=True,
            weighted_call="keras.losses.KLDivergence()(y_true, y_pred" + KERAS_W,
        ),
    ),
)
def kld(b: Chunk, p: Params) -> np.ndarray:
    """Kullback–Leibler divergence: KL(P‖Q) of the predicted distribution Q from the true distribution P.

    e[i,k] = P[i,k]·log(P[i,k] / Q[i,k])   (0·log 0 = 0; labels are P, predictions are Q)
    l_i = Σ_k e[i,k], the KL divergence of sample i, so the frameworks report batch_mean.

    >>> b = Chunk(np.array([[0.3, 0.3, 0.4]]), np.array([[0.2, 0.3, 0.5]]))
    >>> float(np.round(kld(b, Params()).sum(), 6))  # hand: 0.2·log(2/3) + 0.3·log 1 + 0.5·log 1.25
    0.030479
    """
    y = b.y_true
    return _xlog(y, _log(b.y_pred) - _log(y))


# --------------------------------------------------------------------------- hinges


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
            weighted_call="keras.losses.Hinge()(y_true, y_pred" + KERAS_W,
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
            weighted_call="keras.losses.SquaredHinge()(y_true, y_pred" + KERAS_W,
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


@register(
    "categorical-hinge",
    domain=_positive_scores,
    min_outputs=2,
    aliases=("categorical_hinge",),
    kind="sample",
    inner="sum",
    validate=_validate_categorical_hinge,
    expects="class scores, shape (N, K) with K ≥ 2; one-hot labels, shape (N, K)",
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
            weighted_call="keras.losses.CategoricalHinge()(y_true, y_pred" + KERAS_W,
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
    return _crammer_singer(b.y_pred, b.y_true)
