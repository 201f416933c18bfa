"""Binary inputs: ``.npy``, ``.npz`` and ``.parquet``, read in chunks of rows.

Nothing here loads a whole file. A ``.npy`` file is read a block of rows at a
time straight from disk after its header (Fortran-ordered files column by
column within each block); an ``.npz`` member is streamed through the zip
archive (a Fortran-ordered member is the one exception: it is read whole);
a ``.parquet`` file is read by record batches through pyarrow, which is
imported only when a parquet file is opened.

Nothing is ever unpickled: headers are checked before any data is read, and a
Python-object array, a pickle, or a file whose contents do not match its
extension is refused with an :class:`~lossctl.errors.InputError` that names
the file, says what was found and what to do.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np

from ..errors import InputError, cell, listing
from ..errors import name as shown_name
from .remote import file_or_path, open_rb, size_of
from .source import MAX_ROW_BYTES, Source, rows_per_chunk

NPY_MAGIC = b"\x93NUMPY"
#: the largest Fortran-ordered .npz member read whole (a compressed stream cannot seek between columns)
FORTRAN_MEMBER_BYTES = 64 << 20
_SNIFF_BYTES = 512

#: (leading bytes, what the file is, the extension it should have)
_SIGNATURES = (
    (NPY_MAGIC, "a .npy array", ".npy"),
    (b"PK\x03\x04", "a zip archive (.npz)", ".npz"),
    (b"PK\x05\x06", "an empty zip archive", ".npz"),
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"\x1f\x8b", "gzip-compressed data", ".gz"),
)


_WRITER = {".npy": "numpy.save", ".npz": "numpy.savez", ".parquet": "DataFrame.to_parquet"}


def _pickle_refusal(name: str) -> InputError:
    return InputError(
        f"{name} holds a Python pickle, not numbers; lossctl never unpickles input (unpickling can run "
        "arbitrary code): save a numeric array with numpy.save(path, arr.astype(float))"
    )


def _head(path: str) -> bytes:
    with open_rb(path) as f:
        return f.read(_SNIFF_BYTES)


def _looks_like(head: bytes) -> tuple[str, str | None]:
    """What ``head`` (a file's first bytes) looks like, and the extension that would fit it."""
    if not head:
        return "an empty file (0 bytes)", None
    for magic, what, ext in _SIGNATURES:
        if head.startswith(magic):
            return what, ext
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3:  # not just a character cut in two at the end of the sniffed bytes
            return "binary data of an unknown kind", None
        text = head[: e.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    if text.strip() and all(c.isprintable() or c in "\r\n\t" for c in text):
        return f"text (first line {text.strip().splitlines()[0][:40]!r})", ".csv"
    return "binary data of an unknown kind", None


def _wrong_content(path: str, name: str, expected: str, detail: str = "") -> InputError:
    """The error for a file that cannot be read as ``expected`` (``.npy``, ``.npz`` or ``.parquet``)."""
    head = _head(path)
    if head[:1] == b"\x80":  # pickle protocol 2+ opcode PROTO
        return _pickle_refusal(name)
    what, ext = _looks_like(head)
    if ext == expected:
        reason = f" ({detail.split('. ')[0].rstrip('.')})" if detail else ""
        return InputError(
            f"{name} is a truncated or corrupt {expected} file{reason}; write it again with {_WRITER[expected]}"
        )
    if not head:
        return InputError(f"{name} is an empty file (0 bytes); it needs one row per sample")
    fix = f"rename it to {ext}" if ext else f"give a real {expected} file"
    return InputError(f"{name} is not a {expected} file: it looks like {what}; {fix}")


def _check_dtype(dtype: np.dtype, name: str) -> None:
    """Refuse every dtype that is not a plain number (integer, unsigned, float or bool)."""
    if dtype.hasobject:
        raise InputError(
            f"{name} holds Python objects (dtype object); lossctl never unpickles input (unpickling can run "
            "arbitrary code): save a numeric array with numpy.save(path, arr.astype(float))"
        )
    if dtype.names is not None:
        fields = listing(dtype.names)
        raise InputError(
            f"{name} holds a structured (record) array with fields {fields}; save one plain 2-D numeric array "
            "instead, e.g. numpy.column_stack([arr[f] for f in arr.dtype.names])"
        )
    kind = dtype.kind
    if kind == "c":
        raise InputError(
            f"{name} holds complex numbers ({dtype.name}); losses need real numbers: save arr.real (or abs(arr))"
        )
    if kind in "US":
        raise InputError(
            f"{name} holds strings (dtype {dtype.str}); lossctl needs numbers: convert with arr.astype(float) "
            "(class names must be encoded as class indices first)"
        )
    if kind in "Mm":
        raise InputError(f"{name} holds dates or times (dtype {dtype}); lossctl needs numbers")
    if kind not in "biuf":
        raise InputError(f"{name} has dtype {dtype}; lossctl needs a numeric (integer, float or bool) array")


def _check_shape(shape: tuple[int, ...], name: str) -> tuple[int, int]:
    """The ``(N, K)`` an array of ``shape`` is read as: 1-D is ``(N, 1)``, a scalar is ``(1, 1)``."""
    if len(shape) > 2:
        raise InputError(
            f"{name} is {len(shape)}-D with shape {shape}; lossctl reads 2-D arrays (rows are samples, "
            "columns are outputs): reshape it to (N, K) first, e.g. arr.reshape(len(arr), -1)"
        )
    if any(d < 0 for d in shape):
        raise InputError(f"{name} has a corrupt header: shape {tuple(shape)} has a negative size")
    n, k = (1, 1) if len(shape) == 0 else (shape[0], 1) if len(shape) == 1 else shape
    if n == 0:
        raise InputError(f"{name} is empty (shape {tuple(shape)}): it has 0 rows; it needs one row per sample")
    if k == 0:
        raise InputError(f"{name} has shape {tuple(shape)}: 0 columns; it needs at least one value per sample")
    return int(n), int(k)


def _check_row_size(cols: int, dtype: np.dtype, name: str) -> None:
    """Refuse rows (samples) too big to hold: lossctl reads whole rows, so one row must fit in memory."""
    row_bytes = cols * max(8, dtype.itemsize)  # as float64
    if row_bytes > MAX_ROW_BYTES:
        raise InputError(
            f"{name} has {cols:,} values per row ({row_bytes / 2**20:,.0f} MB as float64); lossctl reads whole "
            f"rows (rows are samples) and refuses rows over {MAX_ROW_BYTES >> 20} MB: if rows are outputs, "
            "save the transposed array"
        )


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header says: the array's dtype, its shape read as ``(N, K)``, its order and size."""

    dtype: np.dtype
    shape: tuple[int, ...]
    rows: int
    cols: int
    fortran: bool
    #: bytes from the start of the ``.npy`` data to the first array element
    offset: int

    @property
    def nbytes(self) -> int:
        return self.rows * self.cols * self.dtype.itemsize


def read_npy_header(f: IO[bytes], name: str, path: str) -> NpyHeader:
    """Read and check the header at the start of ``f``; leaves ``f`` at the first data byte.

    Refuses object, structured, complex and string dtypes and 3-D or empty
    arrays before a byte of data is read; ``path`` is sniffed when the magic
    string is missing, to say what the file really is.
    """
    prefix = f.read(8)
    if not prefix.startswith(NPY_MAGIC):
        if path.lower().endswith(".npy"):
            raise _wrong_content(path, name, ".npy")
        raise InputError(f"{name} is not a .npy array (it starts with {prefix[:8]!r}); save it with numpy.savez")
    major = prefix[6]
    try:
        if major == 1:
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif major == 2:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        elif major == 3:
            raise InputError(
                f"{name} is a .npy version 3.0 file, which numpy writes only for structured arrays with "
                "non-Latin-1 field names; save one plain 2-D numeric array instead"
            )
        else:
            raise InputError(
                f"{name} has an unknown .npy format version {major}.{prefix[7]}; write it again with numpy.save"
            )
    except InputError:
        raise
    except Exception as e:  # ValueError, SyntaxError, TypeError, EOFError from a bad header
        if isinstance(e, EOFError) or str(e).startswith("EOF"):
            raise InputError(
                f"{name} is truncated: it ends inside its .npy header; write it again with numpy.save"
            ) from None
        raise InputError(
            f"{name} has a corrupt .npy header that does not parse; write it again with numpy.save"
        ) from None
    _check_dtype(dtype, name)
    rows, cols = _check_shape(shape, name)
    _check_row_size(cols, dtype, name)
    return NpyHeader(dtype, tuple(shape), rows, cols, bool(fortran), f.tell())


def _truncated(name: str, header: NpyHeader, available: int, fix: str) -> InputError:
    return InputError(
        f"{name} is truncated: its header promises shape {header.shape} of {header.dtype} "
        f"({header.nbytes} bytes of data) but only {available} bytes follow; {fix}"
    )


def _read_into(f: IO[bytes], buf: np.ndarray, name: str) -> np.ndarray:
    """Fill the contiguous uint8 array ``buf`` from ``f`` (no intermediate bytes object)."""
    view = memoryview(buf)
    got, nbytes = 0, len(buf)
    while got < nbytes:
        n = f.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            raise InputError(f"{name} ended after {got} of {nbytes} expected bytes; the file was cut short")
        got += n
    return buf


def _read_exact(f: IO[bytes], nbytes: int, name: str) -> np.ndarray:
    """``nbytes`` bytes from ``f`` in a fresh uint8 array."""
    return _read_into(f, np.empty(nbytes, dtype=np.uint8), name)


def _native(a: np.ndarray) -> np.ndarray:
    """``a`` in native byte order, swapping in place (``a`` is a fresh buffer we own)."""
    if a.dtype.isnative:
        return a
    return a.byteswap(inplace=True).view(a.dtype.newbyteorder("="))


def _c_blocks(
    f: IO[bytes], h: NpyHeader, rows: int, name: str, first: int = 0, stop: int | None = None
) -> Iterator[np.ndarray]:
    """Row blocks of the rows [first, stop) of a C-ordered array, read sequentially from ``f`` (at row ``first``)."""
    row_bytes = h.cols * h.dtype.itemsize
    rows = rows_per_chunk(rows, h.cols)
    stop = h.rows if stop is None else stop
    for start in range(first, stop, rows):
        m = min(rows, stop - start)
        yield _native(_read_exact(f, m * row_bytes, name).view(h.dtype).reshape(m, h.cols))


def _fortran_blocks(
    f: IO[bytes], h: NpyHeader, data_start: int, rows: int, name: str, first: int = 0, stop: int | None = None
) -> Iterator[np.ndarray]:
    """Row blocks of the rows [first, stop) of a Fortran-ordered array: each column's slice is contiguous on disk."""
    size = h.dtype.itemsize
    rows = rows_per_chunk(rows, h.cols)
    stop = h.rows if stop is None else stop
    for start in range(first, stop, rows):
        m = min(rows, stop - start)
        block = np.empty((h.cols, m), dtype=h.dtype)
        flat = block.reshape(-1).view(np.uint8)
        for j in range(h.cols):
            f.seek(data_start + (j * h.rows + start) * size)
            _read_into(f, flat[j * m * size : (j + 1) * m * size], name)
        yield _native(block).T  # (m, K), a Fortran-ordered view: no second copy of the block


def npy_source(path: str, name: str) -> Source:
    """A ``.npy`` file, read in blocks of rows straight from disk."""
    try:
        with open_rb(path) as f:
            header = read_npy_header(f, name, path)
            available = size_of(f) - header.offset
    except OSError as e:
        raise InputError(f"{name} cannot be read ({e.strerror or e}); check the file") from None
    if available < header.nbytes:
        raise _truncated(name, header, available, "the file was cut short: write it again with numpy.save")

    def row_range(start: int, stop: int, rows: int) -> Iterator[np.ndarray]:
        """The rows [start, stop), seeking straight to ``start`` (a worker's share of the file)."""
        start, stop = max(0, start), min(stop, header.rows)
        with open_rb(path) as f:
            if header.fortran and header.cols > 1:
                yield from _fortran_blocks(f, header, header.offset, rows, name, start, stop)
            else:
                f.seek(header.offset + start * header.cols * header.dtype.itemsize)
                yield from _c_blocks(f, header, rows, name, start, stop)

    def chunks(rows: int) -> Iterator[np.ndarray]:
        return row_range(0, header.rows, rows)

    return Source(name, chunks, header.dtype.name, width=header.cols, length=header.rows, rows=row_range, seekable=True)


def _npz_error(name: str, e: BaseException) -> InputError:
    return InputError(f"{name} is a corrupt .npz file ({e}); write it again with numpy.savez")


def _open_zip(path: str, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file_or_path(path))
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as e:
        raise _wrong_content(path, name, ".npz", str(e)) from None
    except OSError as e:
        raise InputError(f"{name} cannot be read ({e.strerror or e}); check the file") from None


def npz_source(path: str, key: str | None, name: str) -> Source:
    """One array of an ``.npz`` archive (``file.npz:key``, or its only array), streamed through the zip."""
    with _open_zip(path, name) as zf:
        members = {(m[:-4] if m.endswith(".npy") else m): m for m in zf.namelist() if not m.endswith("/")}
        keys = list(members)
        if key is None:
            if len(keys) != 1:
                listed = listing(keys) if keys else "none"
                example = f" (e.g. {name}:{shown_name(keys[0])})" if keys else ""
                raise InputError(f"{name} holds {len(keys)} arrays ({listed}); pick one as {name}:KEY{example}")
            key = keys[0]
        if key not in members:
            listed = listing(keys) if keys else "none"
            raise InputError(f"{name} has no array {cell(key)}; its arrays are: {listed} (pick one as {name}:KEY)")
        member = members[key]
        shown = f"{name}:{shown_name(key)}"
        info = zf.getinfo(member)
        try:
            with zf.open(member) as f:
                header = read_npy_header(f, shown, "")  # no path: a member is never sniffed as a file
        except InputError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
            raise _npz_error(shown, e) from None
    available = info.file_size - header.offset
    if available < header.nbytes:
        raise _truncated(shown, header, available, "write it again with numpy.savez")
    if header.fortran and header.cols > 1 and header.nbytes > FORTRAN_MEMBER_BYTES:
        raise InputError(
            f"{shown} is a Fortran-ordered array of {header.nbytes / 2**20:,.0f} MB inside a zip archive, which "
            f"cannot be read a block of rows at a time (lossctl reads such members whole only up to "
            f"{FORTRAN_MEMBER_BYTES >> 20} MB): re-save it C-ordered, numpy.savez(path, "
            f"{'KEY' if not key.isidentifier() else key}=numpy.ascontiguousarray(arr)), or as a .npy file"
        )

    def chunks(rows: int) -> Iterator[np.ndarray]:
        try:
            with _open_zip(path, name) as zf, zf.open(member) as f:
                read_npy_header(f, shown, "")
                if header.fortran and header.cols > 1:
                    # a compressed stream cannot seek back cheaply: this one member is read whole
                    whole = _read_exact(f, header.nbytes, shown).view(header.dtype)
                    arr = _native(whole).reshape(header.rows, header.cols, order="F")
                    for start in range(0, header.rows, rows):
                        yield np.ascontiguousarray(arr[start : start + rows])
                else:
                    yield from _c_blocks(f, header, rows, shown)
        except InputError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
            raise _npz_error(shown, e) from None

    return Source(shown, chunks, header.dtype.name, width=header.cols)


def _is_numeric(pa, t) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def parquet_source(path: str, name: str) -> Source:
    """A ``.parquet`` file of numeric columns, read by record batches; nulls become NaN.

    Columns that hold a pandas index (``DataFrame.to_parquet`` writes non-range
    indexes as columns) are skipped; the names of the other columns are kept as
    ``Source.column_names``. A non-numeric column is refused when it is read,
    so column selection (``Source.project``) can leave an id column behind.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(file_or_path(path)) as pf:
            schema = pf.schema_arrow
            num_rows = pf.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as e:
        raise _wrong_content(path, name, ".parquet", str(e).splitlines()[0] if str(e) else "") from None
    index = set()
    meta = schema.pandas_metadata
    if meta:
        index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    fields = [f for f in schema if f.name not in index]
    if not fields:
        raise InputError(f"{name} has no data columns; it needs one numeric column per output")
    if num_rows == 0:
        raise InputError(f"{name} is empty: it has 0 rows; it needs one row per sample")
    return _parquet_columns(path, name, fields, num_rows)


def _parquet_columns(path: str, name: str, fields: list, num_rows: int | None = None) -> Source:
    """The Source of ``fields`` (pyarrow fields) of the parquet file at ``path``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = tuple(f.name for f in fields)
    numeric = [f for f in fields if _is_numeric(pa, f.type)]
    dtype = np.result_type(*(np.dtype(f.type.to_pandas_dtype()) for f in numeric)) if numeric else np.dtype("f8")

    def check() -> None:
        for field in fields:
            if not _is_numeric(pa, field.type):
                raise InputError(
                    f"{name} column {cell(field.name)} holds {field.type} values; lossctl needs numeric columns "
                    "(integers, floats or booleans): drop that column, encode it as numbers, or select the "
                    "numeric columns (--pred-cols/--label-cols)"
                )
        twice = sorted(n for n, count in Counter(names).items() if count > 1)
        if twice:
            raise InputError(f"{name} has more than one column named {cell(twice[0])}; give each column its own name")

    def chunks(rows: int) -> Iterator[np.ndarray]:
        check()
        try:
            with pq.ParquetFile(file_or_path(path)) as pf:
                for batch in pf.iter_batches(batch_size=rows, columns=list(names), use_pandas_metadata=False):
                    out = np.empty((batch.num_rows, len(names)))
                    for j, column in enumerate(batch.columns):
                        out[:, j] = column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
                    yield out
        except (pa.ArrowException, OSError, ValueError) as e:
            raise InputError(
                f"{name} is a corrupt .parquet file ({e}); write it again with DataFrame.to_parquet"
            ) from None

    def project(indices) -> Source:
        return _parquet_columns(path, name, [fields[i] for i in indices], num_rows)

    return Source(name, chunks, dtype.name, column_names=names, width=len(fields), project=project, length=num_rows)


#: suffix -> opener(path, key, name)
OPENERS: dict[str, Callable[[str, str | None, str], Source]] = {
    ".npy": lambda path, key, name: npy_source(path, name),
    ".npz": npz_source,
    ".parquet": lambda path, key, name: parquet_source(path, name),
}


def open_binary(path: str, key: str | None, name: str) -> Source | None:
    """Open ``path`` if its extension is a binary format; ``None`` otherwise."""
    suffix = os.path.splitext(path)[1].lower()
    opener = OPENERS.get(suffix)
    return None if opener is None else opener(path, key, name)


__all__ = ["NPY_MAGIC", "NpyHeader", "npy_source", "npz_source", "open_binary", "parquet_source", "read_npy_header"]
