"""Report -> Rich table, JSON, CSV, TSV or plain text. Returns; never prints."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .compute import Report

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
        return "undefined", f"{len(vector)} values, none defined"
    lo, hi = fmt(float(finite.min()), precision), fmt(float(finite.max()), precision)
    detail = f"{len(vector)} values, median {fmt(float(np.median(finite)), precision)}"
    if len(finite) < len(vector):
        detail += f", {len(vector) - len(finite)} undefined"
    return (lo if lo == hi else f"{lo} … {hi}"), detail


def table(report: Report, precision: int = 6, extras: tuple = ()) -> Group:
    """The human view: conventions, what each framework reports, ``extras``, then the signature."""
    n, k = report.shape
    matches: dict[str, list[str]] = {}
    for r in report.frameworks:
        if r.convention:
            matches.setdefault(r.convention, []).append(r.framework)
    conv = Table(
        title=f"{report.loss} · {n} samples × {k} outputs" + (" · weighted" if report.weighted else ""),
        title_justify="left",
    )
    conv.add_column("convention", style="bold", no_wrap=True)
    conv.add_column("divisor", no_wrap=True)
    conv.add_column("n", justify="right", no_wrap=True)
    conv.add_column("value", justify="right")
    conv.add_column("meaning", overflow="fold")
    conv.add_column("reported by", overflow="fold")
    noted: set[str] = set()  # a note shared by several rows (e.g. "undefined: ...") is shown once
    for c in report.conventions:
        name = c.name + (" *" if c.name == report.primary else "")
        meaning = c.short
        if c.note and c.note not in noted:
            meaning, _ = f"{c.short}; {c.note}", noted.add(c.note)
        if isinstance(c.value, np.ndarray):
            value, detail = summarize(c.value, precision)
            meaning = f"{meaning} ({detail})"
        else:
            value = fmt(c.value, precision)
        row = [name, c.divisor or "vector", _fmt_n(c.n), value, meaning, ", ".join(matches.get(c.name, []))]
        conv.add_row(*row)

    parts: list = [conv]
    if report.frameworks:
        fw = Table(title="what the frameworks report", title_justify="left")
        fw.add_column("framework", style="bold", no_wrap=True)
        fw.add_column("value", justify="right", no_wrap=True)
        fw.add_column("equals", no_wrap=True)
        fw.add_column("reproduce with", overflow="fold")
        for r in report.frameworks:
            call = r.call + (f"\n# {r.note}" if r.note else "")
            fw.add_row(r.framework, fmt(r.value, precision), r.convention or "—", call)
        parts.append(fw)
    parts.extend(extras)
    footer = [f"* primary convention (gated by --max/--min) · {report.dtype} input, float64 sums"]
    footer.extend(report.notes)
    footer.append(f"signature: {report.signature}")
    parts.append(Text("\n".join(footer), style="dim", overflow="fold"))
    return Group(*parts)


def _json_number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def to_dict(report: Report) -> dict:
    """The JSON object of ``interface.md`` (non-finite numbers become null with a note)."""
    conventions = []
    for c in report.conventions:
        if isinstance(c.value, np.ndarray):
            value = [_json_number(v) for v in c.value.tolist()]
        else:
            value = _json_number(c.value)
        n = int(c.n) if c.n is not None and float(c.n).is_integer() else c.n
        item = {"name": c.name, "divisor": c.divisor, "n": n, "value": value}
        if c.note:
            item["note"] = c.note
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


def _rows(report: Report, precision: int | None) -> list[list[str]]:
    def num(v: float | None) -> str:
        if v is None:
            return ""
        return repr(float(v)) if precision is None else fmt(v, precision)

    rows = [["section", "name", "divisor", "n", "value", "equals", "call"]]
    for c in report.conventions:
        if isinstance(c.value, np.ndarray):
            for i, v in enumerate(c.value.tolist()):
                rows.append(["convention", f"{c.name}[{i}]", "", "", num(v), "", ""])
        else:
            rows.append(["convention", c.name, c.divisor or "", _fmt_n(c.n), num(c.value), "", ""])
    for r in report.frameworks:
        rows.append(["framework", r.framework, "", "", num(r.value), r.convention or "", r.call])
    return rows


def to_delimited(report: Report, delimiter: str, precision: int | None = None) -> str:
    """CSV or TSV: one row per scalar convention (vectors one row per element) and framework."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerows(_rows(report, precision))
    return buf.getvalue()


