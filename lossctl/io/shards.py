"""Several files read as one array: a glob (``'preds/part-*.npy'``) or ``@list.txt``.

The files are concatenated by rows in natural sort order (``part-2`` before
``part-10``), for a glob and for a list alike, so that predictions and labels
split into differently numbered shards still line up. A list file holds one
path per line; relative paths are relative to the list file; blank lines and
lines starting with ``#`` are ignored. ``path.npz:key`` (and the other keyed
formats) work in both: the key applies to every file.

Every shard must have the same format and the same columns; each is opened
(header only) before any row is read, so a bad shard fails fast, and opened
again when its rows are reached, so only one file is open at a time. Rows are
numbered across the concatenation: :attr:`Source.shard_of` maps a global row
back to the file that holds it.
"""

from __future__ import annotations

import bisect
import glob
import os
import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..errors import InputError
from .remote import is_url, url_path
from .source import Source, split_key

_GLOB_CHARS = frozenset("*?[")
_LISTED = 5

#: extension -> format family; shards of one side must share a family
_FAMILY = {
    ".csv": "CSV/TSV text",
    ".tsv": "CSV/TSV text",
    ".txt": "CSV/TSV text",
    ".npy": ".npy",
    ".npz": ".npz",
    ".parquet": ".parquet",
    ".safetensors": ".safetensors",
    ".arrow": "Arrow IPC",
    ".feather": "Arrow IPC",
    ".jsonl": "JSON lines",
    ".ndjson": "JSON lines",
    ".h5": "HDF5",
    ".hdf5": "HDF5",
}


def is_shards(spec: str) -> bool:
    """Whether ``spec`` names several files: ``@list.txt``, or a glob that is not itself an existing path."""
    if spec.startswith("@"):
        return True
    path = split_key(spec)[0]
    if is_url(path):  # a glob over objects: * and [...] in the path (? starts an https query string)
        return bool(_GLOB_CHARS & set(url_path(path)))
    return bool(_GLOB_CHARS & set(path)) and not os.path.exists(path)


def natural_key(path: str) -> list:
    """Sort key that orders digit runs by value: ``part-2`` before ``part-10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _glob(pattern: str, shown: str) -> list[str]:
    path, key = split_key(pattern)
    if is_url(path):
        from .remote import glob as remote_glob

        found = remote_glob(path)
    else:
        found = [p for p in glob.glob(path, recursive=True) if not os.path.isdir(p)]
    if not found:
        raise InputError(
            f"no file matches {shown}; check the pattern (quote it, e.g. 'preds/part-*.npy', "
            "so that lossctl expands it rather than the shell)"
        )
    return [p if key is None else f"{p}:{key}" for p in found]


def _listed(spec: str) -> list[str]:
    """The paths in the list file ``spec`` (``@list.txt``), relative ones made relative to the list's folder."""
    listing = spec[1:]
    if not listing:
        raise InputError("@ needs a list file after it: @files.txt, with one path per line")
    try:
        with open(listing, encoding="utf-8-sig") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise InputError(f"list file {listing} does not exist; check the path after @") from None
    except IsADirectoryError:
        raise InputError(f"list file {listing} is a directory; give a text file with one path per line") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"list file {listing} cannot be read as UTF-8 text ({e}); one path per line") from None
    base = os.path.dirname(listing)
    paths: list[str] = []
    for line in lines:
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        entry = entry if os.path.isabs(entry) or is_url(entry) else os.path.join(base, entry)
        paths.extend(_glob(entry, entry) if is_shards(entry) else [entry])
    if not paths:
        raise InputError(f"list file {listing} lists no files; write one path per line (# starts a comment)")
    return paths


def expand(spec: str) -> list[str]:
    """The files ``spec`` (a glob or ``@list.txt``) names, in natural sort order; a file named twice is refused."""
    paths = _listed(spec) if spec.startswith("@") else _glob(spec, spec)
    paths.sort(key=natural_key)
    seen: set[str] = set()
    for p in paths:
        path = split_key(p)[0]
        real = (path if is_url(path) else os.path.realpath(path)) + ":" + str(split_key(p)[1])
        if real in seen:
            raise InputError(f"{spec} names {p} twice; each file's rows would be counted twice: list it once")
        seen.add(real)
    return paths


def family(spec: str) -> str:
    path = split_key(spec)[0].lower()
    if path.endswith(".gz"):
        path = path[:-3]
    ext = os.path.splitext(path)[1]
    return _FAMILY.get(ext, ext or "no extension")


def _display(spec: str) -> str:
    path, key = split_key(spec)
    name = os.path.basename(path) if os.path.dirname(path) == "" else path
    return name if key is None else f"{name}:{key}"


