"""Regression and similarity losses over predictions and real-valued labels.

Each loss is one registered term function (the plain mathematics, no epsilon)
with the :class:`~lossctl.frameworks.Framework` entries that say what PyTorch,
Keras and scikit-learn report on the same arrays, epsilons and clipping included.
"""

from __future__ import annotations

import numpy as np

from ..frameworks import KERAS_EPS, OWN, SKLEARN_EPS, Framework
from ..params import DELTA
from ._registry import Chunk, Params, check_domain, register

LOG2 = float(np.log(2.0))
#: Keras caps 1/‖x‖ at ``1 / epsilon`` = 1e7 (exact in float32) when normalizing: a norm floored at 1e-7
KERAS_NORM_FLOOR = 1.0 / float(np.float32(1.0 / 1e-7))
#: the constant PyTorch's cosine_embedding_loss adds to each squared norm
TORCH_COSINE_EPS = 1e-12
#: PyTorch PoissonNLLLoss's default ``eps`` (used with ``log_input=False``)
TORCH_POISSON_EPS = 1e-8


def _t(name: str) -> str:
    """``torch.from_numpy(name)``: how the calls hand numpy arrays to PyTorch."""
    return f"torch.from_numpy({name})"


#: PyTorch's elementwise weight: each sample's weight repeated across its K outputs
TORCH_WEIGHT = "weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape)"


DEFAULT = Params()


