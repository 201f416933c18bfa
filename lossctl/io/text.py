"""Text inputs: delimited numbers (CSV, TSV, ...), plain or gzip-compressed, from a file or standard input.

The grammar, one sample per row:

* UTF-8 with or without a byte-order mark; ``\\n`` or ``\\r\\n`` line endings;
  gzip-compressed data is recognised by its magic bytes (``.gz`` or not).
* The delimiter is detected from the first lines: tab, ``;``, ``,`` or ``|``
  (the first one that appears equally often on every line), else runs of
  whitespace (``numpy.savetxt``'s default), else a single column.
* The first non-blank line is a header when none of its cells is a number;
  its names can select columns (``--pred-cols``).
* Cells may be quoted and surrounded by spaces. A number is what Python's
  ``float`` reads, restricted to ASCII without ``_``: ``1``, ``-2.5e-3``,
  ``nan``, ``inf``. A cell that overflows float64 (``1e999``), an empty cell,
  and a row with the wrong number of values are errors; blank lines are skipped.

Two parsers read that grammar. Small inputs (at most :data:`BIG_FILE_BYTES`
after decompression) are read whole and parsed by ``numpy.loadtxt``; bigger
ones stream in blocks of whole lines (:data:`BLOCK_BYTES`) through pyarrow's
multi-threaded CSV parser, imported only then, so memory stays bounded and a
small file never pays for importing pyarrow. Whenever a fast parser fails on a
block, or finds an infinity, the block goes to the reference parser
(:func:`_reference`: the stdlib ``csv`` module and ``float``), which either
reads the same numbers or raises the error naming the line and column. Both
paths therefore give identical arrays and identical messages.
"""

from __future__ import annotations

import csv
import math
import sys
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np

from ..errors import InputError
from .source import Source

#: inputs larger than this (decompressed) stream through pyarrow in blocks
BIG_FILE_BYTES = 4 << 20
#: bytes of whole lines parsed at a time on the streaming path
BLOCK_BYTES = 4 << 20
#: pyarrow's own block size inside one of our blocks: the unit it parses in parallel
ARROW_BLOCK_BYTES = 512 << 10
#: bytes read (or decompressed) from the file at a time
PIECE_BYTES = 1 << 20

TEXT_SUFFIXES = tuple(s + gz for s in (".csv", ".tsv", ".txt") for gz in ("", ".gz"))
_DELIMITERS = ("\t", ";", ",", "|")
_SNIFF_LINES = 20
_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_INFINITIES = ("inf", "infinity")
#: (leading bytes, what the data is, what to do)
_FOREIGN = (
    (b"\xff\xfe\x00\x00", "UTF-32 text", "save it as UTF-8"),
    (b"\x00\x00\xfe\xff", "UTF-32 text", "save it as UTF-8"),
    (b"\xff\xfe", "UTF-16 text", "save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 text", "save it as UTF-8"),
    (b"\x93NUMPY", "a .npy array", "rename it to .npy"),
    (b"PK\x03\x04", "a zip archive", "rename it to .npz if it holds arrays"),
    (b"PAR1", "a Parquet file", "rename it to .parquet"),
)


def is_text(path: str) -> bool:
    """Whether ``path`` has a text suffix (``.csv .tsv .txt``, optionally ``.gz``)."""
    return path.lower().endswith(TEXT_SUFFIXES)


# --------------------------------------------------------------------------- bytes in


def _file_pieces(path: str, name: str) -> Iterator[bytes]:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, also when the consumer stops early
    except OSError as e:
        raise InputError(f"{name} cannot be opened ({e.strerror}); check its permissions") from None
    with f:
        yield from _read_pieces(f, name)


def _read_pieces(f: IO[bytes], name: str) -> Iterator[bytes]:
    while True:
        try:
            piece = f.read(PIECE_BYTES)
        except OSError as e:
            raise InputError(f"{name} cannot be read ({e.strerror or e})") from None
        if not piece:
            return
        yield piece


