"""One input file as a :class:`Source` of 2-D chunks of rows (a leaf module: the readers build Sources)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_CHUNK_ROWS = 65536

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