def _real_values(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """Any real predictions and labels: errors of a few units, on both sides of every Huber threshold tested."""
    return rng.normal(scale=2.0, size=shape), rng.normal(scale=2.0, size=shape)


def _correlated_rows(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """Rows pointing roughly the same way: cos stays away from 0, where float32 loses relative precision."""
    y_true = rng.normal(size=shape)
    return y_true + rng.normal(scale=0.5, size=shape), y_true


def _squared_error(b: Chunk, p: Params) -> np.ndarray:
    return (b.y_pred - b.y_true) ** 2


@register(
    "mse",
    domain=_real_values,
    aliases=("mean_squared_error", "l2"),
    kind="element",
    inner="mean",
    squared=True,
    pitfalls=(
        "MSE is not ½Σ(ŷ−y)²: the ½ belongs to the quadratic loss (half_sum / half_mean) used to tidy derivatives.",
        "Dividing by N (batch_mean) instead of N·K (mean) makes a 10-output model look 10× worse.",
        "Keras averages over the last axis first, then over the batch; on a rectangular (N, K) grid "
        "this equals mean, but with sample weights its default still divides by N, not Σw.",
        "Passing (N,) labels against (N, 1) predictions to PyTorch broadcasts to (N, N): a silent wrong number.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.MSELoss()",
            "torch.nn.functional.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y_true))",
            OWN,
            "mean",
            weighted_call="torch.nn.functional.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y_true), "
            "weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape))",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "keras",
            "keras.losses.MeanSquaredError()",
            "keras.losses.MeanSquaredError()(y_true, y_pred)",
            OWN,
            "mean",
            float32=True,
            weighted_call="keras.losses.MeanSquaredError()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_squared_error",
            "sklearn.metrics.mean_squared_error(y_true, y_pred)",
            OWN,
            "mean",
            weighted_call="sklearn.metrics.mean_squared_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "numpy",
            "np.mean((ŷ−y)**2)",
            "np.mean((y_pred - y_true) ** 2)",
            OWN,
            "mean",
            weighted_call="np.average(np.mean((y_pred - y_true) ** 2, axis=1), weights=sample_weight)",
            weighted_divisor="sum(w)",
        ),
    ),
)
def mse(b: Chunk, p: Params) -> np.ndarray:
    """Mean squared error: the squared difference of each prediction and label.

    e[i,k] = (ŷ[i,k] − y[i,k])²

    >>> b = Chunk(np.array([[0.8, 0.2, 0.5, 0.9]]), np.array([[0.7, 0.3, 0.4, 1.0]]))
    >>> float(np.round(mse(b, Params()).mean(), 12))  # hand: 4 × 0.1² / 4
    0.01
    """
    return _squared_error(b, p)


# --- mean absolute error -------------------------------------------------------------------------


def _abs_error(b: Chunk, p: Params) -> np.ndarray:
    return np.abs(b.y_pred - b.y_true)


@register(
    "mae",
    domain=_real_values,
    aliases=("mean_absolute_error", "l1"),
    kind="element",
    inner="mean",
    pitfalls=(
        "Dividing by N (batch_mean) instead of N·K (mean) makes a K-output model look K× worse.",
        "With sample weights PyTorch's F.l1_loss(weight=) and scikit-learn divide by Σw, Keras's loss by N; "
        "the nn.L1Loss module takes no weights at all.",
        "The mean of signed errors is the bias, not the MAE: errors of +1 and −1 cancel to 0 there.",
        "Passing (N,) labels against (N, 1) predictions to PyTorch broadcasts to (N, N): a silent wrong number.",
    ),
    frameworks=(
        Framework(
            "pytorch",
            "torch.nn.L1Loss()",
            f"torch.nn.functional.l1_loss({_t('y_pred')}, {_t('y_true')})",
            OWN,
            "mean",
            weighted_call=f"torch.nn.functional.l1_loss({_t('y_pred')}, {_t('y_true')}, {TORCH_WEIGHT})",
            weighted_divisor="sum(w)",
        ),
        Framework(
            "keras",
            "keras.losses.MeanAbsoluteError()",
            "keras.losses.MeanAbsoluteError()(y_true, y_pred)",
            OWN,
            "mean",
            float32=True,
            weighted_call="keras.losses.MeanAbsoluteError()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_absolute_error",
            "sklearn.metrics.mean_absolute_error(y_true, y_pred)",
            OWN,
            "mean",
            weighted_call="sklearn.metrics.mean_absolute_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
    ),
)
def mae(b: Chunk, p: Params) -> np.ndarray:
    """Mean absolute error: the absolute difference of each prediction and label.

    e[i,k] = |ŷ[i,k] − y[i,k]|

    >>> b = Chunk(np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.5, 2.0], [2.0, 2.0]]))
    >>> mae(b, Params()).tolist()  # hand: |1 − 1.5|, |2 − 2|, |3 − 2|, |5 − 2|
    [[0.5, 0.0], [1.0, 3.0]]
    """
    return _abs_error(b, p)


# --- mean absolute percentage error --------------------------------------------------------------


def _keras_mape(b: Chunk, p: Params) -> np.ndarray:
    return 100.0 * np.mean(np.abs(b.y_true - b.y_pred) / np.maximum(np.abs(b.y_true), KERAS_EPS), axis=1)


def _sklearn_mape(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(np.abs(b.y_pred - b.y_true) / np.maximum(np.abs(b.y_true), SKLEARN_EPS), axis=1)


def _nonzero_labels(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    y_true = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return y_true + rng.normal(scale=0.5, size=shape), y_true


@register(
    "mape",
    aliases=("mean_absolute_percentage_error",),
    kind="element",
    inner="mean",
    expects="predictions and labels of the same shape (N, K); labels must be non-zero (MAPE divides by |y|)",
    undefined="division by a label of 0",
    domain=_nonzero_labels,
    pitfalls=(
        "Keras reports a percentage (×100), scikit-learn a fraction: sklearn's 0.25 is Keras's 25.",
        "A label of 0 makes MAPE infinite; the frameworks hide it behind an epsilon in the denominator "
        "(Keras 1e-7, scikit-learn 2.2e-16) and report huge finite numbers such as 1.7e8 or 7.5e14.",
        "MAPE is asymmetric: over-predicting a small label costs without bound, under-predicting at most 100%; "
        "it is not the symmetric sMAPE.",
        "Keras's docstring says it divides by max(y, ε); the code divides by max(|y|, ε), so negative labels "
        "are measured against their magnitude.",
    ),
    frameworks=(
        Framework(
            "keras",
            "keras.losses.MeanAbsolutePercentageError()",
            "keras.losses.MeanAbsolutePercentageError()(y_true, y_pred)",
            _keras_mape,
            "mean",
            note="percent; divides by max(|y|, 1e-7), so a label of 0 gives a huge finite number",
            float32=True,
            weighted_call="keras.losses.MeanAbsolutePercentageError()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_absolute_percentage_error",
            "sklearn.metrics.mean_absolute_percentage_error(y_true, y_pred)",
            _sklearn_mape,
            None,
            note="sklearn MAPE is a fraction, not a percent (mean / 100); divides by max(|y|, 2.2e-16)",
            weighted_call="sklearn.metrics.mean_absolute_percentage_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
    ),
)
def mape(b: Chunk, p: Params) -> np.ndarray:
    """Mean absolute percentage error: each absolute error as a percentage of its label.

    e[i,k] = 100 · |ŷ[i,k] − y[i,k]| / |y[i,k]|   (undefined where y[i,k] = 0)

    >>> b = Chunk(np.array([[1.5, 1.0, 5.0]]), np.array([[1.0, 2.0, -4.0]]))
    >>> mape(b, Params()).tolist()  # hand: 0.5/1, 1/2, 9/4 as percentages
    [[50.0, 50.0, 225.0]]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100.0 * np.abs(b.y_pred - b.y_true) / np.abs(b.y_true)


# --- mean squared logarithmic error --------------------------------------------------------------


def _squared_log_error(b: Chunk, p: Params) -> np.ndarray:
    return (np.log1p(b.y_pred) - np.log1p(b.y_true)) ** 2


def _keras_msle(b: Chunk, p: Params) -> np.ndarray:
    first = np.log(np.maximum(b.y_pred, KERAS_EPS) + 1.0)
    second = np.log(np.maximum(b.y_true, KERAS_EPS) + 1.0)
    return np.mean((first - second) ** 2, axis=1)


def _above_minus_one(b: Chunk, p: Params) -> None:
    for role, values in (("predictions", b.y_pred), ("labels", b.y_true)):
        check_domain(
            b,
            role,
            values <= -1.0,
            "msle takes log(1 + x), which needs every value > -1",
            "msle suits non-negative targets such as counts or prices",
        )


def _non_negative(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0.0, 5.0, size=shape), rng.uniform(0.0, 5.0, size=shape)


@register(
    "msle",
    aliases=("mean_squared_logarithmic_error",),
    kind="element",
    inner="mean",
    squared=True,
    validate=_above_minus_one,
    expects="predictions and labels of the same shape (N, K), every value > -1 (typically ≥ 0: counts, prices)",
    undefined="log(1 + x) of a value ≤ -1",
    domain=_non_negative,
    pitfalls=(
        "Keras silently raises every value below 1e-7 to 1e-7, so negative inputs give a different number; "
        "scikit-learn keeps values in (-1, 0) as they are and raises for ≤ -1.",
        "MSLE is not RMSLE: scikit-learn's root_mean_squared_log_error is its square root.",
        "log(1 + x) measures relative error: an error of 10 on a label of 1000 costs almost nothing, "
        "and under-predicting costs more than over-predicting by the same amount.",
        "It is the MSE of log(1 + x), not of log(x): labels of 0 are fine, and there is no ½.",
    ),
    frameworks=(
        Framework(
            "keras",
            "keras.losses.MeanSquaredLogarithmicError()",
            "keras.losses.MeanSquaredLogarithmicError()(y_true, y_pred)",
            _keras_msle,
            "mean",
            note="raises values below 1e-7 to 1e-7 before log(x + 1), so negative inputs differ",
            float32=True,
            weighted_call="keras.losses.MeanSquaredLogarithmicError()(y_true, y_pred, sample_weight=sample_weight)",
        ),
        Framework(
            "sklearn",
            "sklearn.metrics.mean_squared_log_error",
            "sklearn.metrics.mean_squared_log_error(y_true, y_pred)",
            OWN,
            "mean",
            weighted_call="sklearn.metrics.mean_squared_log_error(y_true, y_pred, sample_weight=sample_weight)",
            weighted_divisor="sum(w)",
        ),
    ),
)
def msle(b: Chunk, p: Params) -> np.ndarray:
    """Mean squared logarithmic error: the squared difference of log(1 + ŷ) and log(1 + y).

    e[i,k] = (log(1 + ŷ[i,k]) − log(1 + y[i,k]))²   (every value must be > −1)

    >>> b = Chunk(np.array([[np.e - 1, 0.0]]), np.array([[0.0, np.e**2 - 1]]))
    >>> np.round(msle(b, Params()), 12).tolist()  # hand: (1 − 0)², (0 − 2)²
    [[1.0, 4.0]]
    """
    return _squared_log_error(b, p)


# --- Huber ---------------------------------------------------------------------------------------


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
    domain=_real_values,
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
            f"torch.nn.functional.huber_loss({_t('y_pred')}, {_t('y_true')}, delta={{delta}})",
            OWN,
            "mean",
            weighted_call=f"torch.nn.functional.huber_loss({_t('y_pred')}, {_t('y_true')}, delta={{delta}}, "
            f"{TORCH_WEIGHT})",
            weighted_divisor="N",
        ),
        Framework(
            "pytorch",
            "torch.nn.SmoothL1Loss()",
            f"torch.nn.functional.smooth_l1_loss({_t('y_pred')}, {_t('y_true')}, beta={{delta}})",
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


# --- log-cosh ------------------------------------------------------------------------------------


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
    domain=_real_values,
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


# --- Poisson -------------------------------------------------------------------------------------


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x·log(y), taken as 0 where x = 0 (the limit), as scipy.special.xlogy."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(y))


def _poisson(b: Chunk, p: Params) -> np.ndarray:
    return b.y_pred - _xlogy(b.y_true, b.y_pred)


def _keras_poisson(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(b.y_pred - b.y_true * np.log(b.y_pred + KERAS_EPS), axis=1)


def _torch_poisson_rates(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(b.y_pred - b.y_true * np.log(b.y_pred + TORCH_POISSON_EPS), axis=1)


def _torch_poisson_log_rates(b: Chunk, p: Params) -> np.ndarray:
    return np.mean(np.exp(b.y_pred) - b.y_true * b.y_pred, axis=1)


def _sklearn_poisson_deviance(b: Chunk, p: Params) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        deviance = 2.0 * (_xlogy(b.y_true, b.y_true / b.y_pred) - b.y_true + b.y_pred)
    # scikit-learn raises ValueError for a prediction <= 0 rather than return a number
    return np.where((b.y_pred <= 0).any(axis=1), np.nan, np.mean(deviance, axis=1))


def _rates_and_counts(b: Chunk, p: Params) -> None:
    check_domain(
        b,
        "predictions",
        b.y_pred < 0,
        "poisson expects predicted rates ≥ 0",
        "if these are log-rates, as PyTorch's PoissonNLLLoss expects by default, exponentiate them first",
    )
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
    validate=_rates_and_counts,
    expects="predicted rates ≥ 0 (not log-rates) and labels that are counts ≥ 0, of the same shape (N, K)",
    undefined="log 0: a predicted rate of 0 where the label is positive",
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
            f"torch.nn.functional.poisson_nll_loss({_t('y_pred')}, {_t('y_true')}, log_input=False)",
            _torch_poisson_rates,
            "mean",
            note="adds eps=1e-8 inside the log: ŷ − y·log(ŷ + 1e-8)",
        ),
        Framework(
            "pytorch",
            "torch.nn.PoissonNLLLoss()",
            f"torch.nn.functional.poisson_nll_loss({_t('y_pred')}, {_t('y_true')})",
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


# --- cosine similarity ---------------------------------------------------------------------------


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
            f"torch.nn.functional.cosine_embedding_loss({_t('y_pred')}, {_t('y_true')}, "
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