def to_plain(report: Report, precision: int | None = None) -> str:
    """``name value`` lines; a single scalar convention prints the bare number."""

    def num(v: float | None) -> str:
        if v is None:
            return "undefined"
        return repr(float(v)) if precision is None else fmt(v, precision)

    if len(report.conventions) == 1:
        c = report.conventions[0]
        if isinstance(c.value, np.ndarray):
            return "\n".join(num(v) for v in c.value.tolist()) + "\n"
        return num(c.value) + "\n"
    lines = []
    for c in report.conventions:
        if isinstance(c.value, np.ndarray):
            lines.append(f"{c.name} " + " ".join(num(v) for v in c.value.tolist()))
        else:
            lines.append(f"{c.name} {num(c.value)}")
    return "\n".join(lines) + "\n"


def loss_list() -> Table:
    """``lossctl list``: every registered loss, its aliases and what it expects."""
    from .losses import LOSSES

    t = Table(title="losses", title_justify="left")
    t.add_column("loss", style="bold", no_wrap=True)
    t.add_column("aliases", overflow="fold")
    t.add_column("inputs", overflow="fold")
    t.add_column("primary", no_wrap=True)
    for loss in LOSSES.values():
        t.add_row(loss.name, ", ".join(loss.aliases), loss.expects, loss.primary)
    return t


