"""The frameworks' own float32 arithmetic, emulated in the one streaming pass (pure numpy).

A framework called on float32 arrays computes its terms and its sums in float32. Two
pieces reproduce that here:

* :func:`as_file_dtype` hands a chunk back in the dtype the frameworks see: the reader's
  float32 arrays when the chunk carries them, else a cast (float32 values read from a
  float32 file round-trip exactly through the float64 chunk).
* :class:`ColumnMean32` is scikit-learn's float32 reduction for regression metrics:
  ``np.average(terms, axis=0)`` adds a C-contiguous ``(N, K)`` float32 array row by row
  into one float32 accumulator per column, then ``np.mean`` of the K column means. A
  carried float32 accumulator, added into the first row of each chunk before that
  chunk's own axis-0 reduction, gives the same additions in the same order: the result
  is bit-identical to scikit-learn's on the whole file for K ≥ 2. For K = 1 NumPy sums
  the single column pairwise over the whole file; the chunked sum is then within a
  float32 rounding or two (about 1e-7 relative), not bit-identical.

PyTorch sums a contiguous float32 tensor with a vectorised cascade sum, whose result is
within a few float32 roundings of the exact sum; lossctl models it as the float64 sum of
the float32 terms, rounded to float32 (within about 1e-7 relative of PyTorch, inside its
rtol 2e-6).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .chunk import Chunk


def as_file_dtype(chunk: Chunk) -> Chunk:
    """``chunk`` with its float arrays in the frameworks' dtype (float32 for float32 files; indices as they are)."""
    if chunk.dtype != "float32":
        return chunk
    kept = chunk.file_arrays
    if (
        kept is not None
        and len(kept[0]) == len(chunk.y_pred)
        and all(a is None or a.dtype == np.float32 or a is chunk.y_true for a in kept)
    ):  # the reader's float32 arrays: no cast
        return replace(chunk, y_pred=kept[0], y_true=kept[1], weights=kept[2], file_arrays=None)

    def f32(a: np.ndarray | None) -> np.ndarray | None:
        return a if a is None or a.dtype.kind in "iub" else a.astype(np.float32)

    return replace(chunk, y_pred=f32(chunk.y_pred), y_true=f32(chunk.y_true), weights=f32(chunk.weights))


class ColumnMean32:
    """scikit-learn's ``_average(terms, axis=0, weights=w)`` then the mean over outputs, in float32.

    ``add`` takes each chunk's float32 element terms ``(n, K)`` (it writes into their first
    row) and the chunk's float32 weights or None.
    """

    def __init__(self) -> None:
        self.acc: np.ndarray | None = None
        self.n = 0
        self.sum_w = 0.0

    def add(self, terms: np.ndarray, weights: np.ndarray | None = None) -> None:
        if not len(terms):
            return
        if weights is not None:
            terms = np.multiply(terms, weights[:, None], dtype=np.float32)  # np.average's a * w, in float32
            self.sum_w += float(np.sum(weights, dtype=np.float64))
        terms = np.ascontiguousarray(terms, dtype=np.float32)
        if self.acc is not None:
            terms[0] += self.acc  # the running column sums, then this chunk's rows in order
        self.acc = np.add.reduce(terms, axis=0)
        self.n += len(terms)

    def merge(self, other: ColumnMean32) -> None:
        """Another state's rows (after these): its column sums added in float32. Not bit-identical to one
        sequential pass (that order cannot be split), but within a float32 rounding per merge."""
        if other.acc is None:
            return
        self.acc = other.acc.copy() if self.acc is None else np.add(self.acc, other.acc, dtype=np.float32)
        self.n += other.n
        self.sum_w += other.sum_w

    def value(self, weighted: bool, per_column=None) -> float:
        """The metric: each column's float32 sum over its float32 divisor (then ``per_column`` of each, e.g.
        scikit-learn's root for RMSE), then their float32 mean."""
        if self.acc is None:
            return float("nan")
        # np.mean divides by N in float32; np.average by its float32 sum of the weights (pairwise in NumPy,
        # here the float64 sum rounded once: within a rounding of it)
        divisor = np.float32(self.sum_w) if weighted else np.float32(self.n)
        with np.errstate(all="ignore"):
            means = self.acc / divisor
            return float(np.mean(means if per_column is None else per_column(means)))
