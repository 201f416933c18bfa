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
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ._version import __version__
from .conventions import BY_NAME, Totals, applicable, get_convention
from .errors import InputError, UsageError
from .frameworks import OWN, Framework, as_float32
from .losses import Chunk, DomainError, Loss, Params


@dataclass
class ConventionResult:
    name: str
    divisor: str | None
    n: float | None
    value: float | np.ndarray | None
    meaning: str
    users: str
    note: str | None = None
    short: str = ""

    @property
    def vector(self) -> bool:
        return self.divisor is None


@dataclass
class FrameworkResult:
    framework: str
    api: str
    call: str
    value: float
    convention: str | None
    note: str | None = None


@dataclass
class Report:
    loss: str
    shape: tuple[int, int]
    dtype: str
    params: Params
    weighted: bool
    conventions: list[ConventionResult]
    frameworks: list[FrameworkResult]
    primary: str
    notes: list[str] = field(default_factory=list)
    dropped: int = 0
    signature: str = ""
    version: str = __version__

    def convention(self, name: str) -> ConventionResult:
        for c in self.conventions:
            if c.name == name:
                return c
        raise KeyError(name)


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


def _row_sums(terms: np.ndarray) -> np.ndarray:
    """Sum over outputs: a matrix-vector product, several times faster than ``sum(axis=1)`` for small K."""
    return terms @ np.ones(terms.shape[1])


def _column_sums(terms: np.ndarray) -> np.ndarray:
    return np.ones(terms.shape[0]) @ terms


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
    total, sum_w, weighted_total, columns = _Sum(), _Sum(), _Sum(), _VectorSum()
    per_sample: list[np.ndarray] = []
    fw_sums: _FrameworkSums | None = None
    frameworks: list[Framework] = []
    n_rows = 0
    n_outputs: int | None = None
    weighted: bool | None = None
    first_bad: int | None = None
    warned: dict[str, None] = {}  # insertion-ordered set of warning messages
    run_state: dict = {}  # shared by every chunk of this pass (checks that span chunks)

    for chunk in chunks:
        chunk = replace(chunk, run=run_state)
        if weighted is None:
            weighted = chunk.weights is not None
            frameworks = [fw for fw in loss.frameworks if fw.applies(params, weighted, chunk.y_pred.shape[1])]
            fw_sums = _FrameworkSums(loss, frameworks, bool(getattr(chunks, "float32_exact", False)))
        n_outputs = chunk.y_pred.shape[1]
        try:
            if loss.validate is not None:
                loss.validate(chunk, params)
        except DomainError as e:
            raise InputError(e.template.format(**names)) from None
        if loss.warnings is not None:
            for message in loss.warnings(chunk, params):
                warned.setdefault(message.format(**names), None)
        with np.errstate(all="ignore"):
            if need_vector or weighted or need_columns:
                l_i, terms = _per_sample(loss, chunk, params)
                chunk_total = np.sum(l_i) * (n_outputs if loss.inner == "mean" and terms is not None else 1)
                if need_columns:
                    columns.add(_column_sums(terms))
            else:  # only totals are wanted: no row sums, no per-sample vector
                terms = np.asarray(loss.terms(chunk, params), dtype=np.float64)
                l_i, chunk_total = None, np.sum(terms)
            total.add(chunk_total)
            if chunk.weights is not None:
                sum_w.add(np.sum(chunk.weights))
                weighted_total.add(np.dot(chunk.weights, l_i))
            fw_sums.add(chunk, params)
        if first_bad is None and not np.isfinite(chunk_total):
            l_bad = l_i if l_i is not None else _per_sample(loss, chunk, params)[0]
            bad = np.flatnonzero(~np.isfinite(l_bad))
            first_bad = chunk.start + int(bad[0]) if len(bad) else chunk.start
        if need_vector:
            per_sample.append(l_i)
        n_rows += len(chunk.y_pred)

    if n_rows == 0 or n_outputs is None:
        raise InputError(f"{names['predictions']} has no rows (rows are samples)")

    ps_vector = np.concatenate(per_sample) if need_vector else None
    per_output = columns.value if need_columns else None
    totals = Totals(
        n_samples=n_rows,
        n_outputs=n_outputs,
        total=total.value,
        per_sample=ps_vector,
        per_output=per_output,
        sum_w=sum_w.value if weighted else None,
        weighted_total=weighted_total.value if weighted else None,
    )
    undefined = None
    if first_bad is not None:
        undefined = f"undefined: {loss.undefined} (first at row {first_bad + 1})"

    results = []
    for conv in applicable(loss.kind, loss.squared, bool(weighted)):
        value = conv.value(totals)
        note = None
        if value is not None and not conv.vector and not math.isfinite(value):
            value, note = None, undefined
        elif conv.vector and undefined:
            note = undefined
        results.append(
            ConventionResult(conv.name, conv.divisor, conv.n(totals), value, conv.meaning, conv.users, note, conv.short)
        )
    by_name = {c.name: c for c in results}

    own_total = totals.weighted_total if weighted else total.value
    if loss.kind == "element" and loss.inner == "mean" and not weighted:
        own_total = total.value / n_outputs  # Σ l_i when l_i is the mean of K terms
    fw_results = []
    for fw, fw_total in zip(frameworks, fw_sums.totals(own_total), strict=True):
        divisor = fw.weighted_divisor if weighted else "N"
        denominator = {"N": n_rows, "sum(w)": totals.sum_w}[divisor]
        value = fw_total / denominator if denominator else math.nan
        fw_results.append(_framework_result(fw, value, params, bool(weighted), by_name))

    if selected is not None:
        unknown = [s for s in selected if s not in by_name]
        if unknown:
            raise UsageError(
                f"convention {unknown[0]!r} does not apply to {loss.name}"
                f"{' without --weights' if BY_NAME[unknown[0]].weighted else ''}; "
                f"it has: {', '.join(by_name)}"
            )
        results = [by_name[s] for s in selected]

    report = Report(
        loss=loss.name,
        shape=(n_rows, n_outputs),
        dtype=dtype,
        params=params,
        weighted=bool(weighted),
        conventions=results,
        frameworks=fw_results,
        primary=loss.primary,
        notes=[*notes, *warned],
        dropped=dropped,
    )
    report.signature = signature(report, loss)
    return report


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


def _conventions_part(report: Report, loss: Loss) -> str:
    shown = [c.name for c in report.conventions]
    every = [c.name for c in applicable(loss.kind, loss.squared, report.weighted)]
    return "all" if shown == every else ",".join(shown)


def signature(report: Report, loss: Loss) -> str:
    """A sacreBLEU-style string pinning how the numbers were made."""
    primary = BY_NAME[report.primary]
    parts = [
        f"loss:{report.loss}",
        f"n:{primary.divisor}",
        f"conv:{_conventions_part(report, loss)}",
        f"shape:{report.shape[0]}x{report.shape[1]}",
        f"dtype:{report.dtype}",
        "acc:float64",
        f"weights:{'yes' if report.weighted else 'no'}",
    ]
    parts.extend(option.signature_part(report.params) for option in loss.options)
    if report.dropped:
        parts.append(f"dropped:{report.dropped}")
    parts.append(f"version:{report.version}")
    return "|".join(parts)
