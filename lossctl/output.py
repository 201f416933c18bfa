"""Writing per-sample losses to a file, atomically. Pure: no printing, no exiting.

The data goes to a temporary file in the target's own directory, which is
flushed, synced and then renamed over the target with :func:`os.replace`
(atomic on POSIX and Windows within one file system). A crash or error midway
removes the temporary file and leaves any existing target untouched, so a
reader only ever sees the old complete file or the new complete one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from typing import IO

import numpy as np

from .errors import LossctlError
from .errors import name as shown_name

#: file extensions --per-sample understands, and what each writes
PER_SAMPLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".npy": "npy"}


class OutputError(LossctlError):
    """An output file could not be written (exit code 2)."""


def per_sample_format(path: str, inputs: Iterable[str | None] = ()) -> str:
    """``csv``, ``tsv`` or ``npy`` from ``path``'s extension; checked before any computing starts.

    ``inputs`` are the command's input specs (``-``, ``file.npz:key`` allowed): writing over one of
    them would destroy it, so a ``path`` that is the same file as an input is refused.
    """
    if not path.strip():
        raise OutputError("--per-sample needs a file name ending in .csv, .tsv or .npy, not an empty string")
    shown = shown_name(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in PER_SAMPLE_FORMATS:
        raise OutputError(
            f"--per-sample {shown}: unknown extension {shown_name(ext) or '(none)'!r}; "
            f"end the name in {', '.join(PER_SAMPLE_FORMATS)}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"--per-sample {shown}: the folder {shown_name(folder)} does not exist; create it first")
    if os.path.isdir(path):
        raise OutputError(f"--per-sample {shown} is a directory; give a file name ending in .csv, .tsv or .npy")
    for spec in inputs:
        if spec and spec != "-" and _same_file(path, spec.rsplit(":", 1)[0] if ".npz:" in spec else spec):
            raise OutputError(
                f"--per-sample {shown} is the input file {shown_name(spec)}; writing it would destroy that "
                "input: give another file name"
            )
    return PER_SAMPLE_FORMATS[ext]


def _same_file(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` name the same existing file (a path not yet created is never an input)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _new_file_mode(path: str) -> int:
    """The mode a plain ``open(path, "w")`` would give: the old file's, else 0o666 minus the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


#: temporary files being written right now; removed by :func:`remove_temporary_files` on a signal
_TEMPORARY: set[str] = set()


def remove_temporary_files() -> None:
    """Delete every temporary file still being written (the CLI calls this when a signal ends the run)."""
    for tmp in list(_TEMPORARY):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _TEMPORARY.discard(tmp)


def _write_failed(path: str, e: OSError) -> OutputError:
    hint = ""
    if e.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", -1)):
        hint = " (free some space or write it elsewhere)"
    return OutputError(f"cannot write {shown_name(path)}: {e.strerror or e}{hint}; the old file, if any, is unchanged")


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success rename it over ``path``, on failure delete it.

    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_open(str(target)) as f:
    ...     _ = f.write("done\\n")
    >>> target.read_text()
    'done\\n'
    """
    folder = os.path.dirname(os.path.abspath(path))
    # the name is registered before the file exists: a signal at any moment after this line finds it
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.urandom(6).hex()}.tmp")
    _TEMPORARY.add(tmp)
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        except OSError as e:
            raise OutputError(
                f"cannot write {shown_name(path)}: {e.strerror or e}; check the folder exists and is writable"
            ) from None
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException as e:  # also KeyboardInterrupt and the CLI's signal exception: never leave tmp behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _write_failed(path, e) from None
        raise
    finally:
        _TEMPORARY.discard(tmp)


#: the .npy header of a streamed per-sample file: a fixed 128 bytes, rewritten with the count at the end
_NPY_HEADER_BYTES = 128


def _npy_header(count: int) -> bytes:
    """A version 1.0 ``.npy`` header for ``count`` little-endian float64 values, padded to 128 bytes."""
    body = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({count},), }}"
    size = _NPY_HEADER_BYTES - 10  # magic (6), version (2), header length (2)
    return b"\x93NUMPY\x01\x00" + size.to_bytes(2, "little") + (body.ljust(size - 1) + "\n").encode("latin1")


@contextlib.contextmanager
def per_sample_writer(path: str) -> Iterator[Callable[[int, np.ndarray], None]]:
    """Write per-sample losses to ``path`` as they are computed, atomically.

    Yields a sink ``write(start, values)`` taking each chunk's first row (0-based) and its
    values in row order (:data:`lossctl.compute.PerSampleSink`); memory stays one chunk.
    ``.csv``/``.tsv``: a header ``row,loss`` then one line per sample, rows numbered from 1 like
    the input's data rows, values at full precision (``nan``/``inf`` where the loss is
    undefined). ``.npy``: a float64 array of shape ``(N,)`` (its header is rewritten with N at
    the end). The target appears only when the ``with`` block ends without an error.
    """
    kind = per_sample_format(path)
    if kind == "npy":
        with atomic_open(path, "wb") as f:
            f.write(_npy_header(0))
            count = 0

            def write_npy(start: int, values: np.ndarray) -> None:
                nonlocal count
                f.write(np.asarray(values, dtype="<f8").tobytes())
                count += len(values)

            yield write_npy
            f.seek(0)
            f.write(_npy_header(count))
        return
    delimiter = "," if kind == "csv" else "\t"
    line = "{}" + delimiter + "{!r}\n"  # one formatted string per row: several times faster than csv.writer
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        f.write(f"row{delimiter}loss\n")

        def write_text(start: int, values: np.ndarray) -> None:
            f.write(_numbered_lines(line, start, values))

        yield write_text


def _numbered_lines(line: str, start: int, values: np.ndarray) -> str:
    """``line`` filled with each value and its row (counted from 1), as one string."""
    return "".join(map(line.format, range(start + 1, start + 1 + len(values)), values.tolist()))


def write_per_sample(path: str, values: np.ndarray) -> None:
    """Write each sample's loss to ``path`` atomically (the formats of :func:`per_sample_writer`)."""
    values = np.asarray(values, dtype=np.float64)
    with per_sample_writer(path) as write:
        for start in range(0, max(len(values), 1), 65536):
            write(start, values[start : start + 65536])
