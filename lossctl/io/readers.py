"""Readers: one :class:`Source` per input file, yielding 2-D chunks of rows."""

from __future__ import annotations

import io
import os
import sys

import numpy as np

from ..errors import InputError
from .source import DEFAULT_CHUNK_ROWS, Source

__all__ = ["DEFAULT_CHUNK_ROWS", "Source", "open_source", "read_array"]


def open_source(spec: str, *, stdin: io.TextIOBase | None = None) -> Source:
    """Open ``spec``: a path, ``path.npz:key``, or ``-`` for CSV on standard input."""
    if spec == "-":
        from .text import stdin_source

        return stdin_source(stdin if stdin is not None else sys.stdin)
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
    from .text import is_text, text_source  # .csv/.tsv/.txt, optionally .gz

    if is_text(path):
        return text_source(path, name)
    ext = os.path.splitext(path)[1]
    what = f"an unknown file type ({ext})" if ext else "no file extension"
    raise InputError(
        f"{name} has {what}; name it .csv, .tsv or .txt (optionally .gz), .npy, .npz or .parquet "
        "(or use - for CSV on stdin)"
    )


def read_array(spec: str) -> np.ndarray:
    """Read a whole input as a 2-D array (for the Python API and tests)."""
    src = open_source(spec)
    parts = list(src.chunks(DEFAULT_CHUNK_ROWS))
    return np.concatenate(parts) if parts else np.empty((0, 0))
