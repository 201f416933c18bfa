"""``lossctl check`` results -> a Rich table, JSON, JSONL, CSV or TSV. Returns; never prints."""

from __future__ import annotations

import json
import os

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .layout import FirstFit, Wrapped
from .render import CHECK_COLUMNS, delimited, fmt

_STATUS_STYLE = {"pass": "green", "fail": "red bold", "error": "yellow bold"}


def check_summary(counts: dict[str, int]) -> str:
    """``3 files: 1 passed, 1 failed, 1 error``."""
    total, errors = counts["total"], counts["errors"]
    return (
        f"{total} file{'s' if total != 1 else ''}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{errors} error{'s' if errors != 1 else ''}"
    )


def _common_folder(paths: list[str]) -> str:
    """The folder every path is in (``""`` if none is shared, e.g. relative and absolute mixed)."""
    folders = [os.path.dirname(p) for p in paths]
    if not folders or any(not f for f in folders):
        return ""
    try:
        return os.path.commonpath(folders)
    except ValueError:
        return ""


def _only(values: list) -> object | None:
    """The value every row shares, or None when the rows differ."""
    distinct = set(values)
    return next(iter(distinct)) if len(distinct) == 1 else None


def check_table(results: list, counts: dict[str, int], precision: int = 6) -> Group:
    """``lossctl check -f table``: one row per file, then failures and errors recapped, then the counts.

    What every row shares (loss, convention, bound, labels, folder) is said once above the table;
    paths are relative to their common folder; each message appears once, in the recap. Labels
    that differ by row get a column, or, when that does not fit, a list below the table.
    """
    folder = _common_folder([r.file for r in results])
    checked = [r for r in results if r.status != "error"] or results  # an error row may lack loss/convention
    shared = {key: _only([getattr(r, key) or "" for r in checked]) for key in ("loss", "convention", "labels")}
    shared["bound"] = _only([r.bound for r in results])
    said = " ".join(str(shared[k]) for k in ("loss", "convention", "bound") if shared[k])
    head = "lossctl check" + (f" · {said}" if said else "")
    head += f" · labels: {shared['labels']}" if shared["labels"] else ""
    head += f" · in {folder}{os.sep}" if folder else ""
    names = [os.path.relpath(r.file, folder) if folder else r.file for r in results]
    varying = [k for k in ("loss", "convention") if shared[k] is None]
    table = _check_rows(results, names, varying, shared["bound"] is None, precision)
    if shared["labels"] is None:
        by_labels: dict[str, list[str]] = {}
        for name, r in zip(names, results, strict=True):
            by_labels.setdefault(r.labels or "", []).append(name)
        below = [Wrapped(f"{', '.join(files)}: {labels}", "  ", "    ") for labels, files in by_labels.items()]
        wide = _check_rows(results, names, [*varying, "labels"], shared["bound"] is None, precision)
        table = FirstFit(wide, Group(table, Text("labels:"), *below))
    recap = [
        Wrapped(
            f"{'FAILED' if r.status == 'fail' else 'ERROR '} {r.message or ''}",
            rest="       ",
            style=_STATUS_STYLE[r.status],
        )
        for r in results
        if r.status != "pass"
    ]
    parts: list = [Wrapped(head, rest="  ", style="bold"), table]
    if recap:
        parts += [Text(""), *recap]
    return Group(*parts, Text(check_summary(counts), style="bold"))


def _check_rows(results: list, names: list[str], varying: list[str], bound: bool, precision: int) -> Table:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("file")
    for key in varying:
        t.add_column(key, no_wrap=key != "labels")
    t.add_column("value", justify="right", no_wrap=True)
    if bound:
        t.add_column("bound", no_wrap=True)
    t.add_column("status", no_wrap=True)
    for name, r in zip(names, results, strict=True):
        row: list = [Wrapped(name), *(Wrapped(getattr(r, k) or "") for k in varying)]
        row.append("" if r.status == "error" else fmt(r.value, precision))
        row += [r.bound] if bound else []
        row.append(Text(r.status, style=_STATUS_STYLE[r.status]))
        t.add_row(*row)
    return t


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
