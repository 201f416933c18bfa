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

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from .chunk import Chunk
from .conventions import Totals, get_convention
from .errors import InputError
from .framework_sums import _column_sums, _framework_result, _FrameworkSums, _per_sample
from .frameworks import Framework
from .losses import DomainError, Loss, get_loss
from .merging import MERGE as _MERGE
from .merging import in_row_order as _in_row_order
from .merging import positions as _positions
from .params import Params
from .report import ConventionResult, FrameworkResult, Report, Signature
from .rows import _convention_results, _select, _summarized
from .sums import Extremes as _Extremes
from .sums import ScaledSum as _ScaledSum
from .sums import Sum as _Sum
from .sums import VectorSum as _VectorSum
from .sums import weight_scale as _weight_scale

__all__ = [
    "ConventionResult",
    "FrameworkResult",
    "PerSampleSink",
    "Report",
    "Signature",
    "accumulate",
    "compute",
    "finish",
]

#: called with each chunk's first row (0-based) and its per-sample values, in row order, as they are computed
PerSampleSink = Callable[[int, np.ndarray], None]


def _onehot(indices: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(indices), k))
    out[np.arange(len(indices)), indices] = 1.0
    return out


#: chunks this long run their row and column sums on one BLAS thread (the limit costs ~20 ms to set)
ONE_BLAS_THREAD_ROWS = 16384


