"""Mergeable moment states and the analytic (t and delta-method) intervals built on them.

Rows are the resampling unit: every state here is fed one value per row (sample),
never one per element. :class:`Moments` holds count, mean and M2 (the sum of squared
deviations) and merges with Chan et al.'s parallel update, so a chunk is folded in as
its own moments (one vectorised pass) and states from different chunks or workers
combine in any grouping. :class:`RatioMoments` does the same for the pairs
``(u_i, v_i) = (w_i·l_i, w_i)`` of a ratio estimator ``R = Σu / Σv``; it keeps the
co-moments about the means (equivalent to the raw sums Σw, Σw·l, Σw², Σ(w·l)², Σw²·l
but without their cancellation).

>>> m = Moments().update([1.0, 2.0, 3.0]).merge(Moments().update([4.0]))
>>> (m.count, m.mean, m.m2)
(4, 2.5, 5.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lossctl.errors import InputError, UsageError
from lossctl.stats.tdist import t_ppf


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval for one value."""

    low: float
    high: float
    level: float
    method: str  # "t", "delta" or "bootstrap"

    def scaled(self, factor: float) -> Interval:
        """The interval of ``factor × value`` (a convention that is a fixed multiple of another)."""
        a, b = self.low * factor, self.high * factor
        return Interval(min(a, b), max(a, b), self.level, self.method)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise UsageError(f"confidence level must be strictly between 0 and 1, got {level} (--ci-level)")


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a·b without BLAS: einsum stays on this thread (BLAS threads spin for ~1 ms per call)."""
    return float(np.einsum("i,i->", a, b))


def _as_rows(values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise InputError(f"expected one value per row (1-D), got shape {arr.shape}")
    return arr


@dataclass(frozen=True)
class Moments:
    """Count, mean and M2 = Σ(x − mean)² of per-row values; immutable, merge is associative."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, values) -> Moments:
        """The moments of one chunk, in two vectorised passes."""
        x = _as_rows(values)
        if x.size == 0:
            return cls()
        mean = float(x.mean())
        d = x - mean
        return cls(int(x.size), mean, _dot(d, d))

    def update(self, values) -> Moments:
        """This state with a chunk of per-row values folded in."""
        return self.merge(Moments.of(values))

    def merge(self, other: Moments) -> Moments:
        """Chan, Golub & LeVeque's pairwise combination of two states."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / n)
        m2 = self.m2 + other.m2 + delta * delta * (self.count * other.count / n)
        return Moments(n, mean, m2)

    @property
    def variance(self) -> float:
        """Sample variance (divisor count − 1); NaN below two rows."""
        return self.m2 / (self.count - 1) if self.count > 1 else math.nan

    @property
    def sem(self) -> float:
        """Standard error of the mean."""
        return math.sqrt(self.variance / self.count) if self.count > 1 else math.nan

    def t_interval(self, level: float = 0.95) -> Interval:
        """Student t interval for the mean: mean ± t_{(1+level)/2, n−1} · s/√n.

        Equals ``scipy.stats.t.interval(level, n − 1, loc=mean, scale=s/√n)``. With zero
        variance the interval is the single point ``[mean, mean]``; below two rows it is NaN.
        """
        _check_level(level)
        if self.count < 2:
            return Interval(math.nan, math.nan, level, "t")
        half = t_ppf(0.5 + level / 2.0, self.count - 1) * self.sem if self.m2 > 0 else 0.0
        return Interval(self.mean - half, self.mean + half, level, "t")


@dataclass(frozen=True)
class RatioMoments:
    """Moments of pairs (u, v) for the ratio estimator R = Σu/Σv, e.g. u = w·l, v = w."""

    count: int = 0
    mean_u: float = 0.0
    mean_v: float = 0.0
    m2_u: float = 0.0
    m2_v: float = 0.0
    c_uv: float = 0.0

    @classmethod
    def of(cls, numerators, denominators) -> RatioMoments:
        u, v = _as_rows(numerators), _as_rows(denominators)
        if u.shape != v.shape:
            raise InputError(f"numerators {u.shape} and denominators {v.shape} differ in length")
        work = np.empty((2, u.size))
        work[0] = u
        return cls._centred(work, v)

    @classmethod
    def weighted(cls, losses, weights) -> RatioMoments:
        """Pairs for the weighted mean Σw·l/Σw from per-row losses and weights."""
        w, loss = _as_rows(weights), _as_rows(losses)
        if w.shape != loss.shape:
            raise InputError(f"losses {loss.shape} and weights {w.shape} differ in length")
        work = np.empty((2, w.size))
        np.multiply(w, loss, out=work[0])
        return cls._centred(work, w)

    @classmethod
    def _centred(cls, work: np.ndarray, v: np.ndarray) -> RatioMoments:
        # one (2, n) work array: two separate temporaries cost a fresh mmap (page faults) per chunk
        if v.size == 0:
            return cls()
        mu, mv = float(work[0].mean()), float(v.mean())
        work[0] -= mu
        np.subtract(v, mv, out=work[1])
        du, dv = work
        return cls(int(v.size), mu, mv, _dot(du, du), _dot(dv, dv), _dot(du, dv))

    def update(self, numerators, denominators) -> RatioMoments:
        return self.merge(RatioMoments.of(numerators, denominators))

    def merge(self, other: RatioMoments) -> RatioMoments:
        """Bivariate Chan update: means, both M2s and the co-moment."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        f = self.count * other.count / n
        du, dv = other.mean_u - self.mean_u, other.mean_v - self.mean_v
        return RatioMoments(
            n,
            self.mean_u + du * (other.count / n),
            self.mean_v + dv * (other.count / n),
            self.m2_u + other.m2_u + du * du * f,
            self.m2_v + other.m2_v + dv * dv * f,
            self.c_uv + other.c_uv + du * dv * f,
        )

    @property
    def ratio(self) -> float:
        return self.mean_u / self.mean_v if self.count and self.mean_v != 0 else math.nan

    @property
    def se(self) -> float:
        """Delta-method standard error of R: √(Σ(u_i − R·v_i)² / (n(n−1))) / |v̄|.

        ``Σ(u − Rv)² = M2_u − 2R·C_uv + R²·M2_v`` because ``ū = R·v̄``.
        """
        if self.count < 2 or self.mean_v == 0:
            return math.nan
        r = self.ratio
        s2 = max(self.m2_u - 2.0 * r * self.c_uv + r * r * self.m2_v, 0.0) / (self.count - 1)
        return math.sqrt(s2 / self.count) / abs(self.mean_v)

    def delta_interval(self, level: float = 0.95) -> Interval:
        """R ± t_{(1+level)/2, n−1} · se (the delta method, with t rather than normal quantiles).

        With equal weights this is exactly :meth:`Moments.t_interval` of the losses.
        """
        _check_level(level)
        se = self.se
        if math.isnan(se):
            return Interval(math.nan, math.nan, level, "delta")
        half = t_ppf(0.5 + level / 2.0, self.count - 1) * se if se > 0 else 0.0
        return Interval(self.ratio - half, self.ratio + half, level, "delta")


