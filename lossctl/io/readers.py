"""Readers: one :class:`Source` per input file, yielding 2-D chunks of rows."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

DEFAULT_CHUNK_ROWS = 65536
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass
class Source:
    """One input: a display name and a way to iterate over 2-D chunks of rows."""

    name: str
    _chunks: Callable[[int], Iterator[np.ndarray]]
    dtype: str = "float64"
    #: column names where the file has them (parquet), for column selection; None otherwise
    column_names: tuple[str, ...] | None = None

    def chunks(self, rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[np.ndarray]:
        return self._chunks(rows)

    def columns(self) -> int:
        """The number of columns, from the first chunk (0 for an empty input)."""
        first = next(iter(self.chunks(1024)), None)
        return 0 if first is None else first.shape[1]


def _as_2d(a: np.ndarray, name: str) -> np.ndarray:
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(-1, 1)
    if a.ndim > 2:
        raise InputError(
            f"{name} is {a.ndim}-D with shape {a.shape}; lossctl reads 2-D arrays (rows are samples, "
            "columns are outputs): reshape it to (N, K) first"
        )
    return a


def _check_numeric(a: np.ndarray, name: str) -> None:
    if a.dtype == object:
        raise InputError(
            f"{name} holds Python objects; lossctl never unpickles input (that can run arbitrary code): "
            "save a numeric array instead"
        )
    if a.dtype.kind not in "biuf":
        raise InputError(f"{name} has dtype {a.dtype}; lossctl needs a numeric (integer, float or bool) array")


def _array_source(arr: np.ndarray, name: str) -> Source:
    _check_numeric(arr, name)
    arr = _as_2d(arr, name)

    def chunks(rows: int) -> Iterator[np.ndarray]:
        for start in range(0, arr.shape[0], rows):
            yield np.asarray(arr[start : start + rows])

    return Source(name, chunks, str(arr.dtype))


def _parse_text(text: str, name: str) -> np.ndarray:
    """Parse delimited text into a 2-D float64 array (header row skipped)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"{name} is empty; it needs one row per sample")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",\t; ")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(lines, delimiter=delimiter, skipinitialspace=True))
    start = 0
    try:
        [float(x) for x in rows[0]]
    except ValueError:
        start = 1  # a header row
    if start >= len(rows):
        raise InputError(f"{name} has a header row but no data rows")
    width = len(rows[start])
    out = np.empty((len(rows) - start, width))
    for i, row in enumerate(rows[start:], start=start):
        if len(row) != width:
            raise InputError(
                f"{name} line {i + 1} has {len(row)} columns but earlier rows have {width}; "
                "every row needs the same number of values"
            )
        for j, cell in enumerate(row):
            try:
                out[i - start, j] = float(cell)
            except ValueError:
                raise InputError(f"{name} line {i + 1} column {j + 1} is not a number: {cell.strip()!r}") from None
    return out


def _text_source(read: Callable[[], str], name: str) -> Source:
    arr = _parse_text(read(), name)
    return _array_source(arr, name)


def _read_path_text(path: str, name: str) -> str:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return f.read()
    except UnicodeDecodeError:
        raise InputError(f"{name} is not UTF-8 text; save it as UTF-8 CSV") from None


def open_source(spec: str, *, stdin: io.TextIOBase | None = None) -> Source:
    """Open ``spec``: a path, ``path.npz:key``, or ``-`` for CSV on standard input."""
    if spec == "-":
        stream = stdin if stdin is not None else sys.stdin
        return _text_source(stream.read, "<stdin>")
    path, key = spec, None
    if ".npz:" in spec:
        path, key = spec.rsplit(":", 1)
    name = os.path.basename(path) if os.path.dirname(path) == "" else path
    if not os.path.exists(path):
        raise InputError(f"{name} does not exist; check the path")
    if os.path.isdir(path):
        raise InputError(f"{name} is a directory; give a file of predictions or labels")
    from .binary import open_binary  # .npy/.npz/.parquet; binary imports Source from here

    binary = open_binary(path, key, name)
    if binary is not None:
        return binary
    lower = path.lower()
    if lower.endswith(TEXT_SUFFIXES):
        return _text_source(lambda: _read_path_text(path, name), name)
    raise InputError(f"{name}: unknown file type; use .csv, .tsv, .txt, .npy, .npz or .parquet (or - for CSV on stdin)")


def read_array(spec: str) -> np.ndarray:
    """Read a whole input as a 2-D array (for the Python API and tests)."""
    src = open_source(spec)
    parts = list(src.chunks(DEFAULT_CHUNK_ROWS))
    return np.concatenate(parts) if parts else np.empty((0, 0))
