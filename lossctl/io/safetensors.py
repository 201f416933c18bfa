"""``.safetensors`` files, read lazily by rows with no dependency.

The format: 8 bytes (little-endian u64) giving the length of a JSON header,
the header (``{name: {"dtype": "F32", "shape": [N, K], "data_offsets": [a, b]},
"__metadata__": {...}}``), then the tensors' bytes, little-endian and C-ordered,
``a``..``b`` counted from the end of the header. One tensor is picked as
``file.safetensors:name`` (or is the file's only tensor); its rows are read
with seek and readinto, a block at a time. BF16 is widened to float32 exactly;
the float8 types are refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import numpy as np

from ..errors import InputError
from .binary import _check_shape, _read_exact
from .remote import open_rb, size_of
from .source import Source

#: safetensors dtype -> numpy dtype (little-endian); BF16 is read as uint16 and widened
DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}
_MAX_HEADER = 100 << 20  # the reference implementation refuses headers over 100 MB
_LISTED = 10
_FIX = "write it again with safetensors.numpy.save_file or safetensors.torch.save_file"


def _names(tensors: dict) -> str:
    names = sorted(tensors)
    more = f", ... ({len(names)} in all)" if len(names) > _LISTED else ""
    return (", ".join(names[:_LISTED]) or "none") + more


def read_header(path: str, name: str) -> tuple[dict, int, int]:
    """The tensors of the header, the offset of the data, and the file's size; refuses what does not parse."""
    try:
        with open_rb(path) as f:
            size = size_of(f)
            prefix = f.read(8)
            if len(prefix) < 8:
                what = "an empty file (0 bytes)" if not prefix else f"only {len(prefix)} bytes long"
                raise InputError(f"{name} is {what}, not a .safetensors file; {_FIX}")
            length = int.from_bytes(prefix, "little")
            if length > min(size - 8, _MAX_HEADER):
                raise InputError(
                    f"{name} is truncated or not a .safetensors file: its first 8 bytes give a header of "
                    f"{length} bytes but the file has {size - 8} after them; {_FIX}"
                )
            raw = f.read(length)
    except OSError as e:
        raise InputError(f"{name} cannot be read ({e.strerror or e}); check the file") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{name} has a corrupt .safetensors header (not JSON); {_FIX}") from None
    if not isinstance(header, dict):
        raise InputError(f"{name} has a corrupt .safetensors header (not a JSON object); {_FIX}")
    header.pop("__metadata__", None)
    return header, 8 + length, size


def _pick(tensors: dict, key: str | None, name: str) -> str:
    if key is None:
        if len(tensors) != 1:
            example = f" (e.g. {name}:{sorted(tensors)[0]})" if tensors else ""
            raise InputError(
                f"{name} holds {len(tensors)} tensors ({_names(tensors)}); pick one as {name}:NAME{example}"
            )
        return next(iter(tensors))
    if key not in tensors:
        raise InputError(f"{name} has no tensor {key!r}; its tensors are: {_names(tensors)} (pick one as {name}:NAME)")
    return key


def _entry(info: object, shown: str, data_size: int) -> tuple[np.dtype, str, tuple[int, ...], int]:
    """Check one tensor's header entry: its numpy dtype, safetensors dtype, shape and data offset."""
    try:
        code, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]  # type: ignore[index]
        if not all(isinstance(d, int) and d >= 0 for d in (*shape, begin, end)):
            raise ValueError
    except (TypeError, KeyError, ValueError):
        raise InputError(f"{shown} has a corrupt .safetensors header entry; {_FIX}") from None
    if code not in DTYPES:
        hint = "a float8 type: widen it first, e.g. tensor.float()" if str(code).startswith("F8") else "unsupported"
        raise InputError(f"{shown} has dtype {code} ({hint}); lossctl needs integer, float, bool or BF16 tensors")
    dtype = np.dtype(DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    if end - begin != expected:
        raise InputError(
            f"{shown} has a corrupt .safetensors header: shape {list(shape)} of {code} needs {expected} bytes "
            f"but its data_offsets span {end - begin}; {_FIX}"
        )
    if end > data_size:
        raise InputError(
            f"{shown} is truncated: its data ends at byte {end} of the data section but only {data_size} bytes "
            f"follow the header; the file was cut short: {_FIX}"
        )
    return dtype, code, shape, begin


def safetensors_source(path: str, key: str | None, name: str) -> Source:
    """One tensor of a ``.safetensors`` file, read in blocks of rows straight from disk."""
    tensors, data_start, size = read_header(path, name)
    if not tensors:
        raise InputError(f"{name} holds no tensors; save the predictions with safetensors.numpy.save_file")
    key = _pick(tensors, key, name)
    shown = f"{name}:{key}"
    dtype, code, shape, begin = _entry(tensors[key], shown, size - data_start)
    n, k = _check_shape(shape, shown)
    row_bytes = k * dtype.itemsize

    def row_range(first: int, stop: int, rows: int) -> Iterator[np.ndarray]:
        """The rows [first, stop), seeking straight to ``first`` (a worker's share of the tensor)."""
        first, stop = max(0, first), min(stop, n)
        with open_rb(path) as f:
            f.seek(data_start + begin + first * row_bytes)
            for start in range(first, stop, rows):
                m = min(rows, stop - start)
                block = _read_exact(f, m * row_bytes, shown).view(dtype).reshape(m, k)
                if code == "BF16":  # the top 16 bits of a float32: widening is exact
                    block = (block.astype(np.uint32) << 16).view(np.float32)
                elif not dtype.isnative:
                    block = block.astype(dtype.newbyteorder("="))
                yield block

    def chunks(rows: int) -> Iterator[np.ndarray]:
        return row_range(0, n, rows)

    dtype_name = "bfloat16" if code == "BF16" else dtype.name
    return Source(shown, chunks, dtype_name, width=k, length=n, rows=row_range, seekable=True)
