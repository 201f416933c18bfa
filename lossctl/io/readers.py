"""Readers: one :class:`Source` per input file, yielding 2-D chunks of rows."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

DEFAULT_CHUNK_ROWS = 65536


@dataclass
class Source:
    """One input: a display name and a way to iterate over 2-D chunks of rows."""

    name: str
    _chunks: Callable[[int], Iterator[np.ndarray]]
    dtype: str = "float64"
    #: column names where the file has them (parquet, a CSV header), for column selection; None otherwise
    column_names: tuple[str, ...] | None = None
    #: the number of columns when known without reading rows
    width: int | None = None
    #: a cheaper Source reading only the given 0-based columns (text files parse only those); None: slice chunks
    project: Callable[[Sequence[int]], Source] | None = None
    #: how many files are read as this one array (a glob or @list: see :mod:`lossctl.io.shards`)
    files: int = 1
    #: for several files: 0-based global row -> (the file holding it, its 0-based row there); None for one file
    shard_of: Callable[[int], tuple[str, int]] | None = None

    def chunks(self, rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[np.ndarray]:
        return self._chunks(rows)

    def columns(self) -> int:
        """The number of columns: ``width``, else from the first chunk (0 for an empty input)."""
        if self.width is not None:
            return self.width
        first = next(iter(self.chunks(1024)), None)
        return 0 if first is None else first.shape[1]

    def row(self, index: int) -> str:
        """``NAME row R`` for the 0-based row ``index`` of the whole input; with several files, also which holds it."""
        where = f"{self.name} row {index + 1}"
        if self.shard_of is not None:
            shard, local = self.shard_of(index)
            where += f" ({shard} row {local + 1})"
        return where


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


#: extensions whose files hold several arrays, one picked as ``path.EXT:key``
KEYED_SUFFIXES = (".npz", ".safetensors", ".h5", ".hdf5")


def split_key(spec: str) -> tuple[str, str | None]:
    """``path.npz:key`` -> (``path.npz``, ``key``); any other spec -> (spec, None)."""
    lower = spec.lower()
    for suffix in KEYED_SUFFIXES:
        at = lower.rfind(suffix + ":")
        if at >= 0:
            return spec[: at + len(suffix)], spec[at + len(suffix) + 1 :]
    return spec, None


def open_source(spec: str, *, stdin: io.TextIOBase | None = None) -> Source:
    """Open ``spec``: a path, ``path.npz:key``, a glob or ``@list.txt`` of files, or ``-`` for CSV on stdin."""
    if spec == "-":
        from .text import stdin_source

        return stdin_source(stdin if stdin is not None else sys.stdin)
    from .shards import is_shards, shards_source  # shards imports Source from here

    if is_shards(spec):
        return shards_source(spec)
    return open_file(spec)


def open_file(spec: str) -> Source:
    """Open one file: ``path`` or ``path.EXT:key``, by its extension (pickles are refused by content too)."""
    path, key = split_key(spec)
    name = os.path.basename(path) if os.path.dirname(path) == "" else path
    if not os.path.exists(path):
        raise InputError(f"{name} does not exist; check the path")
    if os.path.isdir(path):
        raise InputError(f"{name} is a directory; give a file of predictions or labels")
    from .formats import open_format, refuse_pickle  # safetensors, arrow, jsonl, hdf5; pickles

    refuse_pickle(path, name)
    other = open_format(path, key, name)
    if other is not None:
        return other
    from .binary import open_binary  # .npy/.npz/.parquet; binary imports Source from here

    binary = open_binary(path, key, name)
    if binary is not None:
        return binary
    from .text import is_text, text_source  # .csv/.tsv/.txt, optionally .gz

    if is_text(path):
        return text_source(path, name)
    ext = os.path.splitext(path)[1]
    what = f"an unknown file type ({ext})" if ext else "no file extension"
    raise InputError(
        f"{name} has {what}; name it .csv, .tsv or .txt (optionally .gz), .npy, .npz, .parquet, "
        ".safetensors, .arrow/.feather, .jsonl or .h5 (or use - for CSV on stdin)"
    )


def read_array(spec: str) -> np.ndarray:
    """Read a whole input as a 2-D array (for the Python API and tests)."""
    src = open_source(spec)
    parts = list(src.chunks(DEFAULT_CHUNK_ROWS))
    return np.concatenate(parts) if parts else np.empty((0, 0))
