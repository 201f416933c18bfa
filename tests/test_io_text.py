"""Text inputs: messy-but-valid files, round trips of random arrays, stdin, NaN handling, the two reader paths.

Every test that reads text runs on both reader paths: the small-file path
(numpy.loadtxt on the whole file) and the streaming path (pyarrow on blocks of
lines), forced by setting ``BIG_FILE_BYTES`` to 0 and the block size to a few
bytes so that blocks split the file everywhere.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import lossctl
from lossctl.errors import InputError
from lossctl.io import open_source, read_array, text
from tests.conftest import force_streaming

CORPUS = Path(__file__).parent / "corpus"
MESSY = CORPUS / "messy"
REF = np.arange(18, dtype=np.float64).reshape(6, 3)  # what every messy text file holds (make_text.py)
TEXT_MESSY = sorted(p.name for p in MESSY.iterdir() if text.is_text(p.name))


def json_values(result) -> dict:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    data = json.loads(result.stdout)
    return {c["name"]: c.get("value") for c in data["conventions"]} | {"_json": data}


# ---------------------------------------------------------------- messy but valid


def test_the_messy_corpus_covers_the_forms():
    assert len(TEXT_MESSY) >= 20
    assert {"bom.csv", "crlf.csv", "spaces.csv", "gzipped.csv.gz", "tabs.tsv", "semicolons.csv"} <= set(TEXT_MESSY)


@pytest.mark.parametrize("name", TEXT_MESSY)
def test_messy_file_reads_as_the_clean_array(reader_path, name):
    got = read_array(str(MESSY / name))
    assert got.dtype == np.float64
    assert_array_equal(got, REF)


@pytest.mark.parametrize("name", TEXT_MESSY)
def test_messy_file_gives_the_clean_loss(cli, reader_path, tmp_path, name):
    labels = tmp_path / "reversed.csv"
    labels.write_text("".join(",".join(f"{v:g}" for v in row) + "\n" for row in REF[::-1]))
    got = json_values(cli("mse", MESSY / name, labels, "-f", "json"))
    # hand computed: rows i and 5-i differ by 15, 9, 3 in every column: 2*3*(225+81+9) = 1890 over 18 elements
    assert got["sum"] == 1890.0
    assert got["mean"] == 105.0
    assert got["_json"]["shape"] == [6, 3]


def test_header_names_are_kept():
    assert open_source(str(MESSY / "spaces.csv")).column_names == ("p0", "p1", "p2")
    assert open_source(str(MESSY / "bom.csv")).column_names == ("p0", "p1", "p2")  # the BOM is not in the name
    assert open_source(str(MESSY / "clean.csv")).column_names is None


# ---------------------------------------------------------------- round trips of random arrays

finite = st.floats(min_value=-1e100, max_value=1e100, allow_nan=False, allow_subnormal=True)


@st.composite
def written_arrays(draw):
    n, k = draw(st.integers(1, 12)), draw(st.integers(1, 5))
    arr = np.array(draw(st.lists(finite, min_size=n * k, max_size=n * k)), dtype=np.float64).reshape(n, k)
    delimiter = draw(st.sampled_from([",", "\t", ";", "|", " "]))
    header = draw(st.booleans())
    end = draw(st.sampled_from(["\n", "\r\n"]))
    pad = draw(st.sampled_from(["", " "])) if delimiter not in " " else ""
    lines = [delimiter.join(f"{pad}{v!r}{pad}" for v in row) for row in arr.tolist()]
    if header:
        lines.insert(0, delimiter.join(f"col{j}" for j in range(k)))
    body = end.join(lines) + draw(st.sampled_from(["", end, end * 3]))
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + body.encode()
    compress = draw(st.booleans())
    return arr, data, compress, header


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=written_arrays(), block=st.integers(1, 64))
def test_round_trip_on_both_paths(tmp_path_factory, monkeypatch, case, block):
    arr, data, compress, header = case
    path = tmp_path_factory.mktemp("rt") / ("a.csv.gz" if compress else "a.csv")
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    small = read_array(str(path))
    with monkeypatch.context() as m:
        force_streaming(m, block=block, piece=max(1, block // 3))
        streamed = read_array(str(path))
    assert_array_equal(small, arr)
    assert_array_equal(streamed, arr)
    assert (open_source(str(path)).column_names is not None) == header


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=written_arrays())
def test_round_trip_gives_the_numpy_loss(tmp_path_factory, case):
    arr, data, compress, _ = case
    folder = tmp_path_factory.mktemp("loss")
    path = folder / ("p.tsv.gz" if compress else "p.tsv")
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    zeros = folder / "zeros.npy"
    np.save(zeros, np.zeros_like(arr))
    report = lossctl.evaluate("mse", str(path), str(zeros))
    expected = math.fsum((arr**2).ravel().tolist())
    assert_allclose(report.convention("sum").value, expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["a.csv", "a.csv.gz"])
def test_multi_block_file_streams_in_several_chunks(monkeypatch, tmp_path, name):
    arr = np.arange(3000, dtype=np.float64).reshape(1000, 3) / 7
    body = "".join(",".join(repr(v) for v in row) + "\n" for row in arr.tolist()).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    force_streaming(monkeypatch, block=4096, piece=1000)
    chunks = list(open_source(str(path)).chunks(100_000))
    assert len(chunks) > 5  # bounded memory: never the whole file at once
    assert max(len(c) for c in chunks) < 300
    assert_array_equal(np.concatenate(chunks), arr)


def test_integers_stay_exact(reader_path, tmp_path):
    """Class indices (and any integer up to 2**53) are read exactly."""
    values = [0, 1, 7, 2**31, 2**53 - 1, 2**53]
    path = tmp_path / "idx.csv"
    path.write_text("label\n" + "".join(f"{v}\n" for v in values))
    got = read_array(str(path))
    assert got[:, 0].tolist() == [float(v) for v in values]
    assert [int(v) for v in got[:, 0]] == values


def test_class_index_labels_from_csv(cli, reader_path):
    sample = Path(__file__).parent.parent / "sample_data"
    got = json_values(cli("sparse-cce", sample / "class_probs.csv", sample / "class_index.csv", "-f", "json"))
    # hand computed: -(ln 0.7 + ln 0.8 + ln 0.5 + ln 0.3) / 4
    assert_allclose(got["batch_mean"], -(math.log(0.7) + math.log(0.8) + math.log(0.5) + math.log(0.3)) / 4)


@pytest.mark.parametrize(
    "cell,message",
    [
        ("1_000", "is not a number: '1_000'"),
        ("\u0661", "is not a number: '\u0661'"),  # an Arabic-Indic digit: Python's float() would read it as 1
        ("0x10", "is not a number: '0x10'"),
        ("1e999", "is 1e999, which overflows float64"),
        ("-1E+400", "is -1E+400, which overflows float64"),
        ("", "is empty"),
        ("  ", "is empty"),
    ],
)
def test_cells_that_are_refused(reader_path, tmp_path, cell, message):
    path = tmp_path / "x.csv"
    path.write_text(f"1,2\n3,{cell}\n5,6\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(f"x.csv line 2 column 2 {message}")):
        read_array(str(path))


@pytest.mark.parametrize(
    "cell,value",
    [("nan", math.nan), ("NaN", math.nan), ("-inf", -math.inf), ("Infinity", math.inf), ("+1.5", 1.5), ("1e-999", 0.0)],
)
def test_special_values_are_read(reader_path, tmp_path, cell, value):
    path = tmp_path / "x.csv"
    path.write_text(f"1,2\n3,{cell}\n")
    assert_array_equal(read_array(str(path))[1, 1], value)


def test_header_with_a_number_is_data(tmp_path):
    """A first row with any number in it is data, so a bad cell there is an error, not a silently dropped sample."""
    path = tmp_path / "x.csv"
    path.write_text("1,abc\n3,4\n")
    with pytest.raises(InputError, match="x.csv line 1 column 2 is not a number: 'abc'"):
        read_array(str(path))


def test_small_files_do_not_import_pyarrow_or_pandas():
    sample = Path(__file__).parent.parent / "sample_data"
    code = (
        "import sys; from lossctl.cli import app\n"
        f"try: app([ 'mse', {str(sample / 'preds.csv')!r}, {str(sample / 'labels.csv')!r}, '-f', 'plain'])\n"
        "except SystemExit: pass\n"
        "print('heavy:', sorted(m for m in ('pyarrow', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("heavy: []"), out


# ---------------------------------------------------------------- standard input


def test_stdin_equals_the_file(cli, reader_path):
    data = (MESSY / "header.csv").read_bytes()
    from_file = json_values(cli("mse", MESSY / "header.csv", MESSY / "crlf.csv", "-f", "json"))
    from_stdin = json_values(cli("mse", "-", MESSY / "crlf.csv", "-f", "json", input=data))
    as_labels = json_values(cli("mse", MESSY / "crlf.csv", "-", "-f", "json", input=data))
    assert from_stdin["mean"] == from_file["mean"] == as_labels["mean"] == 0.0


def test_gzip_on_stdin(cli, reader_path):
    data = (MESSY / "gzipped.csv.gz").read_bytes()
    got = json_values(cli("mse", "-", MESSY / "clean.csv", "-f", "json", input=data))
    assert got["sum"] == 0.0


def test_stdin_read_once_feeds_both_columns_sets(cli, reader_path):
    data = "p0,p1,y0,y1\n0.5,0.5,1,0\n0.2,0.8,0,1\n"
    got = json_values(cli("mse", "-", "--pred-cols", "p*", "--label-cols", "y*", "-f", "json", input=data))
    # hand computed: (0.25 + 0.25 + 0.04 + 0.04) / 4
    assert_allclose(got["mean"], 0.145, rtol=1e-15)


def test_stdin_errors(cli):
    from tests.test_corpus import assert_one_error

    assert_one_error(cli("mse", "-", MESSY / "clean.csv", input=""), r"<stdin> is empty \(0 bytes\)")
    assert_one_error(cli("mse", "-", MESSY / "clean.csv", input="1,2\nx,3\n"), r"<stdin> line 2 column 1 is not a")
    assert_one_error(cli("mse", "-", "-", input="1\n"), r"only one of PREDICTIONS and LABELS can be -")


def test_stdin_terminal_is_refused():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with pytest.raises(InputError, match="<stdin> is a terminal; pipe CSV into lossctl"):
        open_source("-", stdin=Terminal())


# ---------------------------------------------------------------- NaN


NAN_PREDS = "p0,p1\n0.5,nan\n1,1\nNaN,2\n3,3\n"
NAN_LABELS = "0,0\n1,0\n2,2\n3,nan\n"


def test_nan_is_an_error_with_the_omit_hint(cli, tmp_path):
    from tests.test_corpus import assert_one_error

    (tmp_path / "p.csv").write_text(NAN_PREDS)
    (tmp_path / "l.csv").write_text(NAN_LABELS)
    assert_one_error(
        cli("mse", tmp_path / "p.csv", tmp_path / "l.csv"),
        r"p\.csv row 1 column 2 is nan; lossctl needs finite numbers \(pass --nan omit to drop such samples\)$",
    )


def test_nan_omit_drops_and_says_how_many(cli, reader_path, tmp_path):
    (tmp_path / "p.csv").write_text(NAN_PREDS)
    (tmp_path / "l.csv").write_text(NAN_LABELS)
    result = cli("mse", tmp_path / "p.csv", tmp_path / "l.csv", "--nan", "omit", "-f", "json")
    got = json_values(result)
    # samples 1, 3 (preds) and 4 (labels) hold NaN; only sample 2 is left: errors 0 and 1
    assert got["_json"]["dropped"] == 3
    assert got["_json"]["shape"] == [1, 2]
    assert got["sum"] == 1.0
    assert "dropped:3" in got["_json"]["signature"]
    assert "dropped 3 samples with NaN" in result.stderr
    table = cli("mse", tmp_path / "p.csv", tmp_path / "l.csv", "--nan", "omit", "-f", "table")
    assert "dropped:3" in table.stdout
