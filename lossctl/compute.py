"""The one place where a loss meets the conventions: batches in, a Report out.

:func:`compute` makes a single pass over aligned batches of rows and
accumulates, in float64, everything every convention and every framework value
needs (totals, per-output sums, weighted sums, and per-sample losses when
asked for). Chunk sums are pairwise (numpy) and combined across chunks with
:func:`math.fsum`, so the result does not depend on the chunk size beyond the
last bit or two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .conventions import BY_NAME, Totals, applicable, get_convention
from .errors import InputError, UsageError
from .frameworks import Framework
from .losses import Batch, DomainError, Loss, Params


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
    """Sum of float64 partial sums, combined exactly with math.fsum."""

    def __init__(self) -> None:
        self.parts: list[float] = []

    def add(self, x: float) -> None:
        self.parts.append(float(x))

    @property
    def value(self) -> float:
        return math.fsum(self.parts)


def _row_sums(terms: np.ndarray) -> np.ndarray:
    return np.sum(terms, axis=1)


def compute(
    loss: Loss,
    batches: Iterable[Batch],
    params: Params | None = None,
    *,
    conventions: Sequence[str] | None = None,
    keep_per_sample: bool = True,
    names: dict[str, str] | None = None,
    dtype: str = "float64",
    dropped: int = 0,
    notes: Sequence[str] = (),
) -> Report:
    """Compute ``loss`` under every applicable convention in one pass over ``batches``.

    ``conventions`` selects which rows the report shows (all by default);
    ``names`` maps ``predictions``/``labels``/``weights`` to file names for
    error messages; ``keep_per_sample=False`` keeps memory constant in N when
    no per-sample output is wanted.
    """
    params = params or Params()
    names = {"predictions": "predictions", "labels": "labels", "weights": "weights", **(names or {})}
    selected = [get_convention(c).name for c in conventions] if conventions else None
    need_vector = keep_per_sample and (selected is None or "per_sample" in selected)

    total, sum_w, weighted_total = _Sum(), _Sum(), _Sum()
    col_parts: list[np.ndarray] = []
    per_sample: list[np.ndarray] = []
    fw_sums: dict[int, _Sum] = {}
    frameworks: list[Framework] = []
    n_rows = 0
    n_outputs: int | None = None
    weighted: bool | None = None
    first_bad: int | None = None
    warned: dict[str, None] = {}  # insertion-ordered set of warning messages

    for batch in batches:
        if weighted is None:
            weighted = batch.weights is not None
            frameworks = [fw for fw in loss.frameworks if fw.applies(params, weighted, batch.y_pred.shape[1])]
            fw_sums = {i: _Sum() for i in range(len(frameworks))}
        n_outputs = batch.y_pred.shape[1]
        try:
            if loss.validate is not None:
                loss.validate(batch, params)
        except DomainError as e:
            raise InputError(e.template.format(**names)) from None
        if loss.warnings is not None:
            for message in loss.warnings(batch, params):
                warned.setdefault(message.format(**names), None)
        with np.errstate(all="ignore"):
            terms = np.asarray(loss.terms(batch, params), dtype=np.float64)
            if loss.kind == "element":
                rows = _row_sums(terms)
                col_parts.append(np.sum(terms, axis=0))
                l_i = rows / n_outputs if loss.inner == "mean" else rows
                total.add(np.sum(rows))
            else:
                l_i = terms
                total.add(np.sum(l_i))
            if batch.weights is not None:
                sum_w.add(np.sum(batch.weights))
                weighted_total.add(np.dot(batch.weights, l_i))
        if first_bad is None and not np.isfinite(l_i).all():
            first_bad = batch.start + int(np.flatnonzero(~np.isfinite(l_i))[0])
        if need_vector:
            per_sample.append(l_i)
        for i, fw in enumerate(frameworks):
            fw_sums[i].add(np.sum(fw.contributions(batch, params)))
        n_rows += len(l_i)

    if n_rows == 0 or n_outputs is None:
        raise InputError(f"{names['predictions']} has no rows (rows are samples)")

    ps_vector = np.concatenate(per_sample) if need_vector else None
    per_output = None
    if loss.kind == "element":
        per_output = np.array([math.fsum(col) for col in np.stack(col_parts).T])
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

    fw_results = []
    for i, fw in enumerate(frameworks):
        divisor = fw.weighted_divisor if weighted else fw.divisor
        denominator = {"N": n_rows, "1": 1.0, "sum(w)": totals.sum_w}[divisor]
        s = fw_sums[i].value
        value = s / denominator if denominator else math.nan
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


def _declared_convention(fw: Framework, weighted: bool) -> str | None:
    if fw.convention is None or not weighted:
        return fw.convention
    if fw.divisor == "1":
        return "weighted_sum"
    return {"N": "weighted_batch_mean", "sum(w)": "weighted_mean"}[fw.weighted_divisor]


def _framework_result(
    fw: Framework, value: float, params: Params, weighted: bool, conventions: dict[str, ConventionResult]
) -> FrameworkResult:
    declared = _declared_convention(fw, weighted)
    convention, note = declared, fw.note or None
    target = conventions.get(declared) if declared else None
    if target is None or target.value is None or not math.isclose(value, target.value, rel_tol=fw.rtol, abs_tol=1e-300):
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
    if "delta" in loss.options:
        parts.append(f"delta:{report.params.delta:g}")
    if "logits" in loss.options:
        parts.append(f"logits:{'yes' if report.params.logits else 'no'}")
    if report.dropped:
        parts.append(f"dropped:{report.dropped}")
    parts.append(f"version:{report.version}")
    return "|".join(parts)
