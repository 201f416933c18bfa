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
(:func:`lossctl.io.grammar.reference`: the stdlib ``csv`` module and ``float``), which either
reads the same numbers or raises the error naming the line and column. Both
paths therefore give identical arrays and identical messages.
"""

from __future__ import annotations

import re
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import IO

import numpy as np

from ..errors import InputError, column, listing
from .grammar import Format, arrow_block, check_bytes, is_number, numpy_block, tokens
from .remote import open_rb
from .source import Source

#: inputs larger than this (decompressed) stream through pyarrow in blocks
BIG_FILE_BYTES = 4 << 20
#: bytes of whole lines parsed at a time on the streaming path
BLOCK_BYTES = 4 << 20
#: bytes read (or decompressed) from the file at a time
PIECE_BYTES = 1 << 20
#: the longest line (one sample) read; a longer one is refused, so memory stays bounded whatever the input
MAX_LINE_BYTES = 16 << 20
#: the format (delimiter, header, width) must show within this many bytes, else the input is refused:
#: room for the first two lines at their longest
SNIFF_LIMIT_BYTES = 2 * MAX_LINE_BYTES

TEXT_SUFFIXES = tuple(s + gz for s in (".csv", ".tsv", ".txt") for gz in ("", ".gz"))
_DELIMITERS = ("\t", ";", ",", "|")
_SNIFF_LINES = 20
_BOM = b"\xef\xbb\xbf"
#: a run of blank lines (and the leading whitespace of the next line), skipped at C speed
_BLANKS = re.compile(rb"[ \t\r\n\f\v]*")
_GZIP_MAGIC = b"\x1f\x8b"
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
        f = open_rb(path)  # noqa: SIM115 - closed below, also when the consumer stops early
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


def _line_blocks(pieces: Iterator[bytes], skip: int, name: str, first_line: int) -> Iterator[bytes]:
    """Blocks of whole lines, about ``BLOCK_BYTES`` each, after the first ``skip`` bytes.

    A line longer than :data:`MAX_LINE_BYTES` is refused rather than gathered without bound.
    """
    buf = bytearray()
    line = first_line
    for piece in pieces:
        if skip:
            cut = min(skip, len(piece))
            piece, skip = piece[cut:], skip - cut
        buf += piece
        if len(buf) >= BLOCK_BYTES:
            cut = buf.rfind(b"\n") + 1
            if cut:
                line += buf.count(b"\n", 0, cut)
                yield bytes(buf[:cut])
                del buf[:cut]
            elif len(buf) > MAX_LINE_BYTES:
                raise long_line(name, line)
    if buf:
        yield bytes(buf)


def long_line(name: str, line: int) -> InputError:
    """The refusal of a line (one sample) longer than :data:`MAX_LINE_BYTES`."""
    return InputError(
        f"{name} line {line} is longer than {MAX_LINE_BYTES >> 20} MB with no line break; lossctl reads one "
        "sample per line and refuses longer lines: check that this is CSV text with one row per sample "
        "(or save very wide rows as .npy)"
    )


# --------------------------------------------------------------------------- the grammar


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


def _refuse_foreign(head: bytes, name: str) -> None:
    """Refuse an input whose first bytes say it is UTF-16/32 text, a .npy, a zip or a Parquet file."""
    for magic, what, fix in _FOREIGN:
        if head.startswith(magic):
            raise InputError(f"{name} is {what}, not UTF-8 CSV text; {fix}")


def detect(head: bytes, eof: bool, name: str) -> Format | None:
    """The :class:`Format` of a text input from its first bytes; None if more bytes are needed."""
    _refuse_foreign(head, name)
    start = len(_BOM) if head.startswith(_BOM) else 0
    lines: list[tuple[int, int, str]] = []  # (line number, offset after the line, text)
    pos, number = start, 1
    while len(lines) < _SNIFF_LINES:
        blank_end = _BLANKS.match(head, pos).end()  # type: ignore[union-attr]
        if blank_end >= len(head):
            break
        line_start = max(pos, head.rfind(b"\n", pos, blank_end) + 1)
        number += head.count(b"\n", pos, line_start)
        pos = line_start
        end = head.find(b"\n", pos)
        if end < 0:
            if not eof:
                break
            end = len(head) - 1  # the last line has no newline
        raw = head[pos : end + 1]
        check_bytes(raw, number, name)
        lines.append((number, end + 1, raw.decode("utf-8").rstrip("\r\n")))
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
    cells = tokens(text, delimiter)
    if any(cells) and not any(is_number(c) or is_number(c.replace(",", ".", 1)) for c in cells):
        if len(lines) < 2:
            raise InputError(
                f"{name} has a header row ({listing(cells, 10, show=column)}) but no data rows; "
                "it needs one row of numbers per sample under the header"
            )
        return Format(delimiter, tuple(cells), len(cells), number, after, number + 1, number)
    return Format(delimiter, None, len(cells), None, start, 1, number)


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
            eof = not self._grow(head, stream)
        fmt = detect(bytes(head), eof, name)
        while fmt is None:  # no data line yet: very long lines or many blank lines
            if len(head) > SNIFF_LIMIT_BYTES:
                raise self._no_format(bytes(head))
            target = min(2 * len(head), SNIFF_LIMIT_BYTES + 1)  # doubling between detections: linear time
            while not eof and len(head) < target:
                eof = not self._grow(head, stream)
            fmt = detect(bytes(head), eof, name)
        self.format = fmt
        self.small = eof and len(head) <= BIG_FILE_BYTES
        self._head: bytes | None = bytes(head)
        self._rest: Iterator[bytes] | None = None if self.small else stream
        if self._replayable and not self.small:  # re-read from the start rather than hold the head
            stream.close()
            self._head = self._rest = None
        self._cache: dict[tuple[int, ...], np.ndarray] = {}

    def _grow(self, head: bytearray, stream: Iterator[bytes]) -> bool:
        """Append the next piece to ``head``, refusing binary data at once; False at the end of the input."""
        piece = next(stream, None)
        if piece is None:
            return False
        if not head:
            _refuse_foreign(piece, self.name)
        if b"\x00" in piece:  # e.g. /dev/zero or a binary file named .csv: refused before any line is sought
            check_bytes(bytes(head[head.rfind(b"\n") + 1 :]) + piece, 1 + head.count(b"\n"), self.name)
        head += piece
        return True

    def _no_format(self, head: bytes) -> InputError:
        """The refusal of an input whose first :data:`SNIFF_LIMIT_BYTES` hold no two complete data lines."""
        pos = 0
        for _ in range(2):
            blank_end = _BLANKS.match(head, pos).end()  # type: ignore[union-attr]
            line = 1 + head.count(b"\n", 0, pos)
            if blank_end >= len(head):
                where = "" if pos == 0 else f" after line {line - 1}"
                return InputError(
                    f"{self.name} holds only blank lines{where} in its first {SNIFF_LIMIT_BYTES >> 20} MB; "
                    "it needs one row of numbers per sample (rows are samples)"
                )
            line_start = max(pos, head.rfind(b"\n", pos, blank_end) + 1)
            end = head.find(b"\n", line_start)
            if end < 0:
                return long_line(self.name, 1 + head.count(b"\n", 0, line_start))
            pos = end + 1
        return long_line(self.name, 1 + head.count(b"\n", 0, pos))  # pragma: no cover - detect found two lines

    def chunks(self, cols: tuple[int, ...]) -> Iterator[np.ndarray]:
        fmt = self.format
        if self.small:
            if cols not in self._cache:
                block = self._head[fmt.data_offset :]  # type: ignore[index]
                self._cache[cols] = numpy_block(block, fmt.data_line, fmt, cols, self.name)
            yield self._cache[cols]
            return
        if self._replayable:
            pieces = self._pieces()
        elif self._head is not None:
            pieces = _chain(self._head, self._rest)  # type: ignore[arg-type]
            self._head = None
        else:
            raise InputError(
                f"{self.name} can be read only once (standard input or a pipe) and is needed twice here; "
                "save it to a file first"
            )
        line = fmt.data_line
        for block in _line_blocks(pieces, fmt.data_offset, self.name, line):
            yield arrow_block(block, line, fmt, cols, self.name)
            line += block.count(b"\n")

    def source(self, cols: Sequence[int] | None = None) -> Source:
        fmt = self.format
        picked = tuple(range(fmt.width)) if cols is None else tuple(cols)
        unique = tuple(sorted(set(picked)))
        position = {c: i for i, c in enumerate(unique)}
        order = [position[c] for c in picked]
        same = unique == picked

        def chunks(rows: int) -> Iterator[np.ndarray]:
            for arr in self.chunks(unique):
                if len(arr):
                    yield arr if same else arr[:, order]

        names = None if fmt.names is None else tuple(fmt.names[c] for c in picked)
        return Source(self.name, chunks, "float64", column_names=names, width=len(picked), project=self.source)


def text_source(path: str, name: str, *, regular: bool = True) -> Source:
    """A :class:`Source` over a text file (``.csv .tsv .txt``, optionally gzip-compressed).

    A regular file is re-read from disk for each pass; anything else (a named
    pipe, a device) is opened once and read once, like standard input.
    """
    gz = path.lower().endswith(".gz")
    if regular:
        return _TextInput(name, lambda: _decompressed(_file_pieces(path, name), name, gz), replayable=True).source()
    try:
        f = open(path, "rb")  # noqa: SIM115 - held for the run: a pipe cannot be reopened
    except OSError as e:
        raise InputError(f"{name} cannot be opened ({e.strerror}); check its permissions") from None
    pieces = _read_pieces(f, name)
    return _TextInput(name, lambda: _decompressed(pieces, name, gz), replayable=False).source()


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