def _gunzip(pieces: Iterator[bytes], name: str) -> Iterator[bytes]:
    """Decompress a gzip stream (several members allowed), at most ``PIECE_BYTES`` at a time."""
    d = zlib.decompressobj(wbits=31)
    for data in pieces:
        while data:
            if d.eof:  # a member ended: another member, or zero padding
                if not data.strip(b"\x00"):
                    break
                d = zlib.decompressobj(wbits=31)
            try:
                out = d.decompress(data, PIECE_BYTES)
            except zlib.error as e:
                raise InputError(
                    f"{name} is a corrupt gzip file ({e}); compress it again or give the uncompressed file"
                ) from None
            data = d.unused_data if d.eof else d.unconsumed_tail
            if out:
                yield out
    tail = d.flush()
    if tail:
        yield tail
    if not d.eof:
        raise InputError(
            f"{name} is a truncated gzip file (it ends before the compressed data does); "
            "copy or compress it again, or give the uncompressed file"
        )


def _decompressed(pieces: Iterator[bytes], name: str, gz_suffix: bool) -> Iterator[bytes]:
    first = b""
    while len(first) < len(_GZIP_MAGIC):
        piece = next(pieces, b"")
        if not piece:
            break
        first += piece
    if first.startswith(_GZIP_MAGIC):
        yield from _gunzip(_chain(first, pieces), name)
        return
    if gz_suffix and first:
        raise InputError(
            f"{name} is not gzip-compressed (it does not start with the gzip magic bytes); "
            "compress it with gzip, or drop the .gz from its name if it is plain text"
        )
    if first:
        yield first
    yield from pieces


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _line_blocks(pieces: Iterator[bytes], skip: int) -> Iterator[bytes]:
    """Blocks of whole lines, about ``BLOCK_BYTES`` each, after the first ``skip`` bytes."""
    buf = bytearray()
    for piece in pieces:
        if skip:
            cut = min(skip, len(piece))
            piece, skip = piece[cut:], skip - cut
        buf += piece
        if len(buf) >= BLOCK_BYTES:
            cut = buf.rfind(b"\n") + 1
            if cut:
                yield bytes(buf[:cut])
                del buf[:cut]
    if buf:
        yield bytes(buf)


# --------------------------------------------------------------------------- the grammar


@dataclass(frozen=True)
class Format:
    """What the first lines say about a text input."""

    delimiter: str | None  # None: runs of whitespace
    names: tuple[str, ...] | None  # the header's names, or None without a header
    width: int
    header_line: int | None  # 1-based line number of the header
    data_offset: int  # byte offset (in the decompressed stream) where the data lines start
    data_line: int  # 1-based line number of the first line at data_offset
    width_line: int  # 1-based line number of the line that set ``width`` (the header or the first row)

    def describe_width(self) -> str:
        return f"line {self.width_line}" + (" (the header)" if self.header_line else "")


def _is_number(cell: str) -> bool:
    s = cell.strip()
    if not s or not s.isascii() or "_" in s:
        return False
    try:
        float(s)
    except ValueError:
        return False
    return True


def _tokens(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    try:
        return [c.strip() for c in next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))]
    except (csv.Error, StopIteration):
        return [c.strip() for c in line.split(delimiter)]


def _sniff(lines: Sequence[str]) -> str | None:
    for d in _DELIMITERS:
        counts = {line.count(d) for line in lines}
        if len(counts) == 1 and 0 not in counts:
            return d
    first = lines[0]
    best = max(_DELIMITERS, key=first.count)
    if first.count(best):
        return best  # inconsistent: the ragged row will be reported
    if len(first.split()) > 1:
        return None
    return ","  # one column


def _check_bytes(block: bytes, first_line: int, name: str) -> None:
    """Refuse binary junk (NUL bytes) and text that is not UTF-8, naming the line."""
    nul = block.find(b"\x00")
    if nul >= 0:
        line = first_line + block.count(b"\n", 0, nul)
        raise InputError(
            f"{name} line {line} holds binary data (a NUL byte), not text; "
            "give a CSV/TSV file, or the right extension (.npy, .npz, .parquet) for a binary one"
        )
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as e:
            line = first_line + block.count(b"\n", 0, e.start)
            raise InputError(
                f"{name} line {line} is not UTF-8 text (byte 0x{block[e.start]:02x}); re-save the file as UTF-8"
            ) from None


