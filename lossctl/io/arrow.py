"""Arrow IPC files (``.arrow``, ``.feather`` version 2) and streams, read by record batch.

The IPC file format (magic ``ARROW1``) is memory-mapped and its record batches
are read one at a time; the stream format is read batch by batch as it comes.
pyarrow is imported only when such a file is opened. Columns are named as in
the schema; numeric and boolean columns are read as float64 (nulls become
NaN); any other column is refused when read, so column selection can leave an
id column behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..errors import InputError
from .remote import Remote, open_rb
from .source import Source

_FILE_MAGIC = b"ARROW1"
_FEATHER_V1 = b"FEA1"
_FIX = "write it again with pyarrow.feather.write_feather or DataFrame.to_feather"


def _mapped(pa, path: str):
    """A local file memory-mapped; a URL as a file read in ranges through fsspec."""
    if isinstance(path, Remote):
        return pa.PythonFile(path.open(), mode="r")
    return pa.memory_map(path)


def _open(path: str, name: str):
    """(reader, is_file) for the IPC file or stream at ``path``."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with open_rb(path) as f:
        head = f.read(8)
    if not head:
        raise InputError(f"{name} is an empty file (0 bytes); {_FIX}")
    if head.startswith(_FEATHER_V1):
        raise InputError(f"{name} is a Feather version 1 file, which cannot be read by batches; {_FIX} (version 2)")
    try:
        if head.startswith(_FILE_MAGIC):
            return ipc.open_file(_mapped(pa, path)), True
        return ipc.open_stream(_mapped(pa, path)), False
    except (pa.ArrowException, OSError, ValueError) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{name} is a truncated or corrupt Arrow IPC file ({detail}); {_FIX}") from None


def _batches(path: str, name: str) -> Iterator:
    import pyarrow as pa

    reader, is_file = _open(path, name)
    try:
        if is_file:
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
        else:
            yield from reader
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InputError(f"{name} is a truncated or corrupt Arrow IPC file ({e}); {_FIX}") from None


def _numeric(t) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def arrow_source(path: str, name: str) -> Source:
    """An Arrow IPC file or stream of numeric columns."""
    reader, _ = _open(path, name)
    fields = list(reader.schema)
    if not fields:
        raise InputError(f"{name} has no columns; it needs one numeric column per output")
    if not any(b.num_rows for b in _batches(path, name)):
        raise InputError(f"{name} is empty: it has 0 rows; it needs one row per sample")
    return _columns(path, name, fields, list(range(len(fields))))


def _columns(path: str, name: str, fields: list, picked: Sequence[int]) -> Source:
    import pyarrow as pa

    names = tuple(fields[i].name for i in picked)
    numeric = [fields[i] for i in picked if _numeric(fields[i].type)]
    try:
        dtype = np.result_type(*(np.dtype(f.type.to_pandas_dtype()) for f in numeric)).name if numeric else "float64"
    except (TypeError, NotImplementedError):
        dtype = "float64"

    def chunks(rows: int) -> Iterator[np.ndarray]:
        for i in picked:
            if not _numeric(fields[i].type):
                raise InputError(
                    f"{name} column {fields[i].name!r} holds {fields[i].type} values; lossctl needs numeric "
                    "columns (integers, floats or booleans): drop that column, encode it as numbers, or select "
                    "the numeric columns (--pred-cols/--label-cols)"
                )
        for batch in _batches(path, name):
            for start in range(0, batch.num_rows, rows):
                part = batch.slice(start, rows)
                out = np.empty((part.num_rows, len(picked)))
                for j, i in enumerate(picked):
                    out[:, j] = part.column(i).cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
                yield out

    def project(indices: Sequence[int]) -> Source:
        return _columns(path, name, fields, [picked[i] for i in indices])

    return Source(name, chunks, dtype, column_names=names, width=len(picked), project=project)
