"""Column selection (``--pred-cols``, ``--label-cols``): a wrapper over any :class:`Source`.

A selection is a comma-separated list of items, taken in the order given:

=========  ==================================================================
``y``      a column name: a CSV header's or a parquet schema's
``3``      a 0-based column index
``2:5``    0-based indices 2, 3 and 4: the end is excluded, as in Python;
           ``2:`` runs to the last column, ``:5`` starts at 0
``p*``     a glob over the names (``*``, ``?``, ``[...]``), in file order
``probs``  also every column ``probs[0]``, ``probs[1]``, ... (an array under one JSON key)
=========  ==================================================================

An exact name wins over the other readings (a column may be called ``3``).
Files without names (``.npy``, ``.npz``, CSV without a header) take indices
and ranges only. Text sources parse only the selected columns, so other
columns (ids, file names) may hold anything.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import threading
from collections import deque
from collections.abc import Iterator, Sequence

import numpy as np

from ..errors import UsageError, cell, column, listing
from .source import Source

_RANGE = re.compile(r"^(\d*):(\d*)$")
_GLOB_CHARS = set("*?[")
_LISTED = 20


def _available(names: Sequence[str] | None, width: int) -> str:
    if names is None:
        return f"it has no header, so select by 0-based index: 0 to {width - 1}, or ranges like 0:{width}"
    return f"its columns are: {listing(names, _LISTED, show=column)}"


def _label(names: Sequence[str] | None, index: int) -> str:
    """A column as a message names it: its header name, quoted, else its 0-based index."""
    return cell(names[index]) if names is not None else str(index)


def resolve(spec: str, names: Sequence[str] | None, width: int, file: str, option: str) -> list[int]:
    """The 0-based column indices ``spec`` selects from a file with ``names`` (or None) and ``width`` columns."""
    items = [item.strip() for item in spec.split(",")]
    if not spec.strip() or any(not item for item in items):
        raise UsageError(f"{option} {spec!r} has an empty item; give names, indices (0-based), ranges (2:5) or globs")
    lookup = {n: i for i, n in reversed(list(enumerate(names)))} if names is not None else {}
    picked: list[int] = []
    seen: set[int] = set()
    for item in items:
        if item in lookup:
            found = [lookup[item]]
        elif f"{item}[0]" in lookup:  # the columns key[0], key[1], ... of an array under one key (JSON lines)
            found = [i for i, n in enumerate(names) if re.fullmatch(re.escape(item) + r"\[\d+\]", n)]
        elif _GLOB_CHARS & set(item):
            if names is None:
                raise UsageError(f"{option} {item!r}: {file} has no column names to match; {_available(names, width)}")
            found = [i for i, n in enumerate(names) if fnmatch.fnmatchcase(n, item)]
            if not found:
                raise UsageError(f"{option} {item!r} matches no column of {file}; {_available(names, width)}")
        elif m := _RANGE.match(item):
            start = int(m[1]) if m[1] else 0
            stop = int(m[2]) if m[2] else width
            if not start < stop <= width:
                raise UsageError(
                    f"{option} range {item!r} does not fit {file}, which has {width} columns (0 to {width - 1}); "
                    "a range a:b takes columns a to b-1"
                )
            found = list(range(start, stop))
        elif item.isdigit():
            index = int(item)
            if index >= width:
                raise UsageError(
                    f"{option} column {index} is out of range: {file} has {width} columns, "
                    f"indexed 0 to {width - 1} (0-based)"
                )
            found = [index]
        else:
            raise UsageError(f"{option}: {file} has no column {item!r}; {_available(names, width)}")
        for index in found:
            if index in seen:
                raise UsageError(f"{option} selects column {_label(names, index)} twice; select each column once")
            picked.append(index)
            seen.add(index)
    return picked


def _sliced(source: Source, indices: list[int]) -> Source:
    """``source`` restricted to ``indices``, reading only those columns where the source can."""
    if source.project is not None:
        return source.project(indices)
    names = None if source.column_names is None else tuple(source.column_names[i] for i in indices)

    def chunks(rows: int) -> Iterator[np.ndarray]:
        for chunk in source.chunks(rows):
            yield chunk[:, indices]

    def row_range(start: int, stop: int, rows: int) -> Iterator[np.ndarray]:
        for chunk in source.rows(start, stop, rows):  # type: ignore[misc]
            yield chunk[:, indices]

    return Source(
        source.name,
        chunks,
        source.dtype,
        column_names=names,
        width=len(indices),
        files=source.files,
        shard_of=source.shard_of,
        length=source.length,
        rows=row_range if source.rows is not None else None,
        seekable=source.seekable,
        starts=source.starts,
    )


def select(source: Source, spec: str | None, option: str) -> Source:
    """``source`` with only the columns ``spec`` selects (``source`` itself when ``spec`` is None)."""
    if spec is None:
        return source
    indices = resolve(spec, source.column_names, source.columns(), source.name, option)
    return dataclasses.replace(_sliced(source, indices), name=f"{source.name}[{spec}]")


class _Pass:
    """One pass over an iterator, shared by two views that may run on different threads.

    Each item is produced once (under a lock) and queued for the other view; an
    exception is raised in both views, so neither mistakes it for a short file.
    ``itertools.tee`` cannot do this: its views must not be advanced from two threads.
    """

    def __init__(self, items: Iterator[np.ndarray]) -> None:
        self.items = items
        self.lock = threading.Lock()
        self.queues: tuple[deque, deque] = (deque(), deque())
        self.error: BaseException | None = None

    def view(self, number: int) -> Iterator[np.ndarray]:
        mine, other = self.queues[number], self.queues[1 - number]
        while True:
            with self.lock:
                if mine:
                    item = mine.popleft()
                elif self.error is not None:
                    raise self.error
                else:
                    try:
                        item = next(self.items)
                    except StopIteration:
                        return
                    except BaseException as e:
                        self.error = e
                        raise
                    other.append(item)
            yield item


class _Twins:
    """Two views of one pass over a source: each pass is read once and fed to both views."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.lock = threading.Lock()
        self.waiting: dict[int, Iterator[np.ndarray]] = {}

    def stream(self, view: int, rows: int) -> Iterator[np.ndarray]:
        with self.lock:
            twin = self.waiting.pop(view, None)
            if twin is not None:
                return twin
            shared = _Pass(iter(self.source.chunks(rows)))
            self.waiting[1 - view] = shared.view(1 - view)
            return shared.view(view)


