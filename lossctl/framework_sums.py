"""What each framework entry reports: per-chunk sums of every entry (each distinct computation once a
chunk; the frameworks' float32 arithmetic on float32 files, :mod:`lossctl.emulate`), and the row of a
report that an entry's value makes (which convention it computes, and the note saying how far)."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import replace

import numpy as np

from .chunk import Chunk
from .emulate import ColumnMean32, as_file_dtype
from .frameworks import OWN, Framework, as_float32
from .losses import Loss, get_loss
from .merging import positions as _positions
from .params import Params
from .report import ConventionResult, FrameworkResult
from .sums import Sum as _Sum


def _per_sample(loss: Loss, chunk: Chunk, params: Params) -> tuple[np.ndarray, np.ndarray | None]:
    """The loss's own per-sample values ``l_i`` of a chunk, and its element terms (None for kind="sample")."""
    terms = np.asarray(loss.terms(chunk, params), dtype=np.float64)
    if loss.kind != "element":
        return terms, None
    rows = _row_sums(terms)
    return (rows / terms.shape[1] if loss.inner == "mean" else rows), terms


class _FrameworkSums:
    """Per-chunk sums of every framework entry, each distinct computation done once per chunk.

    Entries marked ``OWN`` are the loss's own per-sample values: exact-float64 ones need no
    work at all (their sums are the convention totals); float32 ones share one evaluation of
    the loss on the float32-rounded chunk, skipped when the input is exactly float32 anyway.

    On a float32 file (``dtype="float32"``) PyTorch, scikit-learn and NumPy compute in float32
    too (:mod:`lossctl.emulate`): their callable entries run on the float32 arrays; scikit-learn's
    column-wise regression metrics accumulate in float32 exactly as ``np.average`` does; ``OWN``
    entries of PyTorch and NumPy are the convention rounded to float32 (their sums are accurate
    to about 1e-7). Each entry also keeps the float64 sum of its terms, its value without the
    float32 accumulation, to say which convention it computes.
    """

    def __init__(self, loss: Loss, frameworks: list[Framework], float32_exact: bool, dtype: str) -> None:
        self.loss, self.frameworks, self.dtype, self.float32_exact = loss, frameworks, dtype, float32_exact
        file32 = dtype == "float32"
        self.keys: list[Hashable | None] = []
        self.columns: list[ColumnMean32 | None] = []
        for fw in frameworks:
            f32 = fw.float32 and not float32_exact  # rounding float32 values to float32 changes nothing
            column = file32 and not fw.float32 and fw.reduce == "columns"
            self.columns.append(ColumnMean32() if column else None)
            if column:
                self.keys.append(("columns", id(fw.per_sample)))
            elif fw.per_sample == OWN:
                self.keys.append(("own", True) if f32 else None)
            else:
                self.keys.append((id(fw.per_sample), f32, file32 and not fw.float32))
        self.sums = [_Sum() for _ in frameworks]

    def add(self, chunk: Chunk, params: Params) -> None:
        shared: dict[Hashable, float] = {}
        file_chunk: list[Chunk] = []  # the chunk in the file's dtype, made once when needed

        def in_file_dtype() -> Chunk:
            if not file_chunk:
                file_chunk.append(as_file_dtype(chunk))
            return file_chunk[0]

        for fw, key, acc, column in zip(self.frameworks, self.keys, self.sums, self.columns, strict=True):
            if key is None:
                continue
            if column is not None:
                self._add_columns(fw, column, acc, in_file_dtype(), params)
                continue
            if key not in shared:
                if key[0] == "own":
                    cast = as_float32(chunk)
                    l_i, _ = _per_sample(self.loss, cast, params)
                    weights = cast.weights
                    shared[key] = np.sum(l_i if weights is None else l_i * weights)
                else:
                    source = in_file_dtype() if key[2] else chunk
                    shared[key] = np.sum(replace(fw, float32=key[1]).contributions(source, params))
            acc.add(shared[key])

    def merge(self, other: _FrameworkSums) -> None:
        """Add the sums of another state's rows (the same loss, entries, dtype and float32 shortcut)."""
        for mine, theirs in zip(self.sums, other.sums, strict=True):
            mine.merge(theirs)
        for mine, theirs in zip(self.columns, other.columns, strict=True):
            if mine is not None and theirs is not None:
                mine.merge(theirs)

    def __getstate__(self) -> dict:
        """Picklable: the loss by name and the entries by position (their functions may be lambdas)."""
        return {"loss": self.loss.name, "entries": _positions(self.loss, self.frameworks), "dtype": self.dtype,
                "float32_exact": self.float32_exact, "sums": self.sums, "columns": self.columns}  # fmt: skip

    def __setstate__(self, state: dict) -> None:
        loss = get_loss(state["loss"])
        self.__init__(loss, [loss.frameworks[i] for i in state["entries"]], state["float32_exact"], state["dtype"])
        self.sums, self.columns = state["sums"], state["columns"]

    def _add_columns(self, fw: Framework, column: ColumnMean32, acc: _Sum, chunk: Chunk, params: Params) -> None:
        """scikit-learn's float32 column means; ``acc`` keeps the float64 sum of the same terms."""
        own = fw.per_sample == OWN
        with np.errstate(all="ignore"):
            terms = self.loss.terms(chunk, params) if own else fw.per_sample(chunk, params)
            fresh = isinstance(terms, np.ndarray) and terms.base is None and terms.dtype == np.float32
            terms = terms if fresh else np.array(terms, dtype=np.float32)  # ColumnMean32 writes into it
            if not own:  # an OWN entry's float64 sum is the convention total
                rows = np.mean(terms, axis=1, dtype=np.float64)
                acc.add(np.sum(rows if chunk.weights is None else rows * chunk.weights))
            column.add(terms, chunk.weights)

    def values(
        self, own_total: float, denominators: dict[str, float], divisor: Callable[[Framework], str], weighted: bool
    ) -> list[tuple[float, float]]:
        """Each entry's ``(value, value without float32 accumulation)``; ``own_total`` is Σ l_i (weighted Σ w_i·l_i);
        ``divisor(fw)`` names the entry's key in ``denominators``."""
        out = []
        for fw, key, acc, column in zip(self.frameworks, self.keys, self.sums, self.columns, strict=True):
            total = own_total if key is None or (column is not None and fw.per_sample == OWN) else acc.value
            denominator = denominators[divisor(fw)]
            exact = total / denominator if denominator else math.nan
            value = exact
            if column is not None:
                value = column.value(weighted and fw.weighted_divisor == "sum(w)", fw.per_column)
                if weighted and fw.weighted_divisor == "N":  # not a scikit-learn form; keep the float64 value
                    value = exact
            elif self.dtype == "float32" and not fw.float32 and math.isfinite(exact):
                value = float(np.float32(exact))  # the framework returns a float32 scalar
            out.append((value, exact))
        return out