def detect(head: bytes, eof: bool, name: str) -> Format | None:
    """The :class:`Format` of a text input from its first bytes; None if more bytes are needed."""
    for magic, what, fix in _FOREIGN:
        if head.startswith(magic):
            raise InputError(f"{name} is {what}, not UTF-8 CSV text; {fix}")
    start = len(_BOM) if head.startswith(_BOM) else 0
    lines: list[tuple[int, int, str]] = []  # (line number, offset after the line, text)
    pos, number = start, 1
    while len(lines) < _SNIFF_LINES:
        end = head.find(b"\n", pos)
        if end < 0:
            if not eof or pos >= len(head):
                break
            end = len(head) - 1  # the last line has no newline
        raw = head[pos : end + 1]
        _check_bytes(raw, number, name)
        text = raw.decode("utf-8").rstrip("\r\n")
        if text.strip():
            lines.append((number, end + 1, text))
        pos, number = end + 1, number + 1
    if not lines:
        if not eof:
            return None
        what = "is empty (0 bytes)" if len(head) <= start else "holds only blank lines"
        raise InputError(f"{name} {what}; it needs one row of numbers per sample (rows are samples)")
    if len(lines) < 2 and not eof:
        return None
    delimiter = _sniff([text for _, _, text in lines])
    number, after, text = lines[0]
    cells = _tokens(text, delimiter)
    if any(cells) and not any(_is_number(c) or _is_number(c.replace(",", ".", 1)) for c in cells):
        if len(lines) < 2:
            raise InputError(
                f"{name} has a header row ({', '.join(cells)[:80]}) but no data rows; "
                "it needs one row of numbers per sample under the header"
            )
        return Format(delimiter, tuple(cells), len(cells), number, after, number + 1, number)
    return Format(delimiter, None, len(cells), None, start, 1, number)


def _number(cell: str, line: int, column: int, fmt: Format, name: str) -> float:
    s = cell.strip()
    where = f"{name} line {line} column {column + 1}"
    if not s:
        raise InputError(
            f"{where} is empty; lossctl does not guess missing values: fill it in, or write nan "
            "(then --nan omit drops that sample)"
        )
    if not _is_number(s):
        hint = ""
        if fmt.delimiter == ";" and "," in s and _is_number(s.replace(",", ".", 1)):
            hint = " (decimal commas are not supported: write 1.5, not 1,5)"
        elif fmt.names is not None:
            hint = " (select the numeric columns with --pred-cols/--label-cols)"
        raise InputError(f"{where} is not a number: {s[:40]!r}{hint}")
    value = float(s)
    if math.isinf(value) and s.lstrip("+-").lower() not in _INFINITIES:
        raise InputError(f"{where} is {s[:40]}, which overflows float64 (largest ±1.8e308); rescale the values")
    return value


def _reference(lines: Sequence[str], first_line: int, fmt: Format, cols: Sequence[int], name: str) -> np.ndarray:
    """The reference parser: exact errors with line and column, values as Python's float reads them."""
    rows: list[list[float]] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        number = first_line + i
        cells = _tokens(line.rstrip("\r"), fmt.delimiter)
        if len(cells) != fmt.width:
            raise InputError(
                f"{name} line {number} has {len(cells)} values but {fmt.describe_width()} has {fmt.width}; "
                "every row needs the same number of values (rows are samples)"
            )
        rows.append([_number(cells[j], number, j, fmt, name) for j in cols])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(cols))


def _lines(block: bytes) -> list[str]:
    return block.decode("utf-8").split("\n")


def _numpy_block(block: bytes, first_line: int, fmt: Format, cols: Sequence[int], name: str) -> np.ndarray:
    """Parse a block with ``numpy.loadtxt``; anything unusual goes to :func:`_reference`."""
    _check_bytes(block, first_line, name)
    lines = _lines(block)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" for a block of blank lines
            arr = np.loadtxt(
                lines,
                dtype=np.float64,
                delimiter=fmt.delimiter,
                comments=None,
                quotechar='"' if fmt.delimiter else None,
                ndmin=2,
            )
    except ValueError:
        return _reference(lines, first_line, fmt, cols, name)
    if arr.size == 0:
        return _reference(lines, first_line, fmt, cols, name)
    if arr.shape[1] != fmt.width or np.isinf(arr).any():
        return _reference(lines, first_line, fmt, cols, name)
    return arr[:, list(cols)] if list(cols) != list(range(fmt.width)) else arr


