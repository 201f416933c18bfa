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
from typing import Protocol

import numpy as np

from .chunk import Chunk
from .conventions import BY_NAME, Totals, applicable, get_convention
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
    """

    def __init__(self, loss: Loss, frameworks: list[Framework], float32_exact: bool) -> None:
        self.loss = loss
        self.keys: list[Hashable | None] = []
        for fw in frameworks:
            f32 = fw.float32 and not float32_exact  # rounding float32 values to float32 changes nothing
            if fw.per_sample == OWN:
                self.keys.append(("own", True) if f32 else None)
            else:
                self.keys.append((id(fw.per_sample), f32))
        self.frameworks = frameworks
        self.sums = [_Sum() for _ in frameworks]

    def add(self, chunk: Chunk, params: Params) -> None:
        shared: dict[Hashable, float] = {}
        for fw, key, acc in zip(self.frameworks, self.keys, self.sums, strict=True):
            if key is None:
                continue
            if key not in shared:
                if key[0] == "own":
                    cast = as_float32(chunk)
                    l_i, _ = _per_sample(self.loss, cast, params)
                    weights = cast.weights
                    shared[key] = np.sum(l_i if weights is None else l_i * weights)
                else:
                    shared[key] = np.sum(replace(fw, float32=key[1]).contributions(chunk, params))
            acc.add(shared[key])

    def totals(self, own_total: float) -> list[float]:
        """Each entry's sum of contributions; ``own_total`` is Σ l_i (weighted: Σ w_i·l_i)."""
        return [own_total if key is None else acc.value for key, acc in zip(self.keys, self.sums, strict=True)]


class Observer(Protocol):
    """Sees each chunk's per-row values during :func:`compute`'s one pass (float64 arrays of the chunk's rows).

    ``start`` is the chunk's first row (0-based, in the input); ``s`` each row's sum over its
    K terms (its per-sample loss for losses defined per sample); ``l`` each row's per-sample
    loss; ``w`` the weights or None.
    """

    def observe(self, start: int, s: np.ndarray, l: np.ndarray, w: np.ndarray | None) -> None: ...  # noqa: E741


def _row_sums(terms: np.ndarray) -> np.ndarray:
    """Sum over outputs: a matrix-vector product, several times faster than ``sum(axis=1)`` for small K."""
    return terms @ np.ones(terms.shape[1])


def _column_sums(terms: np.ndarray) -> np.ndarray:
    return np.ones(terms.shape[0]) @ terms


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
        observers: Sequence[Observer] = (),
    ) -> None:
        self.loss, self.params, self.names, self.observers = loss, params, names, tuple(observers)
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

    def start(self, chunk: Chunk, float32_exact: Callable[[], bool]) -> None:
        """Set up from the first chunk: whether weighted, and which framework entries apply."""
        self.weighted = chunk.weights is not None
        n_outputs = chunk.y_pred.shape[1]
        self.frameworks = [fw for fw in self.loss.frameworks if fw.applies(self.params, self.weighted, n_outputs)]
        self.fw_sums = _FrameworkSums(self.loss, self.frameworks, float32_exact())

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

    def add(self, chunk: Chunk) -> None:
        loss, params = self.loss, self.params
        self.n_outputs = n_outputs = chunk.y_pred.shape[1]
        self.check(chunk)
        with np.errstate(all="ignore"):
            if self.need_vector or self.weighted or self.need_columns or self.observers:
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
            if self.observers:
                self._observe(chunk, l_i, terms)
        if self.first_bad is None and not np.isfinite(chunk_total):
            l_bad = l_i if l_i is not None else _per_sample(loss, chunk, params)[0]
            bad = np.flatnonzero(~np.isfinite(l_bad))
            self.first_bad = chunk.start + int(bad[0]) if len(bad) else chunk.start
        if self.need_vector:
            self.per_sample.append(l_i)
        self.n_rows += len(chunk.y_pred)

    def _observe(self, chunk: Chunk, l_i: np.ndarray, terms: np.ndarray | None) -> None:
        """Hand each observer the chunk's per-row values: s_i (row i's sum of its terms), l_i, w_i."""
        s_i = l_i * terms.shape[1] if terms is not None and self.loss.inner == "mean" else l_i
        for observer in self.observers:
            observer.observe(chunk.start, s_i, l_i, chunk.weights)

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
        results = []
        for fw, fw_total in zip(self.frameworks, self.fw_sums.totals(own_total), strict=True):
            divisor = fw.weighted_divisor if weighted else "N"
            denominator = {"N": self.n_rows, "sum(w)": totals.sum_w}[divisor]
            value = fw_total / denominator if denominator else math.nan
            results.append(_framework_result(fw, value, self.params, weighted, by_name))
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
    observers: Sequence[Observer] = (),
) -> Report:
    """Compute ``loss`` under every applicable convention in one pass over ``chunks``.

    ``conventions`` selects which rows the report shows (all by default);
    ``names`` maps ``predictions``/``labels``/``weights`` to file names for
    error messages; ``keep_per_sample=False`` keeps memory constant in N when
    no per-sample output is wanted. Each of ``observers`` (see :class:`Observer`) is shown
    every chunk's per-row values as it passes (the statistics of :mod:`lossctl.intervals`).
    """
    params = params or Params()
    names = {"predictions": "predictions", "labels": "labels", "weights": "weights", **(names or {})}
    selected = [get_convention(c).name for c in conventions] if conventions else None
    need_vector = keep_per_sample and (selected is None or "per_sample" in selected)
    need_columns = loss.kind == "element" and (selected is None or "per_output" in selected)
    acc = _Pass(loss, params, names, need_vector=need_vector, need_columns=need_columns, observers=observers)
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


def _framework_result(
    fw: Framework, value: float, params: Params, weighted: bool, conventions: dict[str, ConventionResult]
) -> FrameworkResult:
    declared = fw.declared(weighted)
    convention, note = declared, fw.note or None
    target = conventions.get(declared) if declared else None
    if (
        target is None
        or target.value is None
        or not math.isclose(value, target.value, rel_tol=fw.rtol, abs_tol=fw.atol)
    ):
        convention = None
        if declared and not note:
            note = f"differs from {declared}"
    elif fw.float32:
        note = "computed in float32" + (f"; {note}" if note else "")
    return FrameworkResult(fw.framework, fw.api, fw.render_call(params, weighted), value, convention, note)
