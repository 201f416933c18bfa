"""A streamed, mergeable Poisson bootstrap over rows, reproducible for a seed.

Each replicate b draws row i ``c_ib ~ Poisson(1)`` times. The state is, per replicate,
``Σ_i c_ib · x_ij`` for each value column j and ``Σ_i c_ib``: a (B, m) matrix and a
(B,) vector, whatever the number of rows. Every convention's statistic is a function
of those sums (``Σc·l / Σc`` for a mean, ``Σc·w·l / Σc·w`` for a weighted mean), so all
conventions share the same resamples.

Reproducibility. Rows are grouped in fixed blocks of :data:`BLOCK` rows by global row
index; block k draws from its own generator, ``SFC64(SeedSequence(seed,
spawn_key=(k,)))`` (the k-th child ``SeedSequence(seed).spawn`` would give), B counts
per row in row order, each from 16 bits of ``random_raw`` output (little-endian
uint16 view), sub-blocks of :data:`_SUB` rows starting on whole 64-bit words. So the counts of row i depend only on (seed, B, i), never on
chunk sizes or on which worker read the row. A block is summed only once all its rows
are present (chunks that straddle blocks are buffered, at most one block per open
edge), and block sums are added exactly, as integers in units of 2**-1127, so the
result is bit-identical however rows are chunked or states are merged.

Counts come from 16 random bits each through a lookup table: probabilities are those
of Poisson(1) rounded to multiples of 1/65536 (counts 0 to 8), a bias far below the
Monte Carlo error of any practical B. Speed: the counts matrix is float32 and the
products run on one BLAS thread; values are centred on their block's mean first, so
float32 rounding is relative to the spread of the values (about 1e-7 of it), never
to their level, and the count sums are exact.

>>> bs = PoissonBootstrap(resamples=200, seed=1).update(np.arange(10.0))
>>> reps = bs.ratio(0)
>>> bool(abs(np.mean(reps) - 4.5) < 0.5), reps.shape
(True, (200,))
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import numpy as np

from lossctl.errors import InputError, UsageError
from lossctl.stats.moments import Interval, convention_scale

BLOCK = 65_536  # rows per generator block: fixes which stream a row's counts come from
_SUB = 1024  # rows per counts matrix (B × _SUB float32: 4 MB for B = 1000)
_SCALE_BITS = 1127  # every finite float64 is an integer multiple of 2**-1074; frexp mantissas need 53 more


def _poisson1_table() -> np.ndarray:
    k = np.arange(20)
    pmf = np.exp(-1.0) / np.array([math.factorial(int(i)) for i in k])
    thresholds = np.round(np.cumsum(pmf) * 65536.0)
    return np.searchsorted(thresholds, np.arange(65536), side="right").astype(np.uint8)


_TABLE = _poisson1_table()
#: the 16-bit values where the count steps up: count(u) = #{t in _STEPS: u >= t} = _TABLE[u]
_STEPS = [int(u) for u in np.flatnonzero(np.diff(_TABLE.astype(np.int16))) + 1]
_RARE = 4  # steps from this one on hold < 0.1% of the values: found by index, not by a full pass each


def _counts(u: np.ndarray, out: np.ndarray, acc: np.ndarray, mask: np.ndarray) -> None:
    """``out[:] = _TABLE[u]`` as float32, bit for bit, 2.3× faster than a gather: one SIMD compare and
    add per common step into a uint8 accumulator, the rare high counts fixed up by index."""
    np.greater_equal(u, _STEPS[0], out=acc.view(bool))
    for step in _STEPS[1:_RARE]:
        np.greater_equal(u, step, out=mask)
        np.add(acc, mask.view(np.uint8), out=acc)
    rare = np.flatnonzero(u >= _STEPS[_RARE])
    if rare.size:
        acc[rare] = _TABLE[u[rare]]
    np.copyto(out, acc)


def _exact_int(values: np.ndarray) -> list[int]:
    """Each float64 as an exact integer in units of 2**-1127 (so sums of them are associative)."""
    mant, exp = np.frexp(values)
    m = (mant * 2.0**53).astype(np.int64).tolist()
    e = (exp.astype(np.int64) + (_SCALE_BITS - 53)).tolist()
    return [mi << ei for mi, ei in zip(m, e, strict=True)]


def _one_blas_thread():
    """A context that keeps BLAS on one thread: the thin products here only lose to thread hand-offs."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def block_sums(x: np.ndarray, seed: int, resamples: int, block: int, offset: int = 0) -> np.ndarray:
    """(m + 1, B) sums Σ c·x_j and Σ c over rows ``offset .. offset+len(x)`` of generator block ``block``."""
    with _one_blas_thread():
        return _block_sums(x, seed, resamples, block, offset)