def _arrow_block(block: bytes, first_line: int, fmt: Format, cols: Sequence[int], name: str) -> np.ndarray:
    """Parse a block with pyarrow's multi-threaded CSV reader; anything unusual goes to :func:`_reference`."""
    if fmt.delimiter is None:  # runs of whitespace: pyarrow splits on one character only
        return _numpy_block(block, first_line, fmt, cols, name)
    _check_bytes(block, first_line, name)
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{j}" for j in range(fmt.width)]
    wanted = [names[j] for j in cols]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(block),
            read_options=pacsv.ReadOptions(column_names=names, block_size=ARROW_BLOCK_BYTES, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=fmt.delimiter, quote_char='"', ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types=dict.fromkeys(wanted, pa.float64()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return _reference(_lines(block), first_line, fmt, cols, name)
    arr = np.empty((table.num_rows, len(wanted)), dtype=np.float64)
    for j, column in enumerate(table.columns):
        if column.null_count:
            return _reference(_lines(block), first_line, fmt, cols, name)
        arr[:, j] = column.to_numpy()
    if np.isinf(arr).any():
        return _reference(_lines(block), first_line, fmt, cols, name)
    return arr


# --------------------------------------------------------------------------- sources


class _TextInput:
    """An opened text input: its :class:`Format`, and the bytes to parse (kept, or re-read from the file)."""

    def __init__(self, name: str, pieces: Callable[[], Iterator[bytes]], replayable: bool) -> None:
        self.name = name
        self._pieces = pieces
        self._replayable = replayable
        stream = pieces()
        head = bytearray()
        eof = False
        while not eof and len(head) <= BIG_FILE_BYTES:
            piece = next(stream, None)
            eof = piece is None
            head += piece or b""
        fmt = detect(bytes(head), eof, name)
        while fmt is None:  # no data line in the first BIG_FILE_BYTES (very long lines or many blank lines)
            piece = next(stream, None)
            eof = piece is None
            head += piece or b""
            fmt = detect(bytes(head), eof, name)
        self.format = fmt
        self.small = eof and len(head) <= BIG_FILE_BYTES
        self._head: bytes | None = bytes(head)
        self._rest: Iterator[bytes] | None = None if self.small else stream
        if self._replayable and not self.small:  # re-read from the start rather than hold the head
            stream.close()
            self._head = self._rest = None
        self._cache: dict[tuple[int, ...], np.ndarray] = {}

    def chunks(self, cols: tuple[int, ...]) -> Iterator[np.ndarray]:
        fmt = self.format
        if self.small:
            if cols not in self._cache:
                block = self._head[fmt.data_offset :]  # type: ignore[index]
                self._cache[cols] = _numpy_block(block, fmt.data_line, fmt, cols, self.name)
            yield self._cache[cols]
            return
        if self._replayable:
            pieces = self._pieces()
        elif self._head is not None:
            pieces = _chain(self._head, self._rest)  # type: ignore[arg-type]
            self._head = None
        else:
            raise InputError(f"{self.name} can be read only once (standard input)")
        line = fmt.data_line
        for block in _line_blocks(pieces, fmt.data_offset):
            yield _arrow_block(block, line, fmt, cols, self.name)
            line += block.count(b"\n")

    def source(self, cols: Sequence[int] | None = None) -> Source:
        fmt = self.format
        picked = tuple(range(fmt.width)) if cols is None else tuple(cols)
        unique = tuple(sorted(set(picked)))
        order = [unique.index(c) for c in picked]

        def chunks(rows: int) -> Iterator[np.ndarray]:
            for arr in self.chunks(unique):
                if len(arr):
                    yield arr if list(unique) == list(picked) else arr[:, order]

        names = None if fmt.names is None else tuple(fmt.names[c] for c in picked)
        return Source(self.name, chunks, "float64", column_names=names, width=len(picked), project=self.source)


def text_source(path: str, name: str) -> Source:
    """A :class:`Source` over a text file (``.csv .tsv .txt``, optionally gzip-compressed)."""
    gz = path.lower().endswith(".gz")
    return _TextInput(name, lambda: _decompressed(_file_pieces(path, name), name, gz), replayable=True).source()


def stdin_source(stream: IO | None = None, name: str = "<stdin>") -> Source:
    """A :class:`Source` over CSV text on standard input (read once)."""
    stream = sys.stdin if stream is None else stream
    if getattr(stream, "isatty", lambda: False)():
        raise InputError(f"{name} is a terminal; pipe CSV into lossctl (… | lossctl mse - labels.csv) or give a file")
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        pieces = _read_pieces(raw, name)
    else:  # a text stream without a binary buffer (e.g. io.StringIO)
        pieces = (p.encode("utf-8") for p in iter(lambda: stream.read(PIECE_BYTES), ""))
    return _TextInput(name, lambda: _decompressed(pieces, name, False), replayable=False).source()
