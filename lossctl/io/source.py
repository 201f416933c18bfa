"""One input file as a :class:`Source` of 2-D chunks of rows (a leaf module: the readers build Sources)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

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

    def chunks(self, rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[np.ndarray]:
        return self._chunks(rows)

    def columns(self) -> int:
        """The number of columns: ``width``, else from the first chunk (0 for an empty input)."""
        if self.width is not None:
            return self.width
        first = next(iter(self.chunks(1024)), None)
        return 0 if first is None else first.shape[1]