def split(source: Source, pred_spec: str | None, label_spec: str) -> tuple[Source, Source]:
    """Predictions and labels from one file: ``label_spec``'s columns, and ``pred_spec``'s (default: the rest)."""
    width = source.columns()
    labels = resolve(label_spec, source.column_names, width, source.name, "--label-cols")
    if pred_spec is None:
        taken = set(labels)
        preds = [i for i in range(width) if i not in taken]
        if not preds:
            raise UsageError(
                f"--label-cols {label_spec!r} selects every column of {source.name}, leaving none for the "
                "predictions; select them with --pred-cols"
            )
        pred_name = f"{source.name}[all but {label_spec}]"
    else:
        preds = resolve(pred_spec, source.column_names, width, source.name, "--pred-cols")
        pred_name = f"{source.name}[{pred_spec}]"
    both = sorted(set(preds) & set(labels))
    if both:
        raise UsageError(
            f"column {_label(source.column_names, both[0])} of {source.name} is selected by both --pred-cols and --label-cols; "
            "predictions and labels must be different columns"
        )
    union = sorted(preds + labels)
    position = {c: i for i, c in enumerate(union)}
    base = _sliced(source, union)
    twins = _Twins(base)

    def view(number: int, indices: list[int], name: str) -> Source:
        positions = [position[i] for i in indices]
        names = None if source.column_names is None else tuple(source.column_names[i] for i in indices)

        def chunks(rows: int) -> Iterator[np.ndarray]:
            for chunk in twins.stream(number, rows):
                yield chunk[:, positions]

        return Source(
            name,
            chunks,
            source.dtype,
            column_names=names,
            width=len(indices),
            files=source.files,
            shard_of=base.shard_of,  # the rows are counted by the pass over ``base``
        )

    return view(0, preds, pred_name), view(1, labels, f"{source.name}[{label_spec}]")