def _row_sums(terms: np.ndarray) -> np.ndarray:
    """Sum over outputs: a matrix-vector product, several times faster than ``sum(axis=1)`` for small K."""
    return terms @ np.ones(terms.shape[1])


def _column_sums(terms: np.ndarray) -> np.ndarray:
    return np.ones(terms.shape[0]) @ terms


def _relative(value: float, target: float) -> str:
    """How far ``value`` is from ``target``, relative, to one digit: ``5e-4``."""
    return f"{abs(value - target) / (abs(target) or 1.0):.0e}".replace("e-0", "e-").replace("e+0", "e+")


def _framework_result(
    fw: Framework,
    value: float,
    exact: float,
    params: Params,
    weighted: bool,
    conventions: dict[str, ConventionResult],
    dtype: str = "float64",
) -> FrameworkResult:
    """The entry's row: ``value`` as the framework returns it; ``exact``, the same without float32 accumulation,
    decides which convention it computes (to the entry's tolerance on ``dtype``)."""
    declared = fw.declared(weighted, params)
    convention, note = declared, fw.note or None
    target = conventions.get(declared) if declared else None
    rtol, atol = fw.tolerance(dtype)
    if not math.isfinite(value):
        convention, note = (
            None,
            fw.nonfinite_note or ("no finite value on these inputs" + (f"; {note}" if note else "")),
        )
    elif target is None or target.value is None or not math.isclose(exact, target.value, rel_tol=rtol, abs_tol=atol):
        convention = None
        if declared and not note:
            note = f"differs from {declared}"
    elif fw.float32:
        note = "computed in float32" + (f"; {note}" if note else "")
    elif dtype == "float32" and value != target.value:
        what = "float32 accumulation" if fw.reduce == "columns" else "float32 arithmetic"
        off = f"{what}: differs from {declared} by {_relative(value, target.value)} relative"
        note = off + (f"; {note}" if note else "")
    return FrameworkResult(fw.framework, fw.api, fw.render_call(params, weighted), value, convention, note)
