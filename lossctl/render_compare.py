"""A :class:`~lossctl.compare.Comparison` as a Rich table (baseline first, sacreBLEU's paired layout),
JSON or CSV/TSV. Returns; never prints."""

from __future__ import annotations

import csv
import io
import math

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .compare import Comparison
from .layout import FirstFit, Wrapped
from .render import fmt

COMPARE_FORMATS = ("table", "json", "csv", "tsv")
NBSP = "\u00a0"  # keeps "p < 0.0001" on one line
_TESTS = {
    "paired-t": "paired t-test",
    "paired-delta": "paired test of the weighted mean (delta method, t)",
    "paired-bootstrap": "paired Poisson bootstrap",
    "permutation": "sign-flip permutation test",
}


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def to_dict(c: Comparison) -> dict:
    """The JSON object of ``interface.md`` (``p_adjusted`` only with several candidates)."""
    results = []
    for r in c.results:
        item = {
            "file": r.file,
            "value": _num(r.value),
            "delta": _num(r.delta),
            "ci": {"low": _num(r.ci.low), "high": _num(r.ci.high), "level": r.ci.level, "method": r.ci.method},
            "p_value": _num(r.p_value),
            "test": r.test,
            "verdict": r.verdict,
        }
        if r.p_adjusted is not None:
            item["p_adjusted"] = _num(r.p_adjusted)
        results.append(item)
    out = {
        "lossctl": c.version,
        "loss": c.loss,
        "convention": c.convention,
        "divisor": c.divisor,
        "labels": c.labels,
        "shape": list(c.shape),
        "weighted": c.weighted,
        "alpha": c.alpha,
        "baseline": {"file": c.baseline, "value": _num(c.baseline_value)},
        "results": results,
        "signature": c.signature,
    }
    if len(c.results) > 1:
        out["correction"] = "holm"
    return out


COLUMNS = ("role", "file", "value", "delta", "ci_low", "ci_high", "p_value", "p_adjusted", "test", "verdict")


def to_delimited(c: Comparison, delimiter: str, precision: int | None = None) -> str:
    """One row for the baseline, one per candidate, then the signature."""

    def num(v: float | None) -> str:
        if v is None:
            return ""
        return repr(float(v)) if precision is None else fmt(v, precision)

    rows = [list(COLUMNS), ["baseline", c.baseline, num(c.baseline_value), "", "", "", "", "", "", ""]]
    for r in c.results:
        adj = num(r.p_adjusted) if r.p_adjusted is not None else ""
        rows.append(
            ["candidate", r.file, num(r.value), num(r.delta), num(r.ci.low), num(r.ci.high), num(r.p_value), adj]
            + [r.test, r.verdict]
        )
    rows.append(["signature", c.signature] + [""] * (len(COLUMNS) - 2))
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _p(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "—"
    return "< 0.0001" if 0 < v < 1e-4 else ("0" if v == 0 else f"{v:.4f}")


def _grid(c: Comparison, precision: int) -> Table:
    """One row per model, baseline first: value, delta, its interval, p-value and verdict."""
    level = f"{round(c.results[0].ci.level * 100, 9):g}%" if c.results else ""
    several = len(c.results) > 1
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("model", no_wrap=True)
    for name in ("value", "delta", f"{level} CI of delta", "p" + (" (Holm)" if several else "")):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("verdict", no_wrap=True)
    t.add_row(Text(f"{c.baseline} (baseline)", style="bold"), fmt(c.baseline_value, precision), "", "", "", "")
    for r in c.results:
        p = _p(r.p_adjusted if several else r.p_value)
        t.add_row(r.file, fmt(r.value, precision), _delta(r.delta, precision), _ci(r.ci, precision), p, _verdict(r))
    return t


def _blocks(c: Comparison, precision: int) -> Group:
    """The narrow layout: one block per model, lines that wrap only between fields."""
    several = len(c.results) > 1
    lines: list = [Wrapped(f"{c.baseline} (baseline)  {fmt(c.baseline_value, precision)}", rest="    ", style="bold")]
    for r in c.results:
        level = f"{round(r.ci.level * 100, 9):g}%"
        p = ("p (Holm) " if several else "p ") + _p(r.p_adjusted if several else r.p_value)
        lines.append(Text.assemble(f"{r.file}  {fmt(r.value, precision)}  ", _verdict(r)))
        detail = f"delta {_delta(r.delta, precision)}  {level} CI {_ci(r.ci, precision)}  {p.replace(' ', NBSP)}"
        lines.append(Wrapped(detail, "  ", "    "))
    return Group(*lines)


def _delta(delta: float, precision: int) -> str:
    return "0" if delta == 0 else f"{delta:+.{min(precision, 4)}g}"


def _ci(ci, precision: int) -> str:
    return f"[{fmt(ci.low, min(precision, 4))}, {fmt(ci.high, min(precision, 4))}]"


def _verdict(r) -> Text:
    return Text(r.verdict, {"better": "green", "worse": "red"}.get(r.verdict, ""))


def table(c: Comparison, precision: int = 6) -> Group:
    """The human view: what is compared and how, then the models (a table, or blocks when narrow)."""
    several = len(c.results) > 1
    test = _TESTS.get(c.results[0].test, c.results[0].test) if c.results else ""
    head = f"{c.loss} {c.convention} (÷ {c.divisor.replace('*', '·')}) on {c.labels}: lower is better"
    how = f"{test}, two-sided, α = {c.alpha:g}; delta = candidate − baseline"
    if several:
        how += f"; p-values Holm-adjusted for {len(c.results)} candidates"
    return Group(
        Wrapped(head, rest="    ", style="bold"),
        Wrapped(how, rest="    ", style="dim"),
        Text(""),
        FirstFit(_grid(c, precision), _blocks(c, precision)),
        Wrapped(c.signature, "signature: ", style="dim", breaks=",|"),
    )
