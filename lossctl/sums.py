"""Running sums a pass accumulates: compensated (Neumaier) scalars and vectors, weight sums safe at
any scale, and the extremes of the per-sample values. Each merges with another of its kind (the rows
of another chunk range), so a pass's state merges associatively (:mod:`lossctl.merging`)."""

from __future__ import annotations

import math

import numpy as np

from .report import VectorSummary, median_of

__all__ = ["Extremes", "ScaledSum", "Sum", "VectorSum", "weight_scale"]


class Sum:
    """A float64 running sum with Neumaier compensation: constant memory, float64 accuracy.

    Each chunk adds one (pairwise-summed) partial; the compensation ``c`` keeps
    what each addition rounds away, so millions of chunks still sum to within a
    few ulps of the exact total.
    """

    def __init__(self) -> None:
        self.s = 0.0
        self.c = 0.0

    def add(self, x: float) -> None:
        x = float(x)
        t = self.s + x
        self.c += (self.s - t) + x if abs(self.s) >= abs(x) else (x - t) + self.s
        self.s = t

    def merge(self, other: Sum) -> None:
        """Add another running sum (rows disjoint from this one's): its sum, compensated, then its compensation."""
        self.add(other.s)
        self.c += other.c

    @property
    def value(self) -> float:
        return self.s + self.c if math.isfinite(self.s) else self.s


class VectorSum:
    """:class:`Sum` for a vector of K running sums (the per-output column sums)."""

    def __init__(self) -> None:
        self.s: np.ndarray | None = None
        self.c: np.ndarray | None = None

    def add(self, x: np.ndarray) -> None:
        if self.s is None:
            self.s, self.c = x.astype(np.float64, copy=True), np.zeros(x.shape)
            return
        t = self.s + x
        self.c += np.where(np.abs(self.s) >= np.abs(x), (self.s - t) + x, (x - t) + self.s)
        self.s = t

    def merge(self, other: VectorSum) -> None:
        if other.s is None or other.c is None:
            return
        if self.s is None or self.c is None:
            self.s, self.c = other.s.copy(), other.c.copy()
            return
        with np.errstate(all="ignore"):
            self.add(other.s)
            self.c += other.c

    @property
    def value(self) -> np.ndarray | None:
        if self.s is None or self.c is None:
            return None
        with np.errstate(all="ignore"):
            return np.where(np.isfinite(self.s), self.s + self.c, self.s)


class ScaledSum:
    """A running sum of ``w``-weighted values whose weights may be as large as 1e308 or as small as 5e-324.

    Each chunk's weights are scaled by a power of two (exact) so that the largest is in [0.5, 1):
    the chunk's sums neither overflow nor underflow, and the running sum is kept at the largest
    exponent seen. :meth:`ratio` of two such sums is scale-free (Σw·l / Σw with weights of 1e308
    equals the unit-weight value); :attr:`value` is the true sum, which may itself overflow.
    """

    def __init__(self) -> None:
        self.sum = Sum()
        self.exponent: int | None = None

    def add(self, scaled: float, exponent: int) -> None:
        if self.exponent is None:
            self.exponent = exponent
        elif exponent > self.exponent:  # rescale what was summed so far: exact powers of two
            shift = self.exponent - exponent
            self.sum.s, self.sum.c = math.ldexp(self.sum.s, shift), math.ldexp(self.sum.c, shift)
            self.exponent = exponent
        self.sum.add(math.ldexp(float(scaled), exponent - self.exponent))

    def merge(self, other: ScaledSum) -> None:
        """Add another state's scaled sum (rows disjoint from this one's), at the larger exponent."""
        if other.exponent is None:
            return
        self.add(other.sum.s, other.exponent)
        self.sum.c += math.ldexp(other.sum.c, other.exponent - self.exponent)

    @property
    def value(self) -> float:
        try:
            return math.ldexp(self.sum.value, self.exponent or 0)
        except OverflowError:
            return math.copysign(math.inf, self.sum.value)

    def ratio(self, other: ScaledSum) -> float | None:
        """``self / other`` computed on the scaled sums (the same chunks were added to both)."""
        denominator = other.sum.value
        if not denominator:
            return None
        return math.ldexp(self.sum.value / denominator, (self.exponent or 0) - (other.exponent or 0))


def weight_scale(weights: np.ndarray) -> tuple[np.ndarray, int]:
    """``weights`` scaled by an exact power of two so the largest lies in [0.5, 1), and that exponent."""
    largest = float(np.max(weights)) if len(weights) else 0.0
    if not largest:
        return weights, 0
    exponent = math.frexp(largest)[1]
    return np.ldexp(weights, -exponent), exponent


class Extremes:
    """Min, max (and the first row holding it) and the sum of the per-sample values, chunk by chunk.

    NaN propagates as in numpy: once a NaN is seen, min and max are NaN and the max's row is the
    first NaN's (``np.argmax`` ranks NaN highest, as ``--worst`` does).
    """

    def __init__(self) -> None:
        self.min, self.max, self.argmax, self.sum = math.inf, -math.inf, None, Sum()

    def add(self, values: np.ndarray, start: int) -> None:
        if not len(values):
            return
        i = int(np.argmax(values))
        top, low = float(values[i]), float(np.min(values))
        if self.argmax is None or (not math.isnan(self.max) and (math.isnan(top) or top > self.max)):
            self.max, self.argmax = top, start + i
        if not math.isnan(self.min) and (math.isnan(low) or low < self.min):
            self.min = low
        with np.errstate(all="ignore"):  # inf + -inf sum to NaN, the mean numpy gives, without a warning
            self.sum.add(np.sum(values))

    def merge(self, other: Extremes) -> None:
        """Another state's rows (disjoint from these): the max's row is the earlier one on a tie."""
        if other.argmax is None:
            return
        if self.argmax is None:
            self.min, self.max, self.argmax, self.sum = other.min, other.max, other.argmax, other.sum
            return
        nan_self, nan_other = math.isnan(self.max), math.isnan(other.max)
        if (
            (nan_other and not nan_self)
            or (not nan_self and other.max > self.max)
            or ((nan_other == nan_self and (nan_self or other.max == self.max)) and other.argmax < self.argmax)
        ):
            self.max, self.argmax = other.max, other.argmax
        if not math.isnan(self.min) and (math.isnan(other.min) or other.min < self.min):
            self.min = other.min
        self.sum.merge(other.sum)

    def summary(self, values: np.ndarray, count: int, rows_match: bool, overwrite: bool) -> VectorSummary:
        """The per-sample summary; ``values`` (all of them) only for the median; rows from 1."""
        median = math.nan if math.isnan(self.max) else median_of(values, overwrite=overwrite)
        argmax = self.argmax + 1 if rows_match and self.argmax is not None else None
        return VectorSummary(count, self.min, median, self.sum.value / count, self.max, argmax, "argmax_row")