def _check_alike(first: tuple[str, Source], spec: str, src: Source, name: str) -> None:
    """Refuse a shard whose format, width or column names differ from the first shard's."""
    first_spec, head = first
    if family(spec) != family(first_spec):
        raise InputError(
            f"{name} mixes file formats: {_display(first_spec)} is {family(first_spec)} but {_display(spec)} is "
            f"{family(spec)}; give the shards of one side in one format"
        )
    width, k = head.columns(), src.columns()
    if k != width:
        raise InputError(
            f"{src.name} has {k} columns but {head.name} has {width}; every file of {name} needs the same "
            "columns (the files are one array, concatenated by rows)"
        )
    if head.column_names != src.column_names:
        theirs = ", ".join(src.column_names or ("(no names)",))
        ours = ", ".join(head.column_names or ("(no names)",))
        raise InputError(
            f"{src.name} has columns ({theirs[:80]}) but {head.name} has ({ours[:80]}); every file of "
            f"{name} needs the same columns in the same order"
        )


def _dtype(kinds: set[str]) -> str:
    if len(kinds) == 1:
        return next(iter(kinds))
    try:
        return np.result_type(*(np.dtype(k) for k in kinds)).name
    except TypeError:  # a dtype numpy does not know (bfloat16)
        return "float64"


class _Chain:
    """The shards of one side, opened again one at a time when their rows are reached."""

    def __init__(
        self, name: str, specs: list[str], opener: Callable[[str], Source], heads: list[Source] | None = None
    ) -> None:
        self.name, self.specs, self.opener = name, specs, opener
        self.starts: list[int] = []  # global row where each shard reached so far starts
        self.names: list[str] = []
        #: every shard's length, when each header gave it: then rows can be read by range
        self.lengths: list[int] | None = None
        self.seekable = False
        if heads and all(h.length is not None for h in heads):
            self.lengths = [int(h.length) for h in heads]  # type: ignore[arg-type]
            self.starts = [sum(self.lengths[:i]) for i in range(len(heads))]
            self.names = [h.name for h in heads]
            self.seekable = all(h.seekable for h in heads)

    def row_range(self, start: int, stop: int, rows: int) -> Iterator[np.ndarray]:
        """The global rows [start, stop): only the files holding them are opened; each seeks when it can."""
        from .source import skip_rows

        assert self.lengths is not None
        for spec, first, length in zip(self.specs, self.starts, self.lengths, strict=True):
            a, b = max(start, first) - first, min(stop, first + length) - first
            if a >= b:
                continue
            src = self.opener(spec)
            if src.rows is not None:
                yield from src.rows(a, b, rows)
            else:
                yield from skip_rows(src.chunks(rows), a, b)

    def chunks(self, rows: int) -> Iterator[np.ndarray]:
        start = 0
        for i, spec in enumerate(self.specs):
            src = self.opener(spec)
            if i == len(self.starts):
                self.starts.append(start)
                self.names.append(src.name)
            for chunk in src.chunks(rows):
                start += len(chunk)
                yield chunk

    def shard_of(self, row: int) -> tuple[str, int]:
        i = max(0, bisect.bisect_right(self.starts, row) - 1)
        return self.names[i], row - self.starts[i]

    def source(self, first: Source, dtype: str) -> Source:
        def project(indices: Sequence[int]) -> Source:
            from .columns import _sliced

            picked = list(indices)
            chain = _Chain(self.name, self.specs, lambda spec: _sliced(self.opener(spec), picked))
            chain.lengths, chain.starts, chain.names = self.lengths, self.starts, self.names
            chain.seekable = self.seekable
            return chain.source(_sliced(first, picked), dtype)

        known = self.lengths is not None
        return Source(
            self.name,
            self.chunks,
            dtype,
            column_names=first.column_names,
            width=first.columns(),
            project=project,
            files=len(self.specs),
            shard_of=self.shard_of,
            length=sum(self.lengths) if known else None,  # type: ignore[arg-type]
            rows=self.row_range if known else None,
            seekable=self.seekable,
            starts=tuple(self.starts) if known else None,
        )


def shards_source(spec: str, open_file: Callable[[str], Source]) -> Source:
    """One :class:`Source` over the files ``spec`` names (see the module docstring)."""
    specs = expand(spec)
    if len(specs) == 1:
        return open_file(specs[0])
    first = (specs[0], open_file(specs[0]))
    kinds = {first[1].dtype}
    heads = [first[1]]
    for other in specs[1:]:  # headers only, one at a time: fail on a bad shard before reading rows
        src = open_file(other)
        _check_alike(first, other, src, spec)
        kinds.add(src.dtype)
        heads.append(src)
    return _Chain(spec, specs, open_file, heads).source(first[1], _dtype(kinds))


__all__ = ["expand", "is_shards", "natural_key", "shards_source"]
