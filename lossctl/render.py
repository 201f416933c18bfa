"""Report -> Rich table, JSON, CSV, TSV or plain text. Returns; never prints."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection

import numpy as np
from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .compute import Report
from .layout import FirstFit, Wrapped, group_digits, plural
from .report import VectorSummary, summarize_vector

FORMATS = ("table", "json", "csv", "tsv", "plain")


def fmt(value: float | None, precision: int = 6) -> str:
    """A number with ``precision`` significant digits; ``undefined`` for None."""
    if value is None:
        return "undefined"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{precision}g}"


def _fmt_n(n: float | None) -> str:
    if n is None:
        return ""
    return str(int(n)) if float(n).is_integer() else f"{n:.6g}"


def summarize(vector: np.ndarray, precision: int = 6) -> tuple[str, str]:
    """A vector as ``(range, detail)``: ``"0.01 … 0.037"`` and ``"2 values, median 0.0235"``."""
    lo_hi = (vector.min(), vector.max()) if len(vector) else (np.nan, np.nan)
    finite = vector if np.isfinite(lo_hi).all() else vector[np.isfinite(vector)]  # copy only if needed
    if len(finite) == 0:
        return "undefined", f"{plural(len(vector), 'value')}, none defined"
    lo, hi = fmt(float(finite.min()), precision), fmt(float(finite.max()), precision)
    detail = f"{plural(len(vector), 'value')}, median {fmt(float(np.median(finite)), precision)}"
    if len(finite) < len(vector):
        detail += f", {len(vector) - len(finite)} undefined"
    return (lo if lo == hi else f"{lo} … {hi}"), detail


#: how the table names each framework
FRAMEWORK_NAMES = {"pytorch": "PyTorch", "keras": "Keras", "sklearn": "scikit-learn", "numpy": "NumPy"}
#: what a divisor counts, for the first line (``÷ N·K = 20 elements``)
_UNITS = {"N*K": ("element", "elements"), "N": ("sample", "samples"), "K": ("output", "outputs")}


def _n_human(n: float | None) -> str:
    return group_digits(n)


def headline(report: Report, precision: int = 6) -> str:
    """The answer in one line: ``mse = 0.0235   (mean: ÷ N·K = 20 elements; what PyTorch, ... report)``."""
    scalars = [c for c in report.conventions if not isinstance(c.value, np.ndarray)]
    if not scalars:  # only vectors were asked for
        c = report.conventions[0]
        value, detail = summarize(c.value, precision)
        return f"{report.loss} {c.name} = {value}   ({detail})"
    c = next((c for c in scalars if c.name == report.primary), scalars[0])
    divisor = (c.divisor or "").replace("*", "·").replace("sum(w)", "Σw")
    unit = _UNITS.get(c.divisor or "")
    count = plural(c.n, *unit) if unit and c.n is not None else _n_human(c.n)
    why = f"{c.name}: ÷ {divisor}" + ("" if divisor == count else f" = {count}")
    names = [FRAMEWORK_NAMES.get(r.framework, r.framework) for r in report.frameworks if r.convention == c.name]
    names = list(dict.fromkeys(n for n in names if n != "NumPy"))
    if names:
        why += f"; what {', '.join(names)} report{'s' if len(names) == 1 else ''}"
    return f"{report.loss} = {fmt(c.value, precision)}   ({why})"


def _conventions_table(
    report: Report, precision: int, notes_column: bool, stacked: bool, divisor: bool, ci_below: bool = False
) -> Table:
    """The conventions, numbers at their natural width; ``notes_column=False`` leaves notes to the footer."""
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("convention", style="bold", no_wrap=True)
    if divisor:
        t.add_column("divisor", no_wrap=True)
    t.add_column("n", justify="right", no_wrap=True)
    t.add_column("value", justify="right", no_wrap=True)
    cis = _ci_column(report, precision)
    ci_beside = bool(cis) and not ci_below
    if ci_beside:
        t.add_column(cis[0], justify="left", no_wrap=True)
    if notes_column:
        t.add_column("notes", min_width=20)
    for c, value, note in _convention_rows(report, precision):
        if stacked:
            value = value.replace(" … ", " …\n")
        row = [c.name + (" *" if c.name == report.primary else "")]
        row += [escape(c.divisor) if c.divisor else "vector"] if divisor else []  # sum(w[y]): not markup
        ci = cis[1].get(c.name, "") if cis else ""
        if ci_below and ci:
            value += "\n" + ci.replace(", ", ",\n ")
        row += [_n_human(c.n), value] + ([ci] if ci_beside else []) + ([note] if notes_column else [])
        t.add_row(*row)
    return t


def ci_text(ci, precision: int = 6) -> str:
    """An interval beside its value: ``± 0.0004`` when symmetric (t, delta), else ``[low, high]``."""
    if ci is None or not (math.isfinite(ci.low) and math.isfinite(ci.high)):
        return "" if ci is None else "undefined"
    if ci.method in ("t", "delta"):
        return f"± {fmt((ci.high - ci.low) / 2, min(precision, 3))}"
    digits = min(precision, 6)  # an interval's ends carry no more information than this
    return f"[{fmt(ci.low, digits)}, {fmt(ci.high, digits)}]"


def _ci_column(report: Report, precision: int) -> tuple[str, dict[str, str]] | None:
    """The interval column's heading (``95% CI``) and each convention's interval text; None without --ci."""
    shown = {c.name: c.ci for c in report.conventions if c.ci is not None}
    if not shown:
        return None
    level = next(iter(shown.values())).level
    heading = f"{round(level * 100, 9):g}% CI" + (
        " (t)" if all(ci.method != "bootstrap" for ci in shown.values()) else ""
    )
    return heading, {name: ci_text(ci, precision) for name, ci in shown.items()}


def _ci_dict(ci) -> dict:
    return {"low": _json_number(ci.low), "high": _json_number(ci.high), "level": ci.level, "method": ci.method}


def _convention_rows(report: Report, precision: int) -> list:
    rows, noted = [], set()  # a note shared by several rows (e.g. "undefined: ...") is shown once
    for c in report.conventions:
        notes = []
        if isinstance(c.value, np.ndarray):
            value, detail = summarize(c.value, precision)
            notes.append(detail)
        else:
            value = fmt(c.value, precision)
        if c.note and c.note not in noted:
            notes.append(c.note)
            noted.add(c.note)
        rows.append((c, value, "; ".join(notes)))
    return rows


def _convention_notes(report: Report, precision: int) -> Group:
    """The notes column as lines below the table, for when it does not fit beside the numbers."""
    lines = [Wrapped(f"{c.name}: {note}", rest="    ") for c, _, note in _convention_rows(report, precision) if note]
    return Group(*lines)


def _frameworks(report: Report, precision: int) -> FirstFit:
    """Each framework's value and the convention it equals; its call beside it, or listed below."""

    def grid(inline: bool, api: bool) -> Table:
        g = Table.grid(padding=(0, 2))
        g.add_column(style="bold", no_wrap=True)
        g.add_column(justify="right", no_wrap=True)
        g.add_column(no_wrap=True)
        if inline or api:
            g.add_column(no_wrap=not inline)
        for r in report.frameworks:
            row = [r.framework, fmt(r.value, precision), f"= {r.convention or '—'}"]
            row += [_call(r, "", "    ")] if inline else [r.api] if api else []
            g.add_row(*row)
        return g

    head = Text("what the frameworks report, and how to reproduce it:")
    calls = [_call(r, "  ", "      ") for r in report.frameworks]
    return FirstFit(
        Group(head, grid(True, False)), Group(head, grid(False, True), *calls), Group(head, grid(False, False), *calls)
    )


