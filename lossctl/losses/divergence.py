"""Divergences between distributions: Kullback–Leibler."""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..frameworks import (
    KERAS_EPS,
    KERAS_SAMPLE_WEIGHT,
    Framework,
)
from ..params import LOG_TARGET, Params
from ._numerics import (
    DEFAULT,
    rows_off,
    safe_log,
    xlog,
)
from ._registry import check_domain, register


def _target(b: Chunk, p: Params) -> tuple[np.ndarray, np.ndarray]:
    """P and log P: with --log-target the labels are log P."""
    if p.log_target:
        return np.exp(b.y_true), b.y_true
    return b.y_true, safe_log(b.y_true)


def _keras_kld(b: Chunk, p: Params) -> np.ndarray:
    y_true = np.clip(b.y_true, KERAS_EPS, 1.0)
    y_pred = np.clip(b.y_pred, KERAS_EPS, 1.0)
    return np.sum(y_true * np.log(y_true / y_pred), axis=1)


def _torch_kl_div(b: Chunk, p: Params) -> np.ndarray:
    """kl_div(log Q, P): Σ xlogy(P, P) − P·log Q; P = 0 = Q gives 0·(−inf) = nan, as in PyTorch.
    With log_target=True: Σ exp(t)·(t − log Q)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if p.log_target:
            return np.sum(np.exp(b.y_true) * (b.y_true - safe_log(b.y_pred)), axis=1)
        return np.sum(
            np.where(b.y_true > 0, b.y_true * safe_log(b.y_true), 0.0) - b.y_true * safe_log(b.y_pred), axis=1
        )


def _torch_kl_div_mean(b: Chunk, p: Params) -> np.ndarray:
    return _torch_kl_div(b, p) / b.y_pred.shape[1]


def _validate_kld(b: Chunk, p: Params) -> None:
    hint = "KL divergence compares two probability distributions"
    check_domain(b, "predictions", (b.y_pred < 0) | (b.y_pred > 1), "kld expects probabilities in [0, 1]", hint)
    if p.log_target:
        check_domain(
            b, "labels", b.y_true > 0, "kld --log-target expects labels that are log-probabilities (≤ 0)", hint
        )
    else:
        check_domain(b, "labels", (b.y_true < 0) | (b.y_true > 1), "kld expects label probabilities in [0, 1]", hint)


def _warn_kld(b: Chunk, p: Params) -> list[str]:
    return [
        f"rows of {{{role}}} do not all sum to 1: KL divergence compares distributions, and neither lossctl, "
        "Keras nor PyTorch renormalizes them"
        for role, a in (("predictions", b.y_pred), ("labels", _target(b, p)[0]))
        if rows_off(a)
    ]


def _distributions(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    n, k = shape
    q, target = rng.dirichlet(np.ones(k), size=n), rng.dirichlet(np.ones(k), size=n)
    return q, np.log(target) if p.log_target else target


@register(
    "kld",
    domain=_distributions,
    aliases=("kullback_leibler_divergence", "kl_divergence"),
    kind="element",
    inner="sum",
    options=(LOG_TARGET,),
    option_docs=(
        (
            "log_target",
            "Labels are log P: e = exp(t)·(t − log Q); divisors unchanged. PyTorch kl_div(log_target=True) takes "
            "them as they are; Keras has no such option and is not shown (it would need exp(labels), other arrays).",
        ),
    ),
    validate=_validate_kld,
    warnings=_warn_kld,
    zero_at_perfect=True,
    expects="predicted distribution Q, shape (N, K); true distribution P (labels; log P with --log-target), shape (N, K); rows sum to 1",
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
            "reduction='batchmean'{torch_log_target})",
            _torch_kl_div,
            "batch_mean",
        ),
        Framework(
            "pytorch",
            "torch.nn.KLDivLoss()  (reduction='mean')",
            "torch.nn.functional.kl_div(torch.log(torch.from_numpy(y_pred)), torch.from_numpy(y_true), "
            "reduction='mean'{torch_log_target})",
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
            weighted_call="keras.losses.KLDivergence()(y_true, y_pred" + KERAS_SAMPLE_WEIGHT,
            when=lambda p, k: not p.log_target,  # Keras takes P only: exp(labels) would not be the same arrays
        ),
    ),
)
def kld(b: Chunk, p: Params) -> np.ndarray:
    """Kullback–Leibler divergence: KL(P‖Q) of the predicted distribution Q from the true distribution P.

    e[i,k] = P[i,k]·log(P[i,k] / Q[i,k])   (0·log 0 = 0; labels are P, predictions are Q;
    with --log-target the labels are log P: e = exp(t)·(t − log Q))
    l_i = Σ_k e[i,k], the KL divergence of sample i, so the frameworks report batch_mean.

    >>> b = Chunk(np.array([[0.3, 0.3, 0.4]]), np.array([[0.2, 0.3, 0.5]]))
    >>> float(np.round(kld(b, Params()).sum(), 6))  # hand: 0.2·log(2/3) + 0.3·log 1 + 0.5·log 1.25
    0.030479
    """
    y, log_y = _target(b, p)
    return xlog(y, safe_log(b.y_pred) - log_y)
