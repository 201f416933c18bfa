"""JSON lines (``.jsonl``, ``.ndjson``): one JSON object per line, one sample per line, streamed.

The first non-blank line fixes the columns, like a CSV header: each key holding
a number (or ``true``/``false``, or ``null``, read as NaN) is one column named
by the key; a key holding an array of numbers is one column per element, named
``key[0]``, ``key[1]``, ... (selecting ``key`` selects them all). A line may
also be a bare array of numbers (then columns have no names). Keys holding
anything else (ids, file names) are columns too but are refused if selected,
so column selection can leave them behind. Keys a later line adds are ignored;
a selected key missing from a line, a value that is not a number, or a line
that is not JSON is an error naming the line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .remote import open_rb
from .source import Source

_NUMBER = (int, float, bool)


@dataclass(frozen=True)
class Column:
    name: str | None
    key: str | None  # None: the line is a bare array
    index: int | None  # position in the array under ``key`` (or in a bare array); None: a scalar
    numeric: bool
    first_line: int


def _parse(raw: bytes, line: int, name: str):
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        where = f" ({e.msg} at column {e.colno})" if isinstance(e, json.JSONDecodeError) else " (not UTF-8)"
        raise InputError(
            f"{name} line {line} is not valid JSON{where}; each line needs one JSON object, e.g. "
            '{"y_pred": 0.7, "y_true": 1}'
        ) from None


def _lines(path: str, name: str) -> Iterator[tuple[int, object]]:
    """(1-based line number, parsed value) for every non-blank line."""
    try:
        f = open_rb(path)  # noqa: SIM115 - closed by the with below, also when the consumer stops early
    except OSError as e:
        raise InputError(f"{name} cannot be opened ({e.strerror}); check its permissions") from None
    with f:
        for number, raw in enumerate(f, 1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if raw.strip():
                yield number, _parse(raw, number, name)


def _layout(first: object, line: int, name: str) -> list[Column]:
    if isinstance(first, list):
        if not first or not all(type(v) in _NUMBER or v is None for v in first):
            raise InputError(f"{name} line {line} is an array but not of numbers; each line needs numbers")
        return [Column(None, None, j, True, line) for j in range(len(first))]
    if not isinstance(first, dict):
        raise InputError(
            f"{name} line {line} is a JSON {type(first).__name__}, not an object; write one object per line, "
            'e.g. {"y_pred": 0.7, "y_true": 1}'
        )
    columns: list[Column] = []
    for key, value in first.items():
        if isinstance(value, list) and value and all(type(v) in _NUMBER or v is None for v in value):
            columns.extend(Column(f"{key}[{j}]", key, j, True, line) for j in range(len(value)))
        else:
            columns.append(Column(key, key, None, type(value) in _NUMBER or value is None, line))
    if not columns:
        raise InputError(f"{name} line {line} is an empty object; it needs one key per output")
    return columns


def _value(obj: object, col: Column, line: int, name: str) -> float:
    if col.key is None:
        if not isinstance(obj, list) or len(obj) <= col.index:  # type: ignore[operator]
            raise InputError(
                f"{name} line {line} is not an array of {col.index + 1}+ numbers like line {col.first_line}"
            )
        value = obj[col.index]  # type: ignore[index]
    else:
        if not isinstance(obj, dict) or col.key not in obj:
            raise InputError(
                f"{name} line {line} has no key {col.key!r} (line {col.first_line} has it); every line needs the "
                "keys the first line has"
            )
        value = obj[col.key]
        if col.index is not None:
            if not isinstance(value, list) or len(value) <= col.index:
                raise InputError(
                    f"{name} line {line} key {col.key!r} is not an array of {col.index + 1}+ numbers like line "
                    f"{col.first_line}; every line needs the same shape"
                )
            value = value[col.index]
    if value is None:
        return math.nan
    if type(value) not in _NUMBER:
        label = col.name if col.name is not None else f"column {col.index + 1}"  # type: ignore[operator]
        raise InputError(
            f"{name} line {line} {label!r} is {json.dumps(value)[:40]}, not a number; lossctl needs numbers "
            "(select the numeric keys with --pred-cols/--label-cols)"
        )
    try:
        return float(value)
    except OverflowError:
        raise InputError(f"{name} line {line} has {str(value)[:40]}, which overflows float64") from None


def _lengths(columns: list[Column]) -> dict[str | None, int]:
    """The array length under each array key (None: a bare-array line), as the first line has it."""
    lengths: dict[str | None, int] = {}
    for col in columns:
        if col.index is not None:
            lengths[col.key] = lengths.get(col.key, 0) + 1
    return lengths


def _width_check(obj: object, lengths: dict[str | None, int], first_line: int, line: int, name: str) -> None:
    """A line whose arrays are longer than the first line's is ragged, not silently cut."""
    for key, expected in lengths.items():
        container = obj if key is None else (obj.get(key) if isinstance(obj, dict) else None)
        if isinstance(container, list) and len(container) != expected:
            what = "is an array that" if key is None else f"key {key!r}"
            raise InputError(
                f"{name} line {line} {what} has {len(container)} numbers but line {first_line} has "
                f"{expected}; every line needs the same shape"
            )


def _source(path: str, name: str, columns: list[Column], picked: Sequence[int]) -> Source:
    cols = [columns[i] for i in picked]
    names = None if columns[0].name is None else tuple(c.name for c in cols)
    lengths, first_line = _lengths(columns), columns[0].first_line

    def chunks(rows: int) -> Iterator[np.ndarray]:
        block: list[list[float]] = []
        for line, obj in _lines(path, name):
            _width_check(obj, lengths, first_line, line, name)
            block.append([_value(obj, c, line, name) for c in cols])
            if len(block) == rows:
                yield np.array(block, dtype=np.float64)
                block = []
        if block:
            yield np.array(block, dtype=np.float64)

    def project(indices: Sequence[int]) -> Source:
        return _source(path, name, columns, [picked[i] for i in indices])

    return Source(name, chunks, "float64", column_names=names, width=len(cols), project=project)


def jsonl_source(path: str, name: str) -> Source:
    """A JSON-lines file; its first line fixes the columns (see the module docstring)."""
    first = next(_lines(path, name), None)
    if first is None:
        raise InputError(f"{name} has no JSON lines (it is empty or blank); it needs one JSON object per sample")
    columns = _layout(first[1], first[0], name)
    return _source(path, name, columns, range(len(columns)))