def explanation(loss) -> Group:
    """``lossctl explain LOSS``: formula, each convention's n and users, and pitfalls."""
    from .conventions import applicable

    head = Text()
    head.append(f"{loss.name}", style="bold")
    if loss.aliases:
        head.append(f"  (also: {', '.join(loss.aliases)})", style="dim")
    head.append(f"\n{loss.summary}\n\n{loss.formula}\n\nInputs: {loss.expects}.\n")
    if loss.kind == "element":
        inner = "mean" if loss.inner == "mean" else "sum"
        head.append(
            f"\nThe loss is a sum of element terms e[i,k] over N samples (rows) and K outputs (columns). "
            f"Each sample's own loss l_i is the {inner} of its K terms; frameworks report the mean of l_i "
            f"over samples ('{loss.primary}').\n"
        )
    else:
        head.append("\nThe loss exists only per sample (l_i), so its conventions divide the sum of l_i by N or by 1.\n")
    t = Table(title="conventions: which n divides the sum", title_justify="left")
    t.add_column("convention", style="bold", no_wrap=True)
    t.add_column("n", no_wrap=True)
    t.add_column("meaning", overflow="fold")
    t.add_column("used by", overflow="fold")
    for c in applicable(loss.kind, loss.squared, weighted=True):
        # for this loss: the APIs that report this convention by default; else where it is met elsewhere
        apis = list(dict.fromkeys(fw.api for fw in loss.frameworks if fw.convention == c.name))
        users = ", ".join(apis) if apis else f"elsewhere: {c.users}"
        t.add_row(c.name + (" *" if c.name == loss.primary else ""), c.divisor or "vector", c.meaning, users)
    parts: list = [head, t]
    if loss.frameworks:
        f = Table(title="what the frameworks report by default", title_justify="left")
        f.add_column("framework", style="bold", no_wrap=True)
        f.add_column("API", overflow="fold")
        f.add_column("equals", no_wrap=True)
        f.add_column("notes", overflow="fold")
        for fw in loss.frameworks:
            f.add_row(fw.framework, fw.api, fw.convention or "—", fw.note)
        parts.append(f)
    tail = "* primary convention, gated by --max/--min. Weighted conventions appear with --weights."
    if loss.pitfalls:
        tail = "Pitfalls:\n" + "\n".join(f"  • {p}" for p in loss.pitfalls) + "\n\n" + tail
    parts.append(Text(tail))
    return Group(*parts)


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
    title = f"per-sample losses: {len(values)} samples"
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
        grid.add_row(fmt(lo, precision), _bar(1, 1, width), str(len(finite)))
        return Group(head, grid)
    counts, edges = np.histogram(finite, bins=bins, range=(lo, hi))
    most = int(counts.max())
    for count, a, b in zip(counts.tolist(), edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        grid.add_row(f"{fmt(a, precision)} … {fmt(b, precision)}", _bar(count, most, width), str(count))
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
    t = Table()
    t.add_column("row", justify="right", no_wrap=True)
    t.add_column("loss", justify="right", no_wrap=True)
    for row, value in worst:
        t.add_row(str(row), fmt(value, precision))
    head = f"the {len(worst)} sample{'s' if len(worst) != 1 else ''} with the highest loss (rows count from 1)"
    return Group(Text(head, style="bold"), t)


def report_dict(report: Report, worst: list[tuple[int, float]] | None = None) -> dict:
    """:func:`to_dict`, plus ``worst`` (``[{"row", "value"}]``) when ``--worst`` asked for it."""
    out = to_dict(report)
    if worst is not None:
        out["worst"] = [{"row": row, "value": _json_number(value)} for row, value in worst]
    return out


def extra_rows(report: Report, worst: list[tuple[int, float]] | None, precision: int | None = None) -> list[list[str]]:
    """Rows appended to the CSV/TSV output: ``worst`` samples, then the ``signature``."""

    def num(v: float) -> str:
        return repr(float(v)) if precision is None else fmt(v, precision)

    rows = [["worst", str(row), "", "", num(value), "", ""] for row, value in worst or []]
    rows.append(["signature", report.signature, "", "", "", "", ""])
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
_STATUS_STYLE = {"pass": "green", "fail": "red bold", "error": "yellow bold"}


def check_summary(counts: dict[str, int]) -> str:
    """``3 files: 1 passed, 1 failed, 1 error``."""
    total, errors = counts["total"], counts["errors"]
    return (
        f"{total} file{'s' if total != 1 else ''}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{errors} error{'s' if errors != 1 else ''}"
    )


def check_table(results: list, counts: dict[str, int], precision: int = 6) -> Group:
    """``lossctl check -f table``: one row per prediction file, then the summary line."""
    t = Table(title="lossctl check", title_justify="left")
    t.add_column("file", overflow="fold")
    t.add_column("loss", no_wrap=True)
    t.add_column("convention", no_wrap=True)
    t.add_column("value", justify="right", no_wrap=True)
    t.add_column("bound", no_wrap=True)
    t.add_column("status", no_wrap=True)
    t.add_column("message", overflow="fold")
    for r in results:
        value = "" if r.status == "error" else fmt(r.value, precision)
        status = Text(r.status, style=_STATUS_STYLE[r.status])
        t.add_row(r.file, r.loss or "", r.convention or "", value, r.bound, status, r.message or "")
    return Group(t, Text(check_summary(counts)))


def check_record(result) -> dict:
    """One ``check`` result as the JSON/JSONL object (keys: :data:`CHECK_COLUMNS`)."""
    return result.to_dict()


def check_json(results: list, counts: dict[str, int]) -> str:
    """``lossctl check -f json``: ``{"lossctl", "results": [...], "summary": {...}}``."""
    from . import __version__

    doc = {"lossctl": __version__, "results": [check_record(r) for r in results], "summary": counts}
    return json.dumps(doc, indent=2, allow_nan=False)


def check_header(delimiter: str) -> str:
    return delimited([list(CHECK_COLUMNS)], delimiter)


def check_line(result, delimiter: str) -> str:
    """One ``check`` result as a CSV/TSV line (full-precision numbers; notes joined by ``; ``)."""
    d = check_record(result)
    cells = []
    for key in CHECK_COLUMNS:
        v = d[key]
        if key == "notes":
            cells.append("; ".join(v))
        elif isinstance(v, float):
            cells.append(repr(v))
        else:
            cells.append("" if v is None else str(v))
    return delimited([cells], delimiter)
