"""Dispatch for the formats added after the first three (.safetensors, Arrow IPC, JSON lines, HDF5),
and the refusal of pickle-based files (``.pt .pth .ckpt .pkl .joblib``), by extension and by content.

Each format lives in its own module, imported only when a file of that format
is opened. A pickle is never opened with an unpickler: its first bytes (or, for
a zip archive, its member names) are enough to recognise it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable

from ..errors import InputError
from .remote import file_or_path, open_rb, size_of, url_path
from .source import Source

PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")

_SAFE_WAY = (
    "save the arrays instead with safetensors.torch.save_file({'y_pred': tensor}, 'preds.safetensors') "
    "(then pass preds.safetensors:y_pred) or numpy.save('preds.npy', tensor.numpy())"
)


def pickle_refusal(name: str, what: str) -> InputError:
    return InputError(f"{name} {what}; lossctl never unpickles input (unpickling can run arbitrary code): {_SAFE_WAY}")


def _zip_pickle(path: str) -> bool:
    """Whether the zip archive at ``path`` holds a pickle (``torch.save`` writes ``archive/data.pkl``)."""
    try:
        with zipfile.ZipFile(file_or_path(path)) as zf:
            return any(n.endswith((".pkl", ".pickle")) for n in zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False


def _is_pickle(head: bytes, size: int) -> bool:
    """Whether ``head`` starts a pickle of protocol 2 or later (the PROTO opcode, then the protocol)."""
    if len(head) < 3 or head[0] != 0x80 or not 2 <= head[1] <= 5 or head[2] == 0:  # 0x00 is no pickle opcode
        return False
    # a .safetensors header length can start with the same two bytes (640 = 80 02 00 ...): then a JSON object follows
    return not (head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8)


def refuse_pickle(path: str, name: str) -> None:
    """Raise if ``path`` is a pickle: by extension (``.pt .pth .ckpt .pkl .joblib``) or by its first bytes."""
    suffix = os.path.splitext(url_path(path))[1].lower()
    if suffix in PICKLE_SUFFIXES:
        raise pickle_refusal(name, f"is a pickle-based file ({suffix}: torch.save, pickle or joblib)")
    try:
        with open_rb(path) as f:
            head = f.read(9)
            size = size_of(f)
    except OSError as e:
        raise InputError(f"{name} cannot be read ({e.strerror or e}); check the file") from None
    if _is_pickle(head, size):
        raise pickle_refusal(name, "holds a Python pickle, not numbers")
    if head.startswith(b"PK\x03\x04") and _zip_pickle(path):
        raise pickle_refusal(name, "is a torch.save archive (a zip holding a pickle), not numbers")


def _safetensors(path: str, key: str | None, name: str) -> Source:
    from .safetensors import safetensors_source

    return safetensors_source(path, key, name)


def _arrow(path: str, key: str | None, name: str) -> Source:
    from .arrow import arrow_source

    return arrow_source(path, name)


def _jsonl(path: str, key: str | None, name: str) -> Source:
    from .jsonl import jsonl_source

    return jsonl_source(path, name)


def _hdf5(path: str, key: str | None, name: str) -> Source:
    from .hdf5 import hdf5_source

    return hdf5_source(path, key, name)


#: suffix -> opener(path, key, name)
OPENERS: dict[str, Callable[[str, str | None, str], Source]] = {
    ".safetensors": _safetensors,
    ".arrow": _arrow,
    ".feather": _arrow,
    ".jsonl": _jsonl,
    ".ndjson": _jsonl,
    ".h5": _hdf5,
    ".hdf5": _hdf5,
}


def open_format(path: str, key: str | None, name: str) -> Source | None:
    """Open ``path`` if its extension is one of the formats above; ``None`` otherwise."""
    opener = OPENERS.get(os.path.splitext(path)[1].lower())
    return None if opener is None else opener(path, key, name)
