"""Student's t distribution in pure Python: CDF, survival function and quantile.

scipy is not a runtime dependency of lossctl, so the few special functions the
intervals and tests need are written here and checked against ``scipy.stats.t``
in the test suite (relative error below 1e-10).

* :func:`betainc` is the regularized incomplete beta ``I_x(a, b)``, evaluated by
  the modified Lentz continued fraction (Numerical Recipes, ``betacf``), with the
  symmetry ``I_x(a, b) = 1 - I_{1-x}(b, a)`` where the fraction converges slowly.
  It takes ``x`` and ``1 - x`` separately so that neither is lost to cancellation.
* :func:`t_sf` uses ``P(T > t) = I_{df/(df+t²)}(df/2, 1/2) / 2`` for ``t > 0``.
* :func:`t_ppf` solves ``t_sf(t) = q`` by Newton steps on ``log sf`` kept inside a
  bisection bracket; df 1 and 2 have closed forms, and above 1e5 degrees of freedom
  the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5) is exact to rounding.

>>> round(t_ppf(0.975, 10), 6)
2.228139
>>> round(t_sf(2.228139, 10), 6)
0.025
"""

from __future__ import annotations

import math

from lossctl.errors import UsageError

_TINY = 1e-300
_EPS = 1e-16
_LOG_SQRT_PI = 0.5 * math.log(math.pi)


def _log_gamma_ratio_half(a: float) -> float:
    """``log Γ(a + 1/2) − log Γ(a)``, accurate for large ``a`` where lgamma differences cancel."""
    if a < 1000.0:
        return math.lgamma(a + 0.5) - math.lgamma(a)
    # Γ(a+½)/Γ(a) = √a · (1 − 1/(8a) + 1/(128a²) + 5/(1024a³) − 21/(32768a⁴) + …)
    z = 1.0 / a
    series = 1.0 - z / 8 + z * z / 128 + 5 * z**3 / 1024 - 21 * z**4 / 32768
    return 0.5 * math.log(a) + math.log(series)


def _log_beta(a: float, b: float) -> float:
    if b == 0.5:
        return _LOG_SQRT_PI - _log_gamma_ratio_half(a)
    if a == 0.5:
        return _LOG_SQRT_PI - _log_gamma_ratio_half(b)
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 200_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")  # pragma: no cover


def betainc(a: float, b: float, x: float, y: float | None = None) -> float:
    """Regularized incomplete beta ``I_x(a, b)``; pass ``y = 1 - x`` when it is known more precisely.

    >>> betainc(1.0, 1.0, 0.3)  # the uniform CDF
    0.3
    """
    y = 1.0 - x if y is None else y
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - betainc(b, a, y, x)
    log_front = (
        a * math.log(x) + b * math.log1p(-x) - _log_beta(a, b)
        if y > 0.5
        else (a * math.log1p(-y) + b * math.log(y) - _log_beta(a, b))
    )
    return math.exp(log_front) * _betacf(a, b, x) / a


def t_sf(t: float, df: float) -> float:
    """``P(T > t)`` for Student's t with ``df`` degrees of freedom (df > 0, may be fractional)."""
    if not df > 0:
        raise UsageError(f"degrees of freedom must be positive, got {df}")
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    t2 = t * t
    x, y = df / (df + t2), t2 / (df + t2)
    upper = 0.5 * betainc(df / 2.0, 0.5, x, y)  # P(T > |t|)
    return upper if t >= 0 else 1.0 - upper


def t_cdf(t: float, df: float) -> float:
    """``P(T <= t)``."""
    return t_sf(-t, df)


def t_pdf(t: float, df: float) -> float:
    """Density of Student's t."""
    log_c = _log_gamma_ratio_half(df / 2.0) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1.0) / 2.0 * math.log1p(t * t / df))


def _cornish_fisher(z: float, df: float) -> float:
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _central(t: float, df: float) -> float:
    """``P(|T| < t)`` for t >= 0, with full relative precision for small t."""
    t2 = t * t
    return betainc(0.5, df / 2.0, t2 / (df + t2), df / (df + t2))


def _newton(objective, slope, t: float) -> float:
    """Root of an increasing ``objective`` on t > 0: Newton steps kept inside a bisection bracket."""
    lo, hi = 0.0, math.inf
    for _ in range(400):
        f = objective(t)
        if f < 0:
            lo = t
        else:
            hi = t
        new = t - f / slope(t) if math.isfinite(f) else math.nan
        if not lo < new < hi:
            new = (lo + hi) / 2 if math.isfinite(hi) else 2 * max(t, 1.0)
        if abs(new - t) <= 4e-16 * abs(new):
            return new
        t = new
    return t  # pragma: no cover


def _upper_quantile(q: float, c: float, df: float) -> float:
    """The t > 0 with ``t_sf(t, df) == q``, where ``c = 1 − 2q`` (passed exactly by the caller)."""
    if df == 1.0:
        return 1.0 / math.tan(math.pi * q)
    if df == 2.0:
        return c / math.sqrt(2.0 * q * (1.0 - q))
    from statistics import NormalDist  # lazily: statistics pulls in fractions and decimal

    z = -NormalDist().inv_cdf(q) if q > 1e-300 else 37.5
    if df >= 1e5:
        return _cornish_fisher(z, df)
    t0 = max(_cornish_fisher(z, df), z, 1e-300)
    if q > 0.25:  # near the centre solve P(|T| < t) = c, whose relative precision survives small t
        log_c = math.log(c)
        return _newton(
            lambda t: math.log(_central(t, df)) - log_c if t > 0 else -math.inf,
            lambda t: 2.0 * t_pdf(t, df) / _central(t, df),
            t0,
        )
    log_q = math.log(q)
    return _newton(
        lambda t: log_q - math.log(t_sf(t, df)) if t_sf(t, df) > 0 else math.inf,
        lambda t: t_pdf(t, df) / t_sf(t, df),
        t0,
    )


def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t: the ``t`` with ``P(T <= t) == p``."""
    if not df > 0:
        raise UsageError(f"degrees of freedom must be positive, got {df}")
    if not 0.0 <= p <= 1.0:
        raise UsageError(f"probability must be in [0, 1], got {p}")
    if p == 0.5:
        return 0.0
    if p in (0.0, 1.0):
        return -math.inf if p == 0.0 else math.inf
    if p > 0.5:
        return _upper_quantile(1.0 - p, 2.0 * (p - 0.5), df)
    return -_upper_quantile(p, 2.0 * (0.5 - p), df)