def _block_sums(x: np.ndarray, seed: int, resamples: int, block: int, offset: int) -> np.ndarray:
    gen = np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(block,)))
    b = resamples
    # centre on the block's mean so float32 products err relative to the spread, not the level
    centre = x.mean(axis=0) if x.shape[0] else np.zeros(x.shape[1])
    aug = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.float32)
    aug[:, :-1], aug[:, -1] = x - centre, 1.0
    out = np.zeros((aug.shape[1], b))
    end = offset + x.shape[0]
    # buffers reused across sub-blocks: fresh multi-megabyte temporaries cost page faults each time
    acc, mask = np.empty(_SUB * b, dtype=np.uint8), np.empty(_SUB * b, dtype=bool)
    counts = np.empty(_SUB * b, dtype=np.float32)
    for lo in range(0, end, _SUB):
        rows = min(_SUB, end - lo)
        raw = gen.random_raw(-(-rows * b // 4))
        if lo + rows <= offset:
            continue
        skip = max(offset - lo, 0)
        n = rows * b
        _counts(raw.view(np.uint16)[:n], counts[:n], acc[:n], mask[:n])
        block_counts = counts[: rows * b].reshape(rows, b)[skip:]
        out += aug[lo + skip - offset : lo + rows - offset].T @ block_counts  # count sums are exact in float32
    out[:-1] += centre[:, None] * out[-1]
    return out


@dataclass
class PoissonBootstrap:
    """Per-replicate sums of Poisson(1)-weighted rows; ``update`` per chunk, ``merge`` across workers."""

    resamples: int = 1000
    seed: int = 12345
    columns: int = 1
    _exact: list[list[int]] | None = None  # (m + 1) lists of B exact integers
    _pending: dict[int, list[tuple[int, np.ndarray]]] = field(default_factory=dict)
    _next_row: int = 0

    def __post_init__(self) -> None:
        if self.resamples < 1:
            raise UsageError(f"resamples must be at least 1, got {self.resamples} (--resamples)")
        if self._exact is None:
            self._exact = [[0] * self.resamples for _ in range(self.columns + 1)]

    def update(self, values, start: int | None = None) -> PoissonBootstrap:
        """Fold in a chunk: ``values`` (rows,) or (rows, columns), its first row at global index ``start``.

        Without ``start`` the chunk follows the previous one. Returns self.
        """
        x = np.asarray(values, dtype=np.float64)
        x = x.reshape(-1, 1) if x.ndim == 1 else x
        if x.ndim != 2 or x.shape[1] != self.columns:
            raise InputError(f"expected {self.columns} value column(s) per row, got shape {np.shape(values)}")
        start = self._next_row if start is None else int(start)
        self._next_row = start + x.shape[0]
        pos = 0
        while pos < x.shape[0]:
            row = start + pos
            k = row // BLOCK
            take = min(x.shape[0] - pos, (k + 1) * BLOCK - row)
            self._pending.setdefault(k, []).append((row - k * BLOCK, x[pos : pos + take].copy()))
            self._flush(k, complete_only=True)
            pos += take
        return self

    def _flush(self, k: int, complete_only: bool) -> None:
        parts = sorted(self._pending.get(k, []), key=lambda p: p[0])
        if not parts:
            return
        runs: list[tuple[int, list[np.ndarray]]] = []
        for off, arr in parts:
            if runs and runs[-1][0] + sum(a.shape[0] for a in runs[-1][1]) == off:
                runs[-1][1].append(arr)
            elif runs and off < runs[-1][0] + sum(a.shape[0] for a in runs[-1][1]):
                raise InputError(f"rows {k * BLOCK + off}... were given to the bootstrap twice")
            else:
                runs.append((off, [arr]))
        full = len(runs) == 1 and runs[0][0] == 0 and sum(a.shape[0] for a in runs[0][1]) == BLOCK
        if complete_only and not full:
            return
        del self._pending[k]
        for off, arrs in runs:
            self._add(block_sums(np.concatenate(arrs), self.seed, self.resamples, k, off))

    def _add(self, sums: np.ndarray) -> None:
        for acc, row in zip(self._exact, sums, strict=True):
            for b, v in enumerate(_exact_int(row)):
                acc[b] += v

    def merge(self, other: PoissonBootstrap) -> PoissonBootstrap:
        """Combine with a state that saw other rows (same resamples, seed, columns); returns self."""
        if (other.resamples, other.seed, other.columns) != (self.resamples, self.seed, self.columns):
            raise UsageError("cannot merge bootstrap states with different resamples, seed or columns")
        for acc, oth in zip(self._exact, other._exact, strict=True):
            for b, v in enumerate(oth):
                acc[b] += v
        for k, parts in other._pending.items():
            self._pending.setdefault(k, []).extend(parts)
            self._flush(k, complete_only=True)
        self._next_row = max(self._next_row, other._next_row)
        return self

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """``(Σc·x, Σc)``: a (B, columns) matrix and a (B,) vector, with every pending row included."""
        for k in sorted(self._pending):
            self._flush(k, complete_only=False)
        scale = 1 << _SCALE_BITS
        cols = [np.array([v / scale for v in acc]) for acc in self._exact]
        return np.stack(cols[:-1], axis=1), cols[-1]

    def ratio(self, numerator: int, denominator: int | None = None) -> np.ndarray:
        """Per-replicate ``Σc·x_num / Σc·x_den`` (``/ Σc``, a mean, without a denominator); NaN if 0."""
        sums, counts = self.totals()
        den = counts if denominator is None else sums[:, denominator]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den != 0, sums[:, numerator] / np.where(den != 0, den, 1.0), np.nan)


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> Interval:
    """The percentile interval: the (1−level)/2 and (1+level)/2 quantiles of the replicates.

    numpy's default (linear) quantile; replicates that are NaN (a resample with no rows) are
    left out.

    >>> ci = percentile_interval(np.arange(101.0), 0.9)
    >>> round(ci.low, 9), round(ci.high, 9), ci.method
    (5.0, 95.0, 'bootstrap')
    """
    if not 0.0 < level < 1.0:
        raise UsageError(f"confidence level must be strictly between 0 and 1, got {level} (--ci-level)")
    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[~np.isnan(reps)]
    if reps.size == 0:
        return Interval(math.nan, math.nan, level, "bootstrap")
    low, high = np.quantile(reps, [0.5 - level / 2.0, 0.5 + level / 2.0])
    return Interval(float(low), float(high), level, "bootstrap")


def convention_replicates(
    state: PoissonBootstrap,
    name: str,
    n_samples: int,
    n_outputs: int,
    row_column: int = 0,
    weighted_column: int | None = None,
    weight_column: int | None = None,
) -> np.ndarray:
    """The B replicates of one scalar convention from a state fed per-row columns.

    ``row_column`` holds each row's sum over its K terms (its per-sample loss when the loss is
    per sample); ``weighted_column`` and ``weight_column`` hold ``w_i·l_i`` and ``w_i``. Every
    replicate recomputes the convention on the resampled rows with N and K fixed, as
    :func:`~lossctl.stats.moments.convention_scale` describes: ``weighted_mean`` is the ratio
    ``Σc·w·l / Σc·w``, the others a fixed multiple of ``Σc·x / Σc``.
    """
    if name == "weighted_mean":
        if weighted_column is None or weight_column is None:
            raise UsageError("weighted_mean needs the w·l and w columns")
        return state.ratio(weighted_column, weight_column)
    if name.startswith("weighted_"):
        if weighted_column is None:
            raise UsageError(f"{name} needs the w·l column")
        return state.ratio(weighted_column) * convention_scale(name, n_samples, n_outputs)
    return state.ratio(row_column) * convention_scale(name, n_samples, n_outputs)