def convention_scale(name: str, n_samples: int, n_outputs: int) -> float:
    """The factor that turns the interval of a per-row mean into the interval of a convention.

    Each scalar convention is a fixed multiple of the mean over rows of one per-row value,
    so its interval is that factor times the per-row interval (rows are the resampling
    unit; N and K are fixed by the data, not resampled):

    * unweighted conventions use ``s_i``, row i's sum over its K element terms (its
      per-sample loss for losses defined per sample, K = 1 then):
      ``mean`` = mean(s)/K (the mean of per-row means, divisor N·K), ``batch_mean`` =
      mean(s), ``sum_of_sample_means`` = N·mean(s)/K, ``sum`` = N·mean(s); the ``half_``
      variants halve their base;
    * ``weighted_batch_mean`` = mean(w·l) and ``weighted_sum`` = N·mean(w·l), over per-row
      ``w_i·l_i``;
    * ``weighted_mean`` = Σw·l/Σw is a ratio, not a multiple of a mean: use
      :meth:`RatioMoments.delta_interval` (factor 1 here).

    >>> convention_scale("sum", 1000, 10)
    1000.0
    >>> convention_scale("half_mean", 1000, 10)
    0.05
    """
    n, k = float(n_samples), float(n_outputs)
    factors = {
        "mean": 1.0 / k,
        "batch_mean": 1.0,
        "sum_of_sample_means": n / k,
        "sum": n,
        "half_mean": 0.5 / k,
        "half_batch_mean": 0.5,
        "half_sum": 0.5 * n,
        "weighted_mean": 1.0,
        "weighted_batch_mean": 1.0,
        "weighted_sum": n,
    }
    if name not in factors:
        raise UsageError(f"no interval for convention {name!r}")
    return factors[name]
