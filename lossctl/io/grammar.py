"""The text grammar's cells and the block parsers (see :mod:`lossctl.io.text` for the grammar).

A block of whole lines is parsed by ``numpy.loadtxt`` (small inputs) or
pyarrow's multi-threaded CSV reader (the streamed path); whenever a fast parser
fails on a block, or finds an infinity or an integer beyond ±2**53, the block
goes to :func:`reference` (the stdlib ``csv`` module and ``float``), which
either reads the same numbers or raises the error naming the line and column.
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

#: pyarrow's own block size inside one of our blocks: the unit it parses in parallel
ARROW_BLOCK_BYTES = 512 << 10
#: integers beyond this magnitude may not be exactly a float64: such cells are checked one by one
EXACT_LIMIT = 2**53
_INFINITIES = ("inf", "infinity")
#: a run of blank lines at a line start (a character class, not a repeated group: the regex engine
#: then needs no memory per line), and runs of them anywhere
_BLANK_LINES = re.compile(r"(?:[ \t\r\f\v\n]*\n)?")
_SOME_BLANK_LINES = re.compile(r"(?m)^[ \t\r\f\v\n]*\n")


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


def is_number(cell: str) -> bool:
    s = cell.strip()
    if not s or not s.isascii() or "_" in s:
        return False
    try:
        float(s)
    except ValueError:
        return False
    return True


def tokens(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    try:
        return [c.strip() for c in next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))]
    except (csv.Error, StopIteration):
        return [c.strip() for c in line.split(delimiter)]


def check_bytes(block: bytes, first_line: int, name: str) -> None:
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


def _number(cell: str, line: int, column: int, fmt: Format, name: str) -> float:
    s = cell.strip()
    where = f"{name} line {line} column {column + 1}"
    if not s:
        raise InputError(
            f"{where} is empty; lossctl does not guess missing values: fill it in, or write nan "
            "(then --nan omit drops that sample)"
        )
    if not is_number(s):
        hint = ""
        if fmt.delimiter == ";" and "," in s and is_number(s.replace(",", ".", 1)):
            hint = " (decimal commas are not supported: write 1.5, not 1,5)"
        elif fmt.names is not None:
            hint = " (select the numeric columns with --pred-cols/--label-cols)"
        raise InputError(f"{where} is not a number: {s[:40]!r}{hint}")
    value = float(s)
    if math.isinf(value) and s.lstrip("+-").lower() not in _INFINITIES:
        raise InputError(f"{where} is {s[:40]}, which overflows float64 (largest ±1.8e308); rescale the values")
    if abs(value) >= EXACT_LIMIT and s.lstrip("+-").isdigit() and int(s) != value:
        raise InputError(
            f"{where} is the integer {s[:40]}, which float64 (how lossctl reads numbers) cannot represent "
            f"exactly beyond ±2**53: it would become {int(value)}; subtract an offset or rescale the values"
        )
    return value


def _unusual(arr: np.ndarray) -> bool:
    """Whether a fast parser's block holds an infinity or a number beyond ±2**53 (the reference checks them)."""
    return bool((np.abs(arr) >= EXACT_LIMIT).any())


def _reference(text: str, first_line: int, fmt: Format, cols: Sequence[int], name: str) -> np.ndarray:
    """The reference parser: exact errors with line and column, values as Python's float reads them.

    Runs of blank lines are stepped over at C speed (one regex match), never one Python iteration each.
    """
    rows: list[list[float]] = []
    pos, number, size = 0, first_line, len(text)
    while pos < size:
        blank_end = _BLANK_LINES.match(text, pos).end()  # type: ignore[union-attr]
        if blank_end > pos:
            number += text.count("\n", pos, blank_end)
            pos = blank_end
            continue
        end = text.find("\n", pos)
        end = size if end < 0 else end
        line = text[pos:end]
        pos, number = end + 1, number + 1
        if not line.strip():
            continue
        cells = tokens(line.rstrip("\r"), fmt.delimiter)
        if len(cells) != fmt.width:
            raise InputError(
                f"{name} line {number - 1} has {len(cells)} values but {fmt.describe_width()} has {fmt.width}; "
                "every row needs the same number of values (rows are samples)"
            )
        rows.append([_number(cells[j], number - 1, j, fmt, name) for j in cols])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(cols))


def numpy_block(block: bytes, first_line: int, fmt: Format, cols: Sequence[int], name: str) -> np.ndarray:
    """Parse a block with ``numpy.loadtxt``; anything unusual goes to :func:`_reference`."""
    check_bytes(block, first_line, name)
    text = block.decode("utf-8")
    lines = _SOME_BLANK_LINES.sub("", text).split("\n")  # blank lines dropped first: no string object each
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
        return _reference(text, first_line, fmt, cols, name)
    if arr.size == 0:
        return _reference(text, first_line, fmt, cols, name)
    if arr.shape[1] != fmt.width or _unusual(arr):
        return _reference(text, first_line, fmt, cols, name)
    return arr if len(cols) == fmt.width else arr[:, list(cols)]  # cols: sorted and unique


def arrow_block(block: bytes, first_line: int, fmt: Format, cols: Sequence[int], name: str) -> np.ndarray:
    """Parse a block with pyarrow's multi-threaded CSV reader; anything unusual goes to :func:`_reference`."""
    if fmt.delimiter is None:  # runs of whitespace: pyarrow splits on one character only
        return numpy_block(block, first_line, fmt, cols, name)
    check_bytes(block, first_line, name)
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
        return _reference(block.decode("utf-8"), first_line, fmt, cols, name)
    except pa.ArrowException:  # out of threads or memory (e.g. under ulimit -v): parse on this thread instead
        return numpy_block(block, first_line, fmt, cols, name)
    arr = np.empty((table.num_rows, len(wanted)), dtype=np.float64)
    for j, column in enumerate(table.columns):
        if column.null_count:
            return _reference(block.decode("utf-8"), first_line, fmt, cols, name)
        arr[:, j] = column.to_numpy()
    if _unusual(arr):
        return _reference(block.decode("utf-8"), first_line, fmt, cols, name)
    return arr
