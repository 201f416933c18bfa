"""The bad-input corpus: every file in tests/corpus/bad/ ends in one ``error:`` line and exit code 2.

Each file is given as PREDICTIONS with ``messy/clean.csv`` (6 samples x 3
outputs, the array every messy file holds) as LABELS, through the real CLI.
Text files are read twice: by the small-file path (numpy.loadtxt) and by the
streaming path (pyarrow, in 16-byte blocks so that every line boundary is a
block boundary); both must say the same thing. The text files are written by
tests/corpus/make_text.py, the binary ones by tests/corpus/make_binary.py, those of the
formats of issue 14 (.safetensors, Arrow IPC, .jsonl, .h5, pickles) by tests/corpus/make_formats.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lossctl.io import text

CORPUS = Path(__file__).parent / "corpus"
BAD, MESSY = CORPUS / "bad", CORPUS / "messy"
PARTNER = MESSY / "clean.csv"

# file in tests/corpus/bad -> a regex the one error line must match (after "error: <path>")
EXPECTED: dict[str, str] = {
    # ---- text (tests/corpus/make_text.py)
    "empty.csv": r"empty\.csv is empty \(0 bytes\); it needs one row of numbers per sample \(rows are samples\)$",
    "blank.csv": r"blank\.csv holds only blank lines; it needs one row of numbers per sample",
    "header_only.csv": r"header_only\.csv has a header row \(p0, p1, p2\) but no data rows; it needs one row of "
    r"numbers per sample under the header$",
    "header_only_crlf.tsv": r"header_only_crlf\.tsv has a header row \(p0, p1, p2\) but no data rows",
    "non_numeric.csv": r"non_numeric\.csv line 2 column 2 is not a number: 'abc'$",
    "class_names.csv": r"class_names\.csv line 2 column 3 is not a number: 'cat' \(select the numeric columns with "
    r"--pred-cols/--label-cols\)$",
    "decimal_comma.csv": r"decimal_comma\.csv line 1 column 1 is not a number: '0,0' \(decimal commas are not "
    r"supported: write 1\.5, not 1,5\)$",
    "ragged.csv": r"ragged\.csv line 4 has 2 values but line 1 has 3; every row needs the same number of values "
    r"\(rows are samples\)$",
    "ragged_header.csv": r"ragged_header\.csv line 2 has 4 values but line 1 \(the header\) has 3; every row needs",
    "empty_cell.csv": r"empty_cell\.csv line 2 column 2 is empty; lossctl does not guess missing values: fill it in, "
    r"or write nan \(then --nan omit drops that sample\)$",
    "nan.csv": r"nan\.csv row 2 column 3 is nan; lossctl needs finite numbers \(pass --nan omit to drop such samples\)$",
    "inf.csv": r"inf\.csv row 4 column 1 is -inf; lossctl needs finite numbers",
    "overflow.csv": r"overflow\.csv line 5 column 3 is 1e999, which overflows float64 \(largest ±1\.8e308\); "
    r"rescale the values$",
    "five_rows.csv": r"five_rows\.csv has 5 rows but \S*clean\.csv has 6 \(rows are samples\)$",
    "four_columns.csv": r"four_columns\.csv has 4 columns but \S*clean\.csv has 3; .*rows are samples, columns are "
    r"outputs",
    "truncated.csv.gz": r"truncated\.csv\.gz is a truncated gzip file \(it ends before the compressed data does\); "
    r"copy or compress it again, or give the uncompressed file$",
    "corrupt.csv.gz": r"corrupt\.csv\.gz is a corrupt gzip file \(.*\); compress it again or give the uncompressed "
    r"file$",
    "bad_crc.csv.gz": r"bad_crc\.csv\.gz is a corrupt gzip file \(.*incorrect data check\)",
    "not_gzip.csv.gz": r"not_gzip\.csv\.gz is not gzip-compressed \(it does not start with the gzip magic bytes\); "
    r"compress it with gzip, or drop the \.gz from its name if it is plain text$",
    "binary_junk.csv": r"binary_junk\.csv line 3 holds binary data \(a NUL byte\), not text; give a CSV/TSV file, or "
    r"the right extension \(\.npy, \.npz, \.parquet\) for a binary one$",
    "latin1.csv": r"latin1\.csv line 1 is not UTF-8 text \(byte 0xe9\); re-save the file as UTF-8$",
    "utf16.csv": r"utf16\.csv is UTF-16 text, not UTF-8 CSV text; save it as UTF-8$",
    "npy_named.csv": r"npy_named\.csv is a \.npy array, not UTF-8 CSV text; rename it to \.npy$",
    "parquet_named.txt": r"parquet_named\.txt is a Parquet file, not UTF-8 CSV text; rename it to \.parquet$",
    "spreadsheet.xlsx": r"spreadsheet\.xlsx has an unknown file type \(\.xlsx\); name it \.csv, \.tsv or \.txt "
    r"\(optionally \.gz\), \.npy, \.npz, \.parquet, \.safetensors, \.arrow/\.feather, \.jsonl or \.h5 "
    r"\(or use - for CSV on stdin\)$",
    "no_suffix": r"no_suffix has no file extension; name it \.csv",
    "directory.csv": r"directory\.csv is a directory; give a file of predictions or labels$",
    # ---- binary (tests/corpus/make_binary.py; the full fragments are in tests/test_io_binary.py)
    "3d.npy": r"3d\.npy is 3-D with shape \(2, 3, 4\).*reshape it to \(N, K\)",
    "3d.npz": r"3d\.npz:x is 3-D.*reshape",
    "complex.npy": r"complex\.npy holds complex numbers \(complex128\).*arr\.real",
    "strings.npy": r"strings\.npy holds strings \(dtype <U3\).*astype\(float\)",
    "bytes.npy": r"bytes\.npy holds strings \(dtype \|S3\)",
    "object.npy": r"object\.npy holds Python objects.*never unpickles.*arbitrary code",
    "object.npz": r"object\.npz:arr holds Python objects.*never unpickles",
    "structured.npy": r"structured\.npy holds a structured \(record\) array with fields pred, label",
    "datetime.npy": r"datetime\.npy holds dates or times",
    "empty_rows.npy": r"empty_rows\.npy is empty \(shape \(0, 3\)\).*0 rows",
    "empty_rows.parquet": r"empty_rows\.parquet is empty.*0 rows",
    "zero_bytes.npy": r"zero_bytes\.npy is an empty file \(0 bytes\)",
    "truncated.npy": r"truncated\.npy is truncated.*\(6, 3\).*144 bytes.*only 124",
    "truncated_header.npy": r"truncated_header\.npy is truncated.*inside its \.npy header",
    "corrupt_header.npy": r"corrupt_header\.npy has a corrupt \.npy header.*numpy\.save",
    "truncated.npz": r"truncated\.npz is a truncated or corrupt \.npz file.*numpy\.savez",
    "corrupt_crc.npz": r"corrupt_crc\.npz:a is a corrupt \.npz file.*CRC",
    "truncated.parquet": r"truncated\.parquet is a truncated or corrupt \.parquet file.*to_parquet",
    "several.npz": r"several\.npz holds 2 arrays \(preds, labels\).*several\.npz:KEY",
    "empty.npz": r"empty\.npz holds 0 arrays",
    "text_column.parquet": r"text_column\.parquet column 'label' holds string values.*numeric columns",
    "list_column.parquet": r"list_column\.parquet column 'emb' holds list",
    "csv_named.npy": r"csv_named\.npy is not a \.npy file.*looks like text.*rename it to \.csv",
    "csv_named.npz": r"csv_named\.npz is not a \.npz file.*rename it to \.csv",
    "parquet_named.npy": r"parquet_named\.npy is not a \.npy file.*Parquet.*rename it to \.parquet",
    "npy_named.parquet": r"npy_named\.parquet is not a \.parquet file.*rename it to \.npy",
    "pickle_named.npy": r"pickle_named\.npy holds a Python pickle.*never unpickles",
    # ---- issue 14 formats (tests/corpus/make_formats.py; equality with .npy is in tests/test_formats.py)
    "truncated.safetensors": r"truncated\.safetensors:y_pred is truncated: its data ends at byte 144 .* only 104 bytes",
    "truncated_header.safetensors": r"truncated_header\.safetensors is truncated or not a \.safetensors file: .*"
    r"header of 64 bytes but the file has 22",
    "corrupt_header.safetensors": r"corrupt_header\.safetensors has a corrupt \.safetensors header \(not JSON\)",
    "f8.safetensors": r"f8\.safetensors:y has dtype F8_E4M3 \(a float8 type: widen it first",
    "several.safetensors": r"several\.safetensors holds 2 tensors \(labels, preds\); pick one as \S+:NAME",
    "zero_bytes.safetensors": r"zero_bytes\.safetensors is an empty file \(0 bytes\)",
    "no_tensors.safetensors": r"no_tensors\.safetensors holds no tensors",
    "empty_rows.safetensors": r"empty_rows\.safetensors:y is empty \(shape \(0, 3\)\)",
    "3d.safetensors": r"3d\.safetensors:y is 3-D with shape \(2, 3, 4\)",
    "pickle_named.safetensors": r"pickle_named\.safetensors holds a Python pickle.*never unpickles.*"
    r"safetensors\.torch\.save_file",
    "truncated.feather": r"truncated\.feather is a truncated or corrupt Arrow IPC file.*write_feather",
    "truncated.arrow": r"truncated\.arrow is a truncated or corrupt Arrow IPC file",
    "text_column.feather": r"text_column\.feather column 'label' holds string values.*--pred-cols/--label-cols",
    "empty_rows.arrow": r"empty_rows\.arrow is empty: it has 0 rows",
    "zero_bytes.feather": r"zero_bytes\.feather is an empty file \(0 bytes\)",
    "feather_v1.feather": r"feather_v1\.feather is a Feather version 1 file.*\(version 2\)$",
    "empty.jsonl": r"empty\.jsonl has no JSON lines \(it is empty or blank\)",
    "blank.jsonl": r"blank\.jsonl has no JSON lines",
    "truncated.jsonl": r"truncated\.jsonl line 6 is not valid JSON \(.* at column 23\)",
    "text_value.jsonl": r"text_value\.jsonl line 3 'b' is \"cat\", not a number",
    "missing_key.jsonl": r"missing_key\.jsonl line 4 has no key 'c' \(line 1 has it\)",
    "numbers.jsonl": r"numbers\.jsonl line 1 is a JSON float, not an object",
    "truncated.h5": r"truncated\.h5 is not a readable HDF5 file .*truncated or corrupt",
    "several.h5": r"several\.h5 holds 2 datasets \(labels, preds\); pick one as \S+:DATASET",
    "strings.h5": r"strings\.h5:y holds strings",
    "empty_rows.h5": r"empty_rows\.h5:y is empty \(shape \(0, 3\)\)",
    "zero_bytes.h5": r"zero_bytes\.h5 is an empty file \(0 bytes\)",
    "preds.pkl": r"preds\.pkl is a pickle-based file \(\.pkl.*never unpickles.*numpy\.save",
    "preds.pt": r"preds\.pt is a pickle-based file \(\.pt.*safetensors\.torch\.save_file",
}

#: a file of the corpus with a key that it does not have
WRONG_KEYS: dict[str, str] = {
    "several.safetensors:nope": r"several\.safetensors has no tensor 'nope'; its tensors are: labels, preds",
    "several.h5:nope": r"several\.h5 has no dataset 'nope'; its datasets are: labels, preds",
    "several.npz:nope": r"several\.npz has no array 'nope'; its arrays are: preds, labels",
}

BAD_FILES = sorted(p.name for p in BAD.iterdir())


def assert_one_error(result, pattern: str) -> str:
    """Exit code 2, nothing on stdout, one ``error:`` line on stderr matching ``pattern``; returns the line."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr
    assert re.search(pattern, lines[0]), f"{pattern!r} not in {lines[0]!r}"
    return lines[0]


