"""One input file as a :class:`Source` of 2-D chunks of rows (a leaf module: the readers build Sources)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import InputError

DEFAULT_CHUNK_ROWS = 65536
#: the most memory one chunk of rows may take (as float64); wide rows make chunks of fewer rows
CHUNK_BYTES = 64 << 20
#: the largest row (one sample, as float64) read; lossctl reads whole rows, so a bigger one is refused
MAX_ROW_BYTES = 64 << 20


def rows_per_chunk(rows: int, width: int | None) -> int:
    """``rows``, lowered so that a chunk of ``width`` float64 values per row stays within :data:`CHUNK_BYTES`."""
    return max(1, min(int(rows), CHUNK_BYTES // (8 * max(1, width or 1))))


def out_of_memory(name: str) -> InputError:
    """The error for a MemoryError while reading ``name``: an ordinary condition with a fix, not a bug."""
    return InputError(
        f"ran out of memory while reading {name}; give a smaller --chunk-rows, raise the memory limit, "
        "or split the input into smaller files"
    )


def _guarded(chunks: Iterator[np.ndarray], name: str) -> Iterator[np.ndarray]:
    try:
        yield from chunks
    except MemoryError:
        raise out_of_memory(name) from None


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
    #: the number of rows when known without reading them (a .npy header; shards that all know theirs)
    length: int | None = None
    #: ``rows(start, stop, chunk_rows)``: chunks of the rows [start, stop) only, reading no file before them
    rows: Callable[[int, int, int], Iterator[np.ndarray]] | None = None
    #: whether ``rows`` seeks to any row (a .npy file); False: it reads only from a file's start (shards)
    seekable: bool = False
    #: for several files: the global row where each file starts (when every file knows its length)
    starts: tuple[int, ...] | None = None

    def chunks(self, rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[np.ndarray]:
        return _guarded(self._chunks(rows), self.name)

    def slice(self, start: int, stop: int) -> Source:
        """This input restricted to the rows [start, stop): seeks when it can, else skips what precedes."""
        whole = self

        def chunks(rows: int) -> Iterator[np.ndarray]:
            if whole.rows is not None:
                yield from whole.rows(start, stop, rows)
            else:
                yield from skip_rows(whole.chunks(rows), start, stop)

        return replace(self, _chunks=chunks, length=stop - start, rows=None, seekable=False, starts=None)

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


def skip_rows(chunks: Iterator[np.ndarray], start: int, stop: int) -> Iterator[np.ndarray]:
    """The rows [start, stop) of a stream of row chunks (reading, and dropping, the rows before ``start``)."""
    at = 0
    for chunk in chunks:
        end = at + len(chunk)
        if end > start:
            yield chunk[max(0, start - at) : stop - at]
        at = end
        if at >= stop:
            return
