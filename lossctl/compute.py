"""The one place where a loss meets the conventions: chunks in, a Report out.

:func:`compute` makes a single pass over aligned chunks of rows and
accumulates, in float64, everything every convention and every framework value
needs (totals, per-output sums, weighted sums, and per-sample losses when
asked for). Chunk sums are pairwise (numpy) and carried across chunks with
compensated (Neumaier) summation in constant memory, so the result stays at
float64 accuracy however long the input and does not depend on the chunk size
beyond the last bit or two.

Framework entries marked ``OWN`` report the loss's own per-sample values, so
their sums are the convention totals and cost nothing per chunk; other entries
are evaluated once per chunk per distinct function. When the reader says every
value is exactly a float32 (``chunks.float32_exact``), Keras's float32 cast is
the identity and its ``OWN`` entries are free too. Row and column sums are only
computed when a shown convention needs them (``-c mean`` needs neither).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import replace

import numpy as np

from .chunk import Chunk
from .conventions import BY_NAME, Totals, applicable, get_convention
from .emulate import ColumnMean32, as_file_dtype
from .errors import InputError, UsageError
from .frameworks import OWN, Framework, as_float32
from .losses import DomainError, Loss
from .params import Params
from .report import ConventionResult, FrameworkResult, Report, Signature

__all__ = ["ConventionResult", "FrameworkResult", "Report", "Signature", "compute"]


class _Sum:
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

    @property
    def value(self) -> float:
        return self.s + self.c if math.isfinite(self.s) else self.s


class _VectorSum:
    """:class:`_Sum` for a vector of K running sums (the per-output column sums)."""

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

    @property
    def value(self) -> np.ndarray | None:
        if self.s is None or self.c is None:
            return None
        with np.errstate(all="ignore"):
            return np.where(np.isfinite(self.s), self.s + self.c, self.s)


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
        self.loss, self.frameworks, self.dtype = loss, frameworks, dtype
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

    def values(self, own_total: float, denominators: dict[str, float], weighted: bool) -> list[tuple[float, float]]:
        """Each entry's ``(value, value without float32 accumulation)``; ``own_total`` is Σ l_i (weighted Σ w_i·l_i)."""
        out = []
        for fw, key, acc, column in zip(self.frameworks, self.keys, self.sums, self.columns, strict=True):
            total = own_total if key is None or (column is not None and fw.per_sample == OWN) else acc.value
            denominator = denominators[fw.weighted_divisor if weighted else "N"]
            exact = total / denominator if denominator else math.nan
            value = exact
            if column is not None:
                value = column.value(weighted and fw.weighted_divisor == "sum(w)")
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


class _Pass:
    """Everything one pass over the chunks accumulates, in float64, for every convention and framework."""

    def __init__(
        self, loss: Loss, params: Params, names: dict[str, str], *, need_vector: bool, need_columns: bool
    ) -> None:
        self.loss, self.params, self.names = loss, params, names
        self.need_vector, self.need_columns = need_vector, need_columns
        self.total, self.sum_w, self.weighted_total, self.columns = _Sum(), _Sum(), _Sum(), _VectorSum()
        self.per_sample: list[np.ndarray] = []
        self.fw_sums: _FrameworkSums | None = None
        self.frameworks: list[Framework] = []
        self.n_rows = 0
        self.n_outputs: int | None = None
        self.weighted: bool | None = None
        self.first_bad: int | None = None
        self.warned: dict[str, None] = {}  # insertion-ordered set of warning messages
        self.run_flags: set[str] = set()

    def start(self, chunk: Chunk, float32_exact: Callable[[], bool]) -> None:
        """Set up from the first chunk: whether weighted, and which framework entries apply."""
        self.weighted = chunk.weights is not None
        n_outputs = chunk.y_pred.shape[1]
        self.frameworks = [fw for fw in self.loss.frameworks if fw.applies(self.params, self.weighted, n_outputs)]
        self.fw_sums = _FrameworkSums(self.loss, self.frameworks, float32_exact(), chunk.dtype)

    def check(self, chunk: Chunk) -> None:
        """The loss's domain check (an error naming the file) and its warnings (kept once each)."""
        loss, params = self.loss, self.params
        try:
            if loss.validate is not None:
                loss.validate(chunk, params)
        except DomainError as e:
            raise InputError(e.template.format(**self.names)) from None
        if loss.warnings is not None:
            for message in loss.warnings(chunk, params):
                self.warned.setdefault(message.format(**self.names), None)
        if chunk.weights is not None and "negative weight" not in self.run_flags:
            negative = np.flatnonzero(chunk.weights < 0)
            if len(negative):  # accepted, as every framework accepts it; said once
                self.run_flags.add("negative weight")
                row = int(negative[0])
                self.warned.setdefault(
                    f"{self.names['weights']} row {chunk.start + row + 1} has weight {chunk.weights[row]:g}: "
                    "a negative weight subtracts that sample's loss; PyTorch, Keras and scikit-learn accept it, "
                    "and the weighted conventions are computed as written",
                    None,
                )

    def add(self, chunk: Chunk) -> None:
        loss, params = self.loss, self.params
        self.n_outputs = n_outputs = chunk.y_pred.shape[1]
        self.check(chunk)
        with np.errstate(all="ignore"):
            if self.need_vector or self.weighted or self.need_columns:
                l_i, terms = _per_sample(loss, chunk, params)
                chunk_total = np.sum(l_i) * (n_outputs if loss.inner == "mean" and terms is not None else 1)
                if self.need_columns:
                    self.columns.add(_column_sums(terms))
            else:  # only totals are wanted: no row sums, no per-sample vector
                terms = np.asarray(loss.terms(chunk, params), dtype=np.float64)
                l_i, chunk_total = None, np.sum(terms)
            self.total.add(chunk_total)
            if chunk.weights is not None:
                self.sum_w.add(np.sum(chunk.weights))
                self.weighted_total.add(np.dot(chunk.weights, l_i))
            self.fw_sums.add(chunk, params)
        if self.first_bad is None and not np.isfinite(chunk_total):
            l_bad = l_i if l_i is not None else _per_sample(loss, chunk, params)[0]
            bad = np.flatnonzero(~np.isfinite(l_bad))
            self.first_bad = chunk.start + int(bad[0]) if len(bad) else chunk.start
        if self.need_vector:
            self.per_sample.append(l_i)
        self.n_rows += len(chunk.y_pred)

    def totals(self) -> Totals:
        return Totals(
            n_samples=self.n_rows,
            n_outputs=self.n_outputs,
            total=self.total.value,
            per_sample=np.concatenate(self.per_sample) if self.need_vector else None,
            per_output=self.columns.value if self.need_columns else None,
            sum_w=self.sum_w.value if self.weighted else None,
            weighted_total=self.weighted_total.value if self.weighted else None,
        )

    def undefined(self) -> str | None:
        """The note for undefined values: the loss's reason and the first row (counted from 1) where it holds."""
        if self.first_bad is None:
            return None
        return f"undefined: {self.loss.undefined} (first at row {self.first_bad + 1})"

    def framework_results(self, totals: Totals, by_name: dict[str, ConventionResult]) -> list[FrameworkResult]:
        loss, weighted = self.loss, bool(self.weighted)
        own_total = totals.weighted_total if weighted else self.total.value
        if loss.kind == "element" and loss.inner == "mean" and not weighted:
            own_total = self.total.value / self.n_outputs  # Σ l_i when l_i is the mean of K terms
        denominators = {"N": self.n_rows, "sum(w)": totals.sum_w}
        values = self.fw_sums.values(own_total, denominators, weighted)
        return [
            _framework_result(fw, value, exact, self.params, weighted, by_name, self.fw_sums.dtype)
            for fw, (value, exact) in zip(self.frameworks, values, strict=True)
        ]