def _call(r, first: str, rest: str) -> Group:
    call = Wrapped(r.call, first, rest)
    return Group(call, Wrapped(r.note, first + "# ", first + "# ", style="dim")) if r.note else call


def table(report: Report, precision: int = 6, extras: tuple = ()) -> Group:
    """The human view: the answer first, the conventions, the frameworks, ``extras``, the signature.

    Every number keeps its natural width at any console width; prose wraps or moves below the
    table first, and calls and the signature break only after spaces, commas or ``|``.
    """
    n, k = report.shape
    shape = f"{plural(n, 'sample')} × {plural(k, 'output')} · {report.dtype} input, float64 sums"
    parts: list = [Wrapped(headline(report, precision), rest="    ", style="bold"), Text(shape, style="dim")]
    has_notes = any(note for _, _, note in _convention_rows(report, precision))
    has_ci = any(c.ci is not None for c in report.conventions)
    variants = [(True, False, True)] if has_notes and not has_ci else []  # intervals leave notes to the footer
    variants += [(False, False, True), (False, True, True), (False, True, False)]
    if has_ci:  # too narrow for the interval column: under each value
        variants += [(False, True, True, True), (False, True, False, True)]
    layouts = [_conventions_table(report, precision, *v) for v in variants]
    if has_notes:
        below = _convention_notes(report, precision)
        first = 0 if has_ci else 1  # the first layout has the notes beside the numbers
        layouts[first:] = [Group(t, below) for t in layouts[first:]]
    parts += [Text(""), FirstFit(*layouts)]
    if report.frameworks:
        parts += [Text(""), _frameworks(report, precision)]
    for extra in extras:
        parts += [Text(""), extra]
    footer = f"* primary convention, gated by --max/--min · meanings: lossctl explain {report.loss}"
    parts.append(Wrapped(footer, rest="  ", style="dim"))
    parts += [Wrapped(f"note: {note}", rest="  ", style="dim") for note in report.notes]
    parts.append(
        Wrapped(report.signature, "signature: ", style="dim", breaks=",|")
    )  # unindented: rejoins by deleting "\n"
    return Group(*parts)


