"""Readers: one :class:`Source` per input file, yielding 2-D chunks of rows."""

from __future__ import annotations

import io
import os
import sys

import numpy as np

from ..errors import InputError
from .source import DEFAULT_CHUNK_ROWS, Source, split_key

__all__ = ["DEFAULT_CHUNK_ROWS", "Source", "open_source", "read_array"]


def open_source(spec: str, *, stdin: io.TextIOBase | None = None) -> Source:
    """Open ``spec``: a path, ``path.npz:key``, a glob or ``@list.txt`` of files, or ``-`` for CSV on stdin."""
    if spec == "-":
        from .text import stdin_source

        return stdin_source(stdin if stdin is not None else sys.stdin)
    from .shards import is_shards, shards_source

    if is_shards(spec):
        return shards_source(spec, open_file)
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