def compute(
    loss: Loss,
    chunks: Iterable[Chunk],
    params: Params | None = None,
    *,
    conventions: Sequence[str] | None = None,
    keep_per_sample: bool = True,
    names: dict[str, str] | None = None,
    dtype: str = "float64",
    dropped: int = 0,
    notes: Sequence[str] = (),
) -> Report:
    """Compute ``loss`` under every applicable convention in one pass over ``chunks``.

    ``conventions`` selects which rows the report shows (all by default);
    ``names`` maps ``predictions``/``labels``/``weights`` to file names for
    error messages; ``keep_per_sample=False`` keeps memory constant in N when
    no per-sample output is wanted.
    """
    params = params or Params()
    names = {"predictions": "predictions", "labels": "labels", "weights": "weights", **(names or {})}
    selected = [get_convention(c).name for c in conventions] if conventions else None
    need_vector = keep_per_sample and (selected is None or "per_sample" in selected)
    need_columns = loss.kind == "element" and (selected is None or "per_output" in selected)
    acc = _Pass(loss, params, names, need_vector=need_vector, need_columns=need_columns)
    run_state: dict = {}  # shared by every chunk of this pass (checks that span chunks)
    for chunk in chunks:
        if acc.weighted is None:
            acc.start(chunk, lambda: bool(getattr(chunks, "float32_exact", False)))
        acc.add(replace(chunk, run=run_state))
    if acc.n_rows == 0 or acc.n_outputs is None:
        raise InputError(f"{names['predictions']} has no rows (rows are samples)")

    totals = acc.totals()
    results = _convention_results(loss, totals, bool(acc.weighted), acc.undefined())
    by_name = {c.name: c for c in results}
    fw_results = acc.framework_results(totals, by_name)
    if selected is not None:
        results = _select(loss, by_name, selected)
    return Report(
        loss=loss.name,
        shape=(acc.n_rows, acc.n_outputs),
        dtype=dtype,
        params=params,
        weighted=bool(acc.weighted),
        conventions=tuple(results),
        frameworks=tuple(fw_results),
        primary=loss.primary,
        notes=(*notes, *acc.warned),
        dropped=dropped,
    )


def _convention_results(loss: Loss, totals: Totals, weighted: bool, undefined: str | None) -> list[ConventionResult]:
    """Every applicable convention's value; a non-finite scalar becomes None with the ``undefined`` note."""
    results = []
    for conv in applicable(loss.kind, loss.squared, weighted):
        value = conv.value(totals)
        note = None
        if value is not None and not conv.vector and not math.isfinite(value):
            value, note = None, undefined
        elif conv.vector and undefined:
            note = undefined
        results.append(
            ConventionResult(conv.name, conv.divisor, conv.n(totals), value, conv.meaning, conv.users, note, conv.short)
        )
    return results


def _select(loss: Loss, by_name: dict[str, ConventionResult], selected: list[str]) -> list[ConventionResult]:
    unknown = [s for s in selected if s not in by_name]
    if unknown:
        raise UsageError(
            f"convention {unknown[0]!r} does not apply to {loss.name}"
            f"{' without --weights' if BY_NAME[unknown[0]].weighted else ''}; "
            f"it has: {', '.join(by_name)}"
        )
    return [by_name[s] for s in selected]


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
    declared = fw.declared(weighted)
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