def _json_number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


#: how a vector convention numbers its entries: rows from 1, columns from 0 (like --pred-cols)
VECTOR_FIRST = {"per_sample": 1, "per_output": 0}


def vector_summary(c) -> VectorSummary | None:
    """A vector convention's summary: the one computed with it, else one made from its values."""
    if c.summary is not None or not isinstance(c.value, np.ndarray):
        return c.summary
    first = VECTOR_FIRST.get(c.name, 1)
    return summarize_vector(c.value, first=first, argmax_key="argmax_row" if first else "argmax_column")


def vector_length(report: Report, c) -> int | None:
    """``n`` of a vector convention: its length."""
    if isinstance(c.value, np.ndarray):
        return len(c.value)
    if c.summary is not None:
        return c.summary.count
    return report.shape[0] if c.name == "per_sample" else report.shape[1] if c.name == "per_output" else None


def to_dict(report: Report, full: Collection[str] = ()) -> dict:
    """The JSON object of ``interface.md`` (non-finite numbers become null with a note).

    A vector convention carries its ``value`` only when named in ``full`` (``-c``), else its
    ``summary``; a vector in ``full`` without its values (streamed by the caller) carries neither.
    """
    conventions = []
    for c in report.conventions:
        if c.vector:
            item = {"name": c.name, "divisor": c.divisor, "n": vector_length(report, c)}
            summary = vector_summary(c) if c.name not in full else None
            if c.name in full and isinstance(c.value, np.ndarray):
                item["value"] = [_json_number(v) for v in c.value.tolist()]
            elif summary is not None:
                item["summary"] = {k: v if isinstance(v, int) else _json_number(v) for k, v in summary.fields().items()}
        else:
            n = int(c.n) if c.n is not None and float(c.n).is_integer() else c.n
            item = {"name": c.name, "divisor": c.divisor, "n": n, "value": _json_number(c.value)}
        if c.note:
            item["note"] = c.note
        if c.ci is not None:
            item["ci"] = _ci_dict(c.ci)
        conventions.append(item)
    frameworks = []
    for r in report.frameworks:
        item = {
            "framework": r.framework,
            "api": r.api,
            "call": r.call,
            "value": _json_number(r.value),
            "convention": r.convention,
        }
        if r.note or not math.isfinite(r.value):
            item["note"] = r.note or fmt(r.value)
        if not math.isfinite(r.value):
            item["nonfinite"] = fmt(r.value)
        frameworks.append(item)
    out = {
        "lossctl": report.version,
        "loss": report.loss,
        "shape": list(report.shape),
        "dtype": report.dtype,
        "weighted": report.weighted,
        "primary": report.primary,
        "conventions": conventions,
        "frameworks": frameworks,
        "dropped": report.dropped,
        "notes": report.notes,
        "signature": report.signature,
    }
    if report.sig.option("delta") is not None:
        out["delta"] = report.params.delta
    return out