def _one_blas_thread():
    """Row and column sums on one BLAS thread: OpenBLAS's threads spin on the other core (which the
    reader uses) for matrix-vector products this small, costing 0.66x wall and 0.55x CPU in the table
    case (perf-notes); under load, up to 8x per column sum. A no-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a declared dependency
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


class Observer(Protocol):
    """Sees each chunk's per-row values during :func:`compute`'s one pass (float64 arrays of the chunk's rows).

    ``start`` is the chunk's first row (0-based, in the input); ``s`` each row's sum over its
    K terms (its per-sample loss for losses defined per sample); ``l`` each row's per-sample
    loss; ``w`` the weights or None.
    """

    def observe(self, start: int, s: np.ndarray, l: np.ndarray, w: np.ndarray | None) -> None: ...  # noqa: E741


class _Pass:
    """Everything one pass over the chunks accumulates, in float64, for every convention and framework."""

    def __init__(
        self,
        loss: Loss,
        params: Params,
        names: dict[str, str],
        *,
        need_vector: bool,
        need_columns: bool,
        sink: PerSampleSink | None = None,
        summarize_rows: bool = False,
        observers: Sequence[Observer] = (),
    ) -> None:
        self.loss, self.params, self.names, self.observers = loss, params, names, tuple(observers)
        self.need_vector, self.need_columns = need_vector, need_columns
        self.total, self.columns = _Sum(), _VectorSum()
        self.sum_w, self.weighted_total = _ScaledSum(), _ScaledSum()
        self.weighted_columns = _VectorSum()  # Σ w_i·e[i,k], for frameworks that reduce per output with weights
        self.sink = sink
        self.extremes = _Extremes() if summarize_rows else None
        # per-sample values are computed when kept, streamed or summarized; kept when shown or for the median
        self.need_rows = need_vector or sink is not None or summarize_rows
        self.keep_rows = need_vector or summarize_rows
        self.summarize = False  # vector conventions get their summary (set by accumulate)
        self.per_sample: list[np.ndarray] = []
        self.fw_sums: _FrameworkSums | None = None
        self.frameworks: list[Framework] = []
        self.n_rows = 0
        self.n_outputs: int | None = None
        self.weighted: bool | None = None
        self.first_bad: int | None = None
        self.warned: dict[str, None] = {}  # insertion-ordered set of warning messages
        self.run: dict = {}  # shared by every chunk of this pass (checks that span chunks: first rows)
        self.selected: list[str] | None = None  # the conventions the report shows (None: all)
        self.ignored = 0  # rows labelled --ignore-index, left out of every sum and divisor
        self.sum_class_w = _Sum()
        self.run_flags: set[str] = set()
        self.class_weights = None
        if params.class_weights is not None and loss.class_weighted:
            self.class_weights = np.asarray(params.class_weights, dtype=np.float64)

    def keep(self, chunk: Chunk) -> tuple[Chunk, np.ndarray | None]:
        """The chunk without its rows labelled --ignore-index (counted in ``ignored``), and the positions
        of the kept rows in the chunk (None when every row is kept)."""
        if self.params.ignore_index is None or self.loss.labels != "indices":
            return chunk, None
        kept = chunk.y_true != self.params.ignore_index
        if kept.all():
            return chunk, None
        self.ignored += int(len(kept) - kept.sum())
        weights = None if chunk.weights is None else chunk.weights[kept]
        kept_chunk = replace(
            chunk, y_pred=chunk.y_pred[kept], y_true=chunk.y_true[kept], weights=weights, file_arrays=None
        )
        return kept_chunk, np.flatnonzero(kept)

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
        self.check(chunk)  # before ignored rows leave, so that row numbers are the file's
        chunk, kept = self.keep(chunk)
        if not len(chunk.y_pred):
            return
        if self.class_weights is not None:
            y = chunk.y_true if chunk.y_true.ndim == 2 else _onehot(chunk.y_true, n_outputs)
            self.sum_class_w.add(np.sum(y @ self.class_weights))
        with np.errstate(all="ignore"):
            if self.need_rows or self.weighted or self.need_columns or self.observers:
                l_i, terms = _per_sample(loss, chunk, params)
                chunk_total = np.sum(l_i) * (n_outputs if loss.inner == "mean" and terms is not None else 1)
                if self.need_columns:
                    self.columns.add(_column_sums(terms))
                    if chunk.weights is not None:
                        self.weighted_columns.add(chunk.weights @ terms)
            else:  # only totals are wanted: no row sums, no per-sample vector
                terms = np.asarray(loss.terms(chunk, params), dtype=np.float64)
                l_i, chunk_total = None, np.sum(terms)
            self.total.add(chunk_total)
            if chunk.weights is not None:
                scaled, exponent = _weight_scale(chunk.weights)
                self.sum_w.add(np.sum(scaled), exponent)
                self.weighted_total.add(np.dot(scaled, l_i), exponent)
            self.fw_sums.add(chunk, params)
            if self.observers:
                self._observe(chunk, l_i, terms)
        if self.first_bad is None and not np.isfinite(chunk_total):
            l_bad = l_i if l_i is not None else _per_sample(loss, chunk, params)[0]
            bad = np.flatnonzero(~np.isfinite(l_bad))
            first = int(bad[0]) if len(bad) else 0
            self.first_bad = chunk.start + (first if kept is None else int(kept[first]))
        if self.need_rows:
            self.rows(chunk.start, l_i)
        self.n_rows += len(chunk.y_pred)

    def rows(self, start: int, l_i: np.ndarray) -> None:
        """Hand a chunk's per-sample values to the summary, the sink and the kept vector."""
        if self.extremes is not None:
            self.extremes.add(l_i, start)
        if self.sink is not None:
            self.sink(start, l_i)
        if self.keep_rows:
            self.per_sample.append((start, l_i))

    def vector(self) -> np.ndarray | None:
        """The kept per-sample values as one array, in row order (the pieces are released)."""
        if not self.keep_rows or not self.per_sample:
            return None
        pieces, self.per_sample = self.per_sample, []
        return pieces[0][1] if len(pieces) == 1 else _in_row_order(pieces)

    def merge(self, other: _Pass) -> _Pass:
        """Merge the state of other rows into this one (associative; merge states in row order).

        A field holding an accumulator (anything with ``merge``: :class:`_Sum`, :class:`_VectorSum`,
        :class:`_FrameworkSums`) merges itself; every other field is merged by its entry in
        :data:`lossctl.merging.MERGE` (one line per field), and a field in neither fails loudly here.
        """
        for field, theirs in vars(other).items():
            mine = getattr(self, field)
            if mine is not None and theirs is not None and hasattr(mine, "merge"):
                mine.merge(theirs)
            elif field not in _MERGE:
                raise TypeError(f"_Pass.merge does not know how to merge {field!r}: add it to lossctl.merging.MERGE")
            elif _MERGE[field] is not None:
                setattr(self, field, _MERGE[field](mine, theirs))
        return self

    def __getstate__(self) -> dict:
        """Picklable: the loss by name (re-resolved from the registry), the entries by position."""
        state = dict(vars(self), loss=self.loss.name, sink=None, observers=())  # both live on the client only
        state["frameworks"] = _positions(self.loss, self.frameworks)
        return state

    def __setstate__(self, state: dict) -> None:
        loss = get_loss(state["loss"])
        vars(self).update(state, loss=loss, frameworks=[loss.frameworks[i] for i in state["frameworks"]])

    def recheck(self) -> None:
        """The loss's checks that span chunks, again on the merged ``run`` state (rows split among workers)."""
        if not self.run or self.loss.validate is None or self.n_outputs is None:
            return
        k = self.n_outputs
        labels = np.empty(0, np.int64) if self.loss.labels == "indices" else np.empty((0, k))
        try:
            self.loss.validate(Chunk(np.empty((0, k)), labels, None, self.n_rows, self.run), self.params)
        except DomainError as e:
            raise InputError(e.template.format(**self.names)) from None

    def _observe(self, chunk: Chunk, l_i: np.ndarray, terms: np.ndarray | None) -> None:
        """Hand each observer the chunk's per-row values: s_i (row i's sum of its terms), l_i, w_i."""
        s_i = l_i * terms.shape[1] if terms is not None and self.loss.inner == "mean" else l_i
        for observer in self.observers:
            observer.observe(chunk.start, s_i, l_i, chunk.weights)

    def totals(self, per_sample: np.ndarray | None) -> Totals:
        return Totals(
            n_samples=self.n_rows,
            n_outputs=self.n_outputs,
            total=self.total.value,
            per_sample=per_sample if self.need_vector else None,
            per_output=self.columns.value if self.need_columns else None,
            sum_w=self.sum_w.value if self.weighted else None,
            weighted_total=self.weighted_total.value if self.weighted else None,
            weighted_ratio=self.weighted_total.ratio(self.sum_w) if self.weighted else None,
            sum_class_w=self.sum_class_w.value if self.class_weights is not None else None,
            weighted_per_output=self.weighted_columns.value if self.weighted and self.need_columns else None,
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
        denominators = {"N": self.n_rows, "sum(w)": totals.sum_w, "sum(w[y])": totals.sum_class_w}

        def divisor(fw: Framework) -> str:
            if fw.declared(weighted, self.params) == "class_weighted_mean":
                return "sum(w[y])"
            return fw.weighted_divisor if weighted else "N"

        results = []
        values = self.fw_sums.values(own_total, denominators, divisor, weighted)
        for fw, (value, exact) in zip(self.frameworks, values, strict=True):
            if fw.from_totals is not None:  # a float32 column emulation keeps its own value
                exact = float(fw.from_totals(totals))
                value = value if fw.reduce == "columns" and self.fw_sums.dtype == "float32" else exact
            elif loss.finish is not None:
                value, exact = float(loss.finish(value)), float(loss.finish(exact))
            results.append(_framework_result(fw, value, exact, self.params, weighted, by_name, self.fw_sums.dtype))
        return results


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
    per_sample_sink: PerSampleSink | None = None,
    summarize: bool = False,
    observers: Sequence[Observer] = (),
) -> Report:
    """Compute ``loss`` under every applicable convention in one pass over ``chunks``.

    ``conventions`` selects which rows the report shows (all by default);
    ``names`` maps ``predictions``/``labels``/``weights`` to file names for
    error messages; ``keep_per_sample=False`` keeps memory constant in N when
    no per-sample vector is wanted in the report (``per_sample``'s value is then None).
    ``per_sample_sink(start, values)`` receives each chunk's per-sample values as they are
    computed (``start`` is the chunk's first row, 0-based), for writing them without keeping
    them. ``summarize=True`` gives each shown vector convention its :class:`VectorSummary`
    (min/max/mean/argmax accumulated per chunk; the median by one partition of the values,
    which are kept for it until the end). Each of ``observers`` (see :class:`Observer`) is shown
    every chunk's per-row values as it passes (the statistics of :mod:`lossctl.intervals`).
    The same as :func:`finish` of :func:`accumulate`.
    """
    state = accumulate(
        loss,
        chunks,
        params,
        conventions=conventions,
        keep_per_sample=keep_per_sample,
        names=names,
        per_sample_sink=per_sample_sink,
        summarize=summarize,
        observers=observers,
    )
    return finish(state, dtype=dtype, dropped=dropped or getattr(chunks, "dropped", 0), notes=notes)


def accumulate(
    loss: Loss,
    chunks: Iterable[Chunk],
    params: Params | None = None,
    *,
    conventions: Sequence[str] | None = None,
    keep_per_sample: bool = True,
    names: dict[str, str] | None = None,
    float32_exact: bool | None = None,
    per_sample_sink: PerSampleSink | None = None,
    summarize: bool = False,
    observers: Sequence[Observer] = (),
) -> _Pass:
    """The state of one pass over ``chunks``: a picklable value; states of other rows merge into it
    (``state.merge(other)``, in row order) and :func:`finish` turns it into a Report.

    ``float32_exact`` (default: the ``chunks``' own attribute) must be the same for states that merge.
    """
    params = params or Params()
    names = {"predictions": "predictions", "labels": "labels", "weights": "weights", **(names or {})}
    selected = [get_convention(c).name for c in conventions] if conventions else None
    shows_rows = selected is None or "per_sample" in selected
    need_vector = keep_per_sample and shows_rows
    need_columns = loss.kind == "element" and (
        selected is None or "per_output" in selected or any(fw.from_totals for fw in loss.frameworks)
    )
    acc = _Pass(
        loss,
        params,
        names,
        need_vector=need_vector,
        need_columns=need_columns,
        sink=per_sample_sink,
        summarize_rows=summarize and shows_rows,
        observers=observers,
    )
    acc.selected, acc.summarize = selected, summarize
    exact = (
        (lambda: float32_exact)
        if float32_exact is not None
        else (lambda: bool(getattr(chunks, "float32_exact", False)))
    )
    with contextlib.ExitStack() as blas:
        for chunk in chunks:
            if acc.weighted is None:
                acc.start(chunk, exact)
                if len(chunk.y_pred) >= ONE_BLAS_THREAD_ROWS:
                    blas.enter_context(_one_blas_thread())
            acc.add(replace(chunk, run=acc.run))
    return acc


def finish(acc: _Pass, *, dtype: str = "float64", dropped: int = 0, notes: Sequence[str] = ()) -> Report:
    """The Report of a (merged) state: every convention, framework value and note."""
    loss, names, selected = acc.loss, acc.names, acc.selected
    if acc.n_rows == 0 and acc.ignored:
        raise InputError(
            f"every row of {names['labels']} is labelled --ignore-index {acc.params.ignore_index}: "
            "nothing left to average"
        )
    if acc.n_rows == 0 or acc.n_outputs is None:
        raise InputError(f"{names['predictions']} has no rows (rows are samples)")
    acc.recheck()
    if acc.ignored:
        notes = (
            *notes,
            f"--ignore-index {acc.params.ignore_index}: {acc.ignored} of {acc.n_rows + acc.ignored} rows ignored; "
            f"every divisor counts the other {acc.n_rows} (so does per_sample)",
        )
    per_sample = acc.vector()
    totals = acc.totals(per_sample)
    results = _convention_results(loss, totals, bool(acc.weighted), acc.undefined(), acc.class_weights is not None)
    if acc.summarize:
        rows_match = not (dropped or acc.ignored)  # --nan omit, --ignore-index: rows no longer the input's
        results = _summarized(results, acc, per_sample, rows_match)
    by_name = {c.name: c for c in results}
    fw_results = acc.framework_results(totals, by_name)
    if selected is not None:
        results = _select(loss, by_name, selected)
    return Report(
        loss=loss.name,
        shape=(acc.n_rows, acc.n_outputs),
        dtype=dtype,
        params=acc.params,
        weighted=bool(acc.weighted),
        conventions=tuple(results),
        frameworks=tuple(fw_results),
        primary=loss.primary,
        notes=(*notes, *acc.warned),
        dropped=dropped,
    )
