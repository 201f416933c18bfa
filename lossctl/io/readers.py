"""Readers: one :class:`Source` per input file, yielding 2-D chunks of rows."""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..errors import name as shown_name

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
        return _guarded(self._chunks(rows), self.name)

    def columns(self) -> int:
        """The number of columns: ``width``, else from the first chunk (0 for an empty input)."""
        if self.width is not None:
            return self.width
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


def open_source(spec: str, *, stdin: io.TextIOBase | None = None) -> Source:
    """Open ``spec``: a path, ``path.npz:key``, or ``-`` for CSV on standard input."""
    if spec == "-":
        from .text import stdin_source

        stream = stdin if stdin is not None else sys.stdin
        if stream is None or getattr(stream, "closed", False):
            raise InputError(
                "standard input is closed; pipe CSV into lossctl (… | lossctl mse - labels.csv) or give a file"
            )
        return stdin_source(stream)
    path, key = spec, None
    if ".npz:" in spec:
        path, key = spec.rsplit(":", 1)
    name = shown_name(os.path.basename(path) if os.path.dirname(path) == "" else path)
    try:
        return _open_path(path, key, name)
    except MemoryError:
        raise out_of_memory(name) from None


def _file_kind(path: str, name: str) -> int:
    """``st_mode`` of ``path``; a missing file and one that cannot be reached get different messages."""
    try:
        return os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{name} does not exist; check the path") from None
    except OSError as e:
        raise InputError(f"{name} cannot be read ({e.strerror or e}); check its permissions and the path") from None


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _open_path(path: str, key: str | None, name: str) -> Source:
    mode = _file_kind(path, name)
    if stat.S_ISDIR(mode):
        raise InputError(f"{name} is a directory; give a file of predictions or labels")
    regular = stat.S_ISREG(mode)
    if regular:  # a file that exists but cannot be opened is not "missing": say why
        try:
            open(path, "rb").close()
        except OSError as e:
            raise InputError(f"{name} exists but cannot be read ({e.strerror or e}); check its permissions") from None
    from .binary import OPENERS, open_binary  # .npy/.npz/.parquet; binary imports Source from here

    if os.path.splitext(path)[1].lower() in OPENERS:
        if not regular:  # never seek in, reopen or search (zipfile) an endless or one-shot stream
            raise InputError(
                f"{name} is {_kind_of(mode)}, not a regular file; .npy, .npz and .parquet inputs are read "
                "from regular files: copy the data to a file first (pipes work for CSV text)"
            )
        return open_binary(path, key, name)  # type: ignore[return-value]
    from .text import is_text, text_source  # .csv/.tsv/.txt, optionally .gz

    if is_text(path):
        return text_source(path, name, regular=regular)
    ext = os.path.splitext(path)[1]
    what = f"an unknown file type ({shown_name(ext)})" if ext else "no file extension"
    raise InputError(
        f"{name} has {what}; name it .csv, .tsv or .txt (optionally .gz), .npy, .npz or .parquet "
        "(or use - for CSV on stdin)"
    )


def read_array(spec: str) -> np.ndarray:
    """Read a whole input as a 2-D array (for the Python API and tests)."""
    src = open_source(spec)
    parts = list(src.chunks(DEFAULT_CHUNK_ROWS))
    return np.concatenate(parts) if parts else np.empty((0, 0))