#: the CSV/TSV columns; ``summary`` is filled only on a vector convention's summary row
DELIMITED_COLUMNS = ["section", "name", "divisor", "n", "value", "equals", "call", "summary"]


def summary_text(summary: VectorSummary, precision: int | None) -> str:
    """``count=2;min=0.01;median=0.0235;mean=0.0235;max=0.037;argmax_row=2``: one field, no spaces or commas."""

    def num(v: float | int | None) -> str:
        if v is None:
            return ""
        if isinstance(v, int):
            return str(v)
        return repr(float(v)) if precision is None else fmt(v, precision)

    return ";".join(f"{k}={num(v)}" for k, v in summary.fields().items())


def _rows(report: Report, precision: int | None, full: Collection[str] = ()) -> list[list[str]]:
    def num(v: float | None) -> str:
        if v is None:
            return ""
        return repr(float(v)) if precision is None else fmt(v, precision)

    rows = [list(DELIMITED_COLUMNS)]
    for c in report.conventions:
        if c.vector and c.name in full:  # in full: one row per entry, named as --worst/--pred-cols name it
            first = VECTOR_FIRST.get(c.name, 1)
            values = c.value.tolist() if isinstance(c.value, np.ndarray) else []
            rows += [["convention", f"{c.name}[{i}]", "", "", num(v), "", "", ""] for i, v in enumerate(values, first)]
        elif c.vector:
            summary = vector_summary(c)
            text = summary_text(summary, precision) if summary else ""
            rows.append(["convention", c.name, "", _fmt_n(vector_length(report, c)), "", "", "", text])
        else:
            rows.append(["convention", c.name, c.divisor or "", _fmt_n(c.n), num(c.value), "", "", ""])
    for r in report.frameworks:
        rows.append(["framework", r.framework, "", "", num(r.value), r.convention or "", r.call, ""])
    return _with_ci_columns(report, rows, num)


def _with_ci_columns(report: Report, rows: list[list[str]], num) -> list[list[str]]:
    """``ci_low``/``ci_high`` columns on every row when the report has intervals (--ci)."""
    if not any(c.ci is not None for c in report.conventions):
        return rows
    cis = {c.name: c.ci for c in report.conventions if c.ci is not None}
    out = [rows[0] + ["ci_low", "ci_high"]]
    for row in rows[1:]:
        ci = cis.get(row[1]) if row[0] == "convention" else None
        out.append(row + ([num(ci.low), num(ci.high)] if ci is not None else ["", ""]))
    return out


