"""HDF5 datasets (``file.h5:dataset``, ``.hdf5``), read a block of rows at a time through h5py.

h5py is an optional dependency (``pip install 'lossctl[hdf5]'``), imported only
when an HDF5 file is opened. ``file.h5:group/dataset`` picks a dataset; without
a key the file must hold exactly one. The dataset's dtype and shape are checked
before a row is read (strings, compound and object types are refused).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import InputError
from .binary import _check_dtype, _check_shape
from .remote import file_or_path, open_rb
from .source import Source

_LISTED = 10
_FIX = "write it again with h5py (f.create_dataset('y_pred', data=arr))"


def _h5py(name: str):
    try:
        import h5py
    except ImportError:
        raise InputError(f"reading {name} needs h5py, which is not installed: pip install 'lossctl[hdf5]'") from None
    return h5py


def _datasets(h5py, f) -> list[str]:
    found: list[str] = []
    f.visititems(lambda path, obj: found.append(path) if isinstance(obj, h5py.Dataset) else None)
    return found


def _listed(names: list[str]) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > _LISTED else ""
    return (", ".join(names[:_LISTED]) or "none") + more


def _open(h5py, path: str, name: str):
    try:
        return h5py.File(file_or_path(path), "r")
    except OSError as e:
        with open_rb(path) as raw:
            empty = not raw.read(1)
        if empty:
            raise InputError(f"{name} is an empty file (0 bytes); {_FIX}") from None
        detail = str(e).split("(")[0].strip().rstrip(",") or "unreadable"
        raise InputError(f"{name} is not a readable HDF5 file ({detail}): truncated or corrupt; {_FIX}") from None


def _dataset(h5py, f, key: str | None, name: str):
    if key is None:
        names = _datasets(h5py, f)
        if len(names) != 1:
            example = f" (e.g. {name}:{names[0]})" if names else ""
            raise InputError(
                f"{name} holds {len(names)} datasets ({_listed(names)}); pick one as {name}:DATASET{example}"
            )
        key = names[0]
    obj = f.get(key)
    if not isinstance(obj, h5py.Dataset):
        what = "a group" if obj is not None else "no dataset"
        raise InputError(
            f"{name} has {what} {key!r}; its datasets are: {_listed(_datasets(h5py, f))} (pick one as {name}:DATASET)"
        )
    return key, obj


def hdf5_source(path: str, key: str | None, name: str) -> Source:
    """One dataset of an HDF5 file, read by blocks of rows."""
    h5py = _h5py(name)
    with _open(h5py, path, name) as f:
        key, ds = _dataset(h5py, f, key, name)
        shown = f"{name}:{key}"
        if h5py.check_string_dtype(ds.dtype) is not None:
            raise InputError(f"{shown} holds strings; lossctl needs numbers: store arr.astype(float)")
        _check_dtype(ds.dtype, shown)
        n, k = _check_shape(ds.shape, shown)
        dtype = ds.dtype

    def chunks(rows: int) -> Iterator[np.ndarray]:
        try:
            with h5py.File(file_or_path(path), "r") as f:
                ds = f[key]
                for start in range(0, n, rows):
                    block = ds[start : start + rows] if ds.ndim else ds[()]
                    yield np.asarray(block).reshape(-1, k)
        except (OSError, KeyError) as e:
            raise InputError(f"{shown} cannot be read ({e}): truncated or corrupt; {_FIX}") from None

    return Source(shown, chunks, dtype.name, width=k)
