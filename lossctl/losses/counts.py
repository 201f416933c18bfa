"""Losses for counts: the Poisson negative log-likelihood."""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..frameworks import (
    KERAS_EPS,
    Framework,
    torch_array,
)
from ..params import Params
from ._numerics import (
    DEFAULT,
    xlogy,
)
from ._registry import check_domain, register

#: PyTorch PoissonNLLLoss's default ``eps`` (used with ``log_input=False``)
TORCH_POISSON_EPS = 1e-8


def _poisson(b: Chunk, p: Params) -> np.ndarray:
    """ŷ − y·log ŷ, nan where a rate is negative: the likelihood needs rates ≥ 0 (PyTorch's log-rates need not)."""
    with np.errstate(invalid="ignore"):
        return np.where(b.y_pred < 0, np.nan, b.y_pred - xlogy(b.y_true, b.y_pred))


def _keras_poisson(b: Chunk, p: Params) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # a negative rate: log of a negative number is nan, as in Keras
        return np.mean(b.y_pred - b.y_true * np.log(b.y_pred + KERAS_EPS), axis=1)


def _torch_poisson_rates(b: Chunk, p: Params) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.mean(b.y_pred - b.y_true * np.log(b.y_pred + TORCH_POISSON_EPS), axis=1)


def _torch_poisson_log_rates(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(np.exp(b.y_pred) - b.y_true * b.y_pred, axis=1)


def _sklearn_poisson_deviance(b: Chunk, p: Params) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        deviance = 2.0 * (xlogy(b.y_true, b.y_true / b.y_pred) - b.y_true + b.y_pred)
    # scikit-learn raises ValueError for a prediction <= 0 rather than return a number
    return np.where((b.y_pred <= 0).any(axis=1), np.nan, np.mean(deviance, axis=1))


def _counts(b: Chunk, p: Params) -> None:
    """Labels must be counts ≥ 0; negative predictions are let through (PyTorch's default reads them as log-rates)."""
    check_domain(b, "labels", b.y_true < 0, "poisson expects labels that are counts ≥ 0")


def _positive_rates(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    # rates below 1 keep every term ŷ − y·log ŷ positive, so sums never cancel toward 0
    rates = rng.uniform(0.1, 0.95, size=shape)
    return rates, rng.poisson(rates * rng.uniform(0.7, 1.4, size=shape)).astype(np.float64)


@register(
    "poisson",
    kind="element",
    inner="mean",
    validate=_counts,
    expects="predicted rates ≥ 0 (not log-rates) and labels that are counts ≥ 0, of the same shape (N, K)",
    undefined="log 0 or a negative rate: a predicted rate of 0 where the label is positive, or a rate < 0",
    zero_at_perfect=False,
    domain=_positive_rates,
    pitfalls=(
        "PyTorch's PoissonNLLLoss reads predictions as log-rates by default (exp(ŷ) − y·ŷ); "
        "pass log_input=False for rates.",
        "scikit-learn's mean_poisson_deviance is the deviance 2·(y·log(y/ŷ) − y + ŷ), not this loss: "
        "it is 0 at a perfect prediction and about twice as large.",
        "The loss drops the constant log(y!), so it is not 0 at a perfect prediction and can be negative.",
        "Keras adds 1e-7 and PyTorch (log_input=False) 1e-8 inside the log, so a zero rate with a positive "
        "count gives a large finite number instead of infinity.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.PoissonNLLLoss(log_input=False)",
            f"torch.nn.functional.poisson_nll_loss({torch_array('y_pred')}, {torch_array('y_true')}, log_input=False)",
            _torch_poisson_rates,
            "mean",
            note="adds eps=1e-8 inside the log: ŷ − y·log(ŷ + 1e-8)",
        ),
        Framework(
            "pytorch",
            "torch.nn.PoissonNLLLoss()",
            f"torch.nn.functional.poisson_nll_loss({torch_array('y_pred')}, {torch_array('y_true')})",
            _torch_poisson_log_rates,
            None,
            note="the default log_input=True reads predictions as log-rates: exp(ŷ) − y·ŷ",
        ),
        Framework(
            "keras",
            "keras.losses.Poisson()",
            "keras.losses.Poisson()(y_true, y_pred)",
            _keras_poisson,
            "mean",
            note="adds 1e-7 inside the log: ŷ − y·log(ŷ + 1e-7)",
            float32=True,
            weighted_call="keras.losses.Poisson()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_poisson_deviance",
            "sklearn.metrics.mean_poisson_deviance(y_true, y_pred)",
            _sklearn_poisson_deviance,
            None,
            note="the deviance 2·(y·log(y/ŷ) − y + ŷ), 0 at a perfect prediction; one output only; "
            "raises for a prediction ≤ 0",
            nonfinite_note="scikit-learn raises ValueError for a prediction ≤ 0",
            weighted_call="sklearn.metrics.mean_poisson_deviance(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
            when=lambda p, k: k == 1,
        ),
    ),
)
def poisson(b: Chunk, p: Params) -> np.ndarray:
    """Poisson loss: the negative log-likelihood of counts y under predicted rates ŷ, without log(y!).

    e[i,k] = ŷ[i,k] − y[i,k]·log ŷ[i,k]   (y·log ŷ is 0 where y = 0; undefined where ŷ = 0 < y)

    >>> b = Chunk(np.array([[0.5, 1.5, 2.0]]), np.array([[0.0, 1.0, 3.0]]))
    >>> round(float(poisson(b, Params()).mean()), 5)  # hand: (0.5 + (1.5 − log 1.5) + (2 − 3·log 2)) / 3
    0.50503
    """
    return _poisson(b, p)
