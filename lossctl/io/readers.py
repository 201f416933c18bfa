"""Readers: one :class:`Source` per input file, yielding 2-D chunks of rows."""

from __future__ import annotations

import io
import os
import stat
import sys

import numpy as np

from ..errors import InputError
from ..errors import name as shown_name
from .source import CHUNK_BYTES, DEFAULT_CHUNK_ROWS, MAX_ROW_BYTES, Source, out_of_memory, rows_per_chunk, split_key

__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_CHUNK_ROWS",
    "MAX_ROW_BYTES",
    "Source",
    "open_source",
    "out_of_memory",
    "read_array",
    "rows_per_chunk",
]


def open_source(spec: str, *, stdin: io.TextIOBase | None = None) -> Source:
    """Open ``spec``: a path, ``path.npz:key``, a glob or ``@list.txt`` of files, or ``-`` for CSV on stdin."""
    if spec == "-":
        from .text import stdin_source

        stream = stdin if stdin is not None else sys.stdin
        if stream is None or getattr(stream, "closed", False):
            raise InputError(
                "standard input is closed; pipe CSV into lossctl (… | lossctl mse - labels.csv) or give a file"
            )
        return stdin_source(stream)
    from .shards import is_shards, shards_source

    if is_shards(spec):
        return shards_source(spec, open_file)
    return open_file(spec)


def open_file(spec: str) -> Source:
    """Open one file: ``path`` or ``path.EXT:key``, by its extension (pickles are refused by content too)."""
    path, key = split_key(spec)
    from .remote import is_url, local_path

    if is_url(path) and local_path(path) is None:
        return _open_url(path, key)
    path = local_path(path) or path
    name = shown_name(os.path.basename(path) if os.path.dirname(path) == "" else path)
    try:
        return _open_path(path, key, name)
    except MemoryError:
        raise out_of_memory(name) from None


def _open_url(url: str, key: str | None) -> Source:
    """Open an fsspec URL (``s3://bucket/p.npy``): read in ranges through fsspec, storage errors as one line."""
    from .remote import display, guarded, locate, storage_errors

    name = display(url)
    try:
        with storage_errors(url, name):
            return guarded(_dispatch(locate(url), key, name, regular=True), url)
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
    from .binary import OPENERS  # .npy/.npz/.parquet
    from .formats import OPENERS as FORMAT_OPENERS  # .safetensors, .arrow, .jsonl, .h5; pickles
    from .formats import PICKLE_SUFFIXES

    suffix = os.path.splitext(path)[1].lower()
    if suffix in (*OPENERS, *FORMAT_OPENERS, *PICKLE_SUFFIXES) and not regular:
        # never seek in, reopen or search (zipfile) an endless or one-shot stream
        raise InputError(
            f"{name} is {_kind_of(mode)}, not a regular file; binary inputs are read from regular files: "
            "copy the data to a file first (pipes work for CSV text)"
        )
    return _dispatch(path, key, name, regular=regular)


def _dispatch(path: str, key: str | None, name: str, *, regular: bool) -> Source:
    """Open ``path`` (a local path, or a :class:`~lossctl.io.remote.Remote` URL) by its extension."""
    from .binary import OPENERS
    from .formats import OPENERS as FORMAT_OPENERS  # .safetensors, .arrow, .jsonl, .h5; pickles
    from .formats import refuse_pickle
    from .remote import url_path

    plain = url_path(path)  # a URL's query string is not part of its name
    suffix = os.path.splitext(plain)[1].lower()
    if regular:
        refuse_pickle(path, name)
    if suffix in FORMAT_OPENERS:
        return FORMAT_OPENERS[suffix](path, key, name)
    if suffix in OPENERS:
        return OPENERS[suffix](path, key, name)
    from .text import is_text, text_source  # .csv/.tsv/.txt, optionally .gz

    if is_text(plain):
        return text_source(path, name, regular=regular)
    ext = os.path.splitext(plain)[1]
    what = f"an unknown file type ({shown_name(ext)})" if ext else "no file extension"
    raise InputError(
        f"{name} has {what}; name it .csv, .tsv or .txt (optionally .gz), .npy, .npz, .parquet, "
        ".safetensors, .arrow/.feather, .jsonl or .h5 (or use - for CSV on stdin)"
    )


def read_array(spec: str) -> np.ndarray:
    """Read a whole input as a 2-D array (for the Python API and tests)."""
    src = open_source(spec)
    parts = list(src.chunks(DEFAULT_CHUNK_ROWS))
    return np.concatenate(parts) if parts else np.empty((0, 0))
