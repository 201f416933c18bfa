"""Losses for counts: the Poisson negative log-likelihood."""

from __future__ import annotations

import numpy as np

from ..chunk import Chunk
from ..frameworks import (
    KERAS_EPS,
    Framework,
    torch_array,
)
from ..params import FULL, LOG_INPUT, Params
from ._numerics import (
    DEFAULT,
    xlogy,
)
from ._registry import check_domain, register

#: PyTorch PoissonNLLLoss's default ``eps`` (used with ``log_input=False``)
TORCH_POISSON_EPS = 1e-8


def _stirling(y: np.ndarray, p: Params) -> np.ndarray | float:
    """--full: PyTorch's Stirling term y·log y − y + ½·log(2πy), only where y > 1 (0 elsewhere)."""
    if not p.full:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 1, xlogy(y, y) - y + 0.5 * np.log(2 * np.pi * y), 0.0)


def _poisson(b: Chunk, p: Params) -> np.ndarray:
    if p.log_input:
        return np.exp(b.y_pred) - b.y_true * b.y_pred + _stirling(b.y_true, p)
    with np.errstate(invalid="ignore"):  # ŷ − y·log ŷ, nan where a rate is negative: the likelihood needs rates ≥ 0
        return np.where(b.y_pred < 0, np.nan, b.y_pred - xlogy(b.y_true, b.y_pred)) + _stirling(b.y_true, p)


def _keras_poisson(b: Chunk, p: Params) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # a negative rate: log of a negative number is nan, as in Keras
        return np.mean(b.y_pred - b.y_true * np.log(b.y_pred + KERAS_EPS), axis=1)


def _torch_poisson_rates(b: Chunk, p: Params) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.mean(b.y_pred - b.y_true * np.log(b.y_pred + TORCH_POISSON_EPS) + _stirling(b.y_true, p), axis=1)


def _torch_poisson_log_rates(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(np.exp(b.y_pred) - b.y_true * b.y_pred + _stirling(b.y_true, p), axis=1)


def _sklearn_poisson_deviance(b: Chunk, p: Params) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        deviance = 2.0 * (xlogy(b.y_true, b.y_true / b.y_pred) - b.y_true + b.y_pred)
    # scikit-learn raises ValueError for a prediction <= 0 rather than return a number
    return np.where((b.y_pred <= 0).any(axis=1), np.nan, np.mean(deviance, axis=1))


def _counts(b: Chunk, p: Params) -> None:
    """Labels must be counts ≥ 0; negative predictions are let through (PyTorch's default reads them as
    log-rates): without --log-input the conventions are undefined there and the framework rows say what
    each framework returns."""
    check_domain(b, "labels", b.y_true < 0, "poisson expects labels that are counts ≥ 0")


def _positive_rates(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    # rates below 1 keep every term ŷ − y·log ŷ positive, so sums never cancel toward 0
    rates = rng.uniform(0.1, 0.95, size=shape) if not p.full else rng.uniform(0.5, 4.0, size=shape)
    counts = rng.poisson(rates * rng.uniform(0.7, 1.4, size=shape)).astype(np.float64)
    return (np.log(rates) if p.log_input else rates), counts


@register(
    "poisson",
    kind="element",
    inner="mean",
    options=(LOG_INPUT, FULL),
    option_docs=(
        (
            "log_input",
            "Predictions are log-rates: e = exp(ŷ) − y·ŷ (no epsilon), any real ŷ; divisors unchanged. "
            "PyTorch PoissonNLLLoss() (log_input=True, its default) equals mean exactly; Keras and scikit-learn "
            "take rates, so they are not shown.",
        ),
        (
            "full",
            "Adds PyTorch's Stirling term y·log y − y + ½·log(2πy) to each term where y > 1 (0 where y ≤ 1), "
            "which approximates log(y!); divisors unchanged. PyTorch full=True; Keras has no such option (no row); "
            "scikit-learn's deviance does not change (its row stays).",
        ),
    ),
    validate=_counts,
    expects="predicted rates ≥ 0 (log-rates with --log-input) and labels that are counts ≥ 0, of the same shape (N, K)",
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
            f"torch.nn.functional.poisson_nll_loss({torch_array('y_pred')}, {torch_array('y_true')}, log_input=False"
            "{torch_full})",
            _torch_poisson_rates,
            "mean",
            note="adds eps=1e-8 inside the log: ŷ − y·log(ŷ + 1e-8)",
            when=lambda p, k: not p.log_input,
        ),
        Framework(
            "pytorch",
            "torch.nn.PoissonNLLLoss()",
            f"torch.nn.functional.poisson_nll_loss({torch_array('y_pred')}, {torch_array('y_true')}{{torch_full}})",
            _torch_poisson_log_rates,
            None,
            note="the default log_input=True reads predictions as log-rates: exp(ŷ) − y·ŷ",
            when=lambda p, k: not p.log_input,
        ),
        Framework(
            "pytorch",
            "torch.nn.PoissonNLLLoss()  (log_input=True)",
            f"torch.nn.functional.poisson_nll_loss({torch_array('y_pred')}, {torch_array('y_true')}{{torch_full}})",
            _torch_poisson_log_rates,
            "mean",
            when=lambda p, k: p.log_input,
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
            when=lambda p, k: not p.log_input and not p.full,  # Keras takes rates and has no Stirling term
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
            when=lambda p, k: k == 1 and not p.log_input,
        ),
    ),
)
def poisson(b: Chunk, p: Params) -> np.ndarray:
    """Poisson loss: the negative log-likelihood of counts y under predicted rates ŷ, without log(y!).

    e[i,k] = ŷ[i,k] − y[i,k]·log ŷ[i,k]   (y·log ŷ is 0 where y = 0; undefined where ŷ = 0 < y)
    with --log-input (ŷ a log-rate): e = exp(ŷ) − y·ŷ; --full adds y·log y − y + ½·log(2πy) where y > 1.

    >>> b = Chunk(np.array([[0.5, 1.5, 2.0]]), np.array([[0.0, 1.0, 3.0]]))
    >>> round(float(poisson(b, Params()).mean()), 5)  # hand: (0.5 + (1.5 − log 1.5) + (2 − 3·log 2)) / 3
    0.50503
    """
    return _poisson(b, p)