def to_delimited(report: Report, delimiter: str, precision: int | None = None, full: Collection[str] = ()) -> str:
    """CSV or TSV: one row per scalar convention, per vector convention (its summary; each entry
    when named in ``full``) and per framework."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerows(_rows(report, precision, full))
    return buf.getvalue()


def to_plain(report: Report, precision: int | None = None, full: Collection[str] = ()) -> str:
    """``name value`` lines; a single scalar convention prints the bare number, a single vector named
    in ``full`` its values one per line; other vectors in ``full`` give ``name[i] value`` lines, the
    rest one ``name count=…;min=…`` summary line."""

    def num(v: float | None) -> str:
        if v is None:
            return "undefined"
        return repr(float(v)) if precision is None else fmt(v, precision)

    lines = []
    single = len(report.conventions) == 1
    for c in report.conventions:
        if c.vector and c.name in full:
            values = c.value.tolist() if isinstance(c.value, np.ndarray) else []
            first = VECTOR_FIRST.get(c.name, 1)
            lines += [num(v) if single else f"{c.name}[{i}] {num(v)}" for i, v in enumerate(values, first)]
        elif c.vector:
            summary = vector_summary(c)
            lines.append(f"{c.name} {summary_text(summary, precision) if summary else ''}")
        else:
            lines.append(num(c.value) if single else f"{c.name} {num(c.value)}")
    return "".join(line + "\n" for line in lines)


# --------------------------------------------------------------------------- pipelines: per-sample views

_EIGHTHS = " ▏▎▍▌▋▊▉"


def _bar(count: int, most: int, width: int) -> str:
    eighths = round(count / most * width * 8) if most else 0
    if count and not eighths:
        eighths = 1  # a non-empty bin always shows
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def histogram(values: np.ndarray, bins: int = 8, width: int = 30, precision: int = 4) -> Group:
    """A small text histogram of per-sample losses: one line per bin, ``lo … hi  bar  count``."""
    finite = values[np.isfinite(values)]
    title = f"per-sample losses: {plural(len(values), 'sample')}"
    if len(finite) < len(values):
        title += f", {len(values) - len(finite)} undefined (not shown)"
    head = Text(title, style="bold")
    if len(finite) == 0:
        return Group(head)
    lo, hi = float(finite.min()), float(finite.max())
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    if lo == hi:
        grid.add_row(fmt(lo, precision), _bar(1, 1, width), group_digits(len(finite)))
        return Group(head, grid)
    counts, edges = np.histogram(finite, bins=bins, range=(lo, hi))
    most = int(counts.max())
    for count, a, b in zip(counts.tolist(), edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        grid.add_row(f"{fmt(a, precision)} … {fmt(b, precision)}", _bar(count, most, width), group_digits(count))
    return Group(head, grid)


def worst_samples(values: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` samples with the highest loss as ``(row, value)``, row counted from 1.

    Undefined (NaN) losses rank highest, then ``inf``; ties keep row order.

    >>> worst_samples(np.array([0.1, 0.5, 0.3, 0.5]), 3)
    [(2, 0.5), (4, 0.5), (3, 0.3)]
    """
    key = np.where(np.isnan(values), np.inf, values)
    nan_first = np.isnan(values)
    order = np.lexsort((np.arange(len(values)), ~nan_first, -key))[:k]
    return [(int(i) + 1, float(values[i])) for i in order]


def worst_table(worst: list[tuple[int, float]], precision: int = 6) -> Group:
    """The ``--worst K`` view: row number and loss, highest first."""
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("row", justify="right", no_wrap=True)
    t.add_column("loss", justify="right", no_wrap=True)
    for row, value in worst:
        t.add_row(group_digits(row), fmt(value, precision))
    head = f"the {len(worst)} sample{'s' if len(worst) != 1 else ''} with the highest loss (rows count from 1)"
    return Group(Text(head, style="bold"), t)


def report_dict(report: Report, worst: list[tuple[int, float]] | None = None, full: Collection[str] = ()) -> dict:
    """:func:`to_dict`, plus ``worst`` (``[{"row", "value"}]``) when ``--worst`` asked for it."""
    out = to_dict(report, full)
    if worst is not None:
        out["worst"] = [{"row": row, "value": _json_number(value)} for row, value in worst]
    return out


def extra_rows(report: Report, worst: list[tuple[int, float]] | None, precision: int | None = None) -> list[list[str]]:
    """Rows appended to the CSV/TSV output: ``worst`` samples, then the ``signature``."""

    def num(v: float) -> str:
        return repr(float(v)) if precision is None else fmt(v, precision)

    rows = [["worst", str(row), "", "", num(value), "", "", ""] for row, value in worst or []]
    rows.append(["signature", report.signature, "", "", "", "", "", ""])
    if any(c.ci is not None for c in report.conventions):
        rows = [row + ["", ""] for row in rows]
    return rows


def delimited(rows: list[list[str]], delimiter: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue()


# --------------------------------------------------------------------------- pipelines: lossctl check

CHECK_COLUMNS = (
    "file",
    "labels",
    "loss",
    "convention",
    "value",
    "max",
    "min",
    "status",
    "message",
    "notes",
    "signature",
)