def test_every_bad_file_has_an_expected_message():
    assert set(BAD_FILES) == set(EXPECTED), set(BAD_FILES) ^ set(EXPECTED)


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file(cli, reader_path, name):
    line = assert_one_error(cli("mse", BAD / name, PARTNER), EXPECTED.get(name, r"^$"))
    assert f"{BAD / name}" in line or f"bad/{name}" in line, "the message names the file"


@pytest.mark.parametrize("name", [n for n in BAD_FILES if n.endswith((".csv", ".tsv", ".txt", ".gz"))])
def test_bad_text_file_as_labels(cli, reader_path, name):
    """The same message when the bad file is LABELS (shape mismatches read the other way round)."""
    if name in ("five_rows.csv", "four_columns.csv"):
        pattern = r"clean\.csv has (6 rows but \S*five_rows\.csv has 5|3 columns but \S*four_columns\.csv has 4)"
    else:
        pattern = EXPECTED[name]
    assert_one_error(cli("mse", PARTNER, BAD / name), pattern)


@pytest.mark.parametrize("spec", sorted(WRONG_KEYS))
def test_wrong_key(cli, spec):
    assert_one_error(cli("mse", f"{BAD}/{spec}", PARTNER), WRONG_KEYS[spec])


def test_both_paths_give_the_same_message(cli, monkeypatch):
    """The streaming and the small-file path are checked separately above; here, side by side."""
    small = {n: cli("mse", BAD / n, PARTNER).stderr for n in BAD_FILES}
    monkeypatch.setattr(text, "BIG_FILE_BYTES", 0)
    monkeypatch.setattr(text, "BLOCK_BYTES", 5)
    streamed = {n: cli("mse", BAD / n, PARTNER).stderr for n in BAD_FILES}
    assert small == streamed
