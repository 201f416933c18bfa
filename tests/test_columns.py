"""Column selection: --pred-cols / --label-cols, on one file or on each file of a pair, in every format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from lossctl.errors import UsageError
from lossctl.io import open_source
from lossctl.io.columns import resolve, select, split
from tests.test_corpus import assert_one_error

MESSY = Path(__file__).parent / "corpus" / "messy"
NAMES = ("id", "p0", "p1", "p2", "y0", "y1", "y2", "3")

# (spec, expected 0-based indices into NAMES)
RESOLVE_CASES = [
    ("p0,p1", [1, 2]),
    ("p*", [1, 2, 3]),
    ("y?", [4, 5, 6]),
    ("[py]0", [1, 4]),
    ("y2,p0", [6, 1]),  # in the order given
    ("1:4", [1, 2, 3]),  # end excluded, as in Python
    ("5:", [5, 6, 7]),
    (":2", [0, 1]),
    ("0", [0]),
    ("3", [7]),  # an exact name wins over an index
    (" p0 , 6 ", [1, 6]),  # spaces around items
    ("p*,y0", [1, 2, 3, 4]),
]


@pytest.mark.parametrize("spec,expected", RESOLVE_CASES)
def test_resolve(spec, expected):
    assert resolve(spec, NAMES, len(NAMES), "t.csv", "--pred-cols") == expected


@pytest.mark.parametrize(
    "spec,names,message",
    [
        ("q0", NAMES, "--pred-cols: t.csv has no column 'q0'; its columns are: id, p0, p1, p2, y0, y1, y2, 3"),
        ("z*", NAMES, "--pred-cols 'z*' matches no column of t.csv; its columns are: id, p0"),
        ("9", NAMES, "--pred-cols column 9 is out of range: t.csv has 8 columns, indexed 0 to 7 (0-based)"),
        ("6:9", NAMES, "--pred-cols range '6:9' does not fit t.csv, which has 8 columns (0 to 7)"),
        ("4:2", NAMES, "range '4:2' does not fit"),
        ("p0,p*", NAMES, "--pred-cols selects column 'p0' twice"),
        ("p0,,p1", NAMES, "--pred-cols 'p0,,p1' has an empty item"),
        ("", NAMES, "has an empty item"),
        (
            "p0",
            None,
            "t.csv has no column 'p0'; it has no header, so select by 0-based index: 0 to 7, or ranges like 0:8",
        ),
        ("p*", None, "--pred-cols 'p*': t.csv has no column names to match"),
        ("-1", NAMES, "t.csv has no column '-1'"),
    ],
)
def test_resolve_errors(spec, names, message):
    with pytest.raises(UsageError) as e:
        resolve(spec, names, 8, "t.csv", "--pred-cols")
    assert message in str(e.value)


def test_long_column_lists_are_shortened():
    names = tuple(f"c{i}" for i in range(100))
    with pytest.raises(UsageError, match=r"its columns are: c0, c1, .*c19 … and 80 more$"):
        resolve("nope", names, 100, "t.csv", "--label-cols")


# ---------------------------------------------------------------- the wrapper over a Source, every format


@pytest.mark.parametrize(
    "spec,source,expected",
    [
        ("p2,p0", "header.csv", [2, 0]),
        ("1:3", "clean.csv", [1, 2]),
        ("2", "float32.npy", [2]),
        ("0,2", "compressed.npz:preds", [0, 2]),
        ("out2,out0", "plain.parquet", [2, 0]),
        ("out*", "row_groups.parquet", [0, 1, 2]),
    ],
)
def test_select_in_every_format(spec, source, expected):
    src = select(open_source(str(MESSY / source)), spec, "--pred-cols")
    whole = np.concatenate(list(open_source(str(MESSY / source)).chunks()))
    got = np.concatenate(list(src.chunks(4)))
    assert_array_equal(got, whole[:, expected])
    assert src.columns() == len(expected)
    assert src.name.endswith(f"[{spec}]")


def test_text_selection_parses_only_the_selected_columns(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('file,p,y\nimg1.png,0.25,1\n"img,2.png",0.5,0\n')
    src = select(open_source(str(path)), "p,y", "--pred-cols")
    assert_array_equal(np.concatenate(list(src.chunks())), [[0.25, 1], [0.5, 0]])


# ---------------------------------------------------------------- through the CLI


RESULTS = "id,p0,p1,y0,y1\na.png,0.5,0.5,1,0\nb.png,0.2,0.8,0,1\nc.png,1,0,1,0\n"
# hand computed mse over (p - y): row a 0.25+0.25, row b 0.04+0.04, row c 0+0 -> sum 0.58 over 6 elements
RESULTS_MEAN, RESULTS_SUM = 0.58 / 6, 0.58


@pytest.fixture
def results(tmp_path) -> Path:
    path = tmp_path / "results.csv"
    path.write_text(RESULTS)
    return path


def mse(result) -> dict:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    data = json.loads(result.stdout)
    return {c["name"]: c.get("value") for c in data["conventions"]} | {"shape": data["shape"]}


@pytest.mark.parametrize(
    "options",
    [
        ["--pred-cols", "p0,p1", "--label-cols", "y0,y1"],  # names
        ["--pred-cols", "1,2", "--label-cols", "3,4"],  # indices
        ["--pred-cols", "1:3", "--label-cols", "3:"],  # ranges
        ["--pred-cols", "p*", "--label-cols", "y*"],  # globs
        ["--pred-cols", "p*", "--label-cols", "3:5"],  # mixed
    ],
)
def test_one_file(cli, reader_path, results, options):
    got = mse(cli("mse", results, *options, "-f", "json"))
    assert got["shape"] == [3, 2]
    assert_allclose(got["mean"], RESULTS_MEAN, rtol=1e-15)
    assert_allclose(got["sum"], RESULTS_SUM, rtol=1e-15)


def test_one_file_order_matters(cli, results):
    swapped = mse(cli("mse", results, "--pred-cols", "p1,p0", "--label-cols", "y0,y1", "-f", "json"))
    # hand computed: row a (0.5-1)²+(0.5-0)², row b (0.8-0)²+(0.2-1)², row c (0-1)²+(1-0)² -> 0.5+1.28+2 = 3.78
    assert_allclose(swapped["sum"], 3.78, rtol=1e-15)


def test_one_file_predictions_default_to_the_other_columns(cli, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("p0,y0,p1,y1\n0.5,1,0.25,0\n")
    got = mse(cli("mse", path, "--label-cols", "y*", "-f", "json"))
    assert got["shape"] == [1, 2]
    assert got["sum"] == 0.3125  # hand computed: (0.5-1)² + (0.25-0)² = 0.25 + 0.0625


def test_pairs_select_on_each_file(cli, reader_path, tmp_path):
    (tmp_path / "p.csv").write_text("id,a,b\n1,0.5,0.5\n2,0.2,0.8\n")
    (tmp_path / "l.tsv").write_text("b\ta\tjunk\n0\t1\tx\n1\t0\ty\n")
    got = mse(
        cli("mse", tmp_path / "p.csv", tmp_path / "l.tsv", "--pred-cols", "a,b", "--label-cols", "a,b", "-f", "json")
    )
    # hand computed: (0.5-1)²+(0.5-0)²+(0.2-0)²+(0.8-1)² = 0.58 over 4
    assert_allclose(got["mean"], 0.58 / 4, rtol=1e-15)


def test_binary_formats_select_by_index_and_name(cli):
    got = mse(
        cli(
            "mse",
            MESSY / "float32.npy",
            MESSY / "plain.parquet",
            "--pred-cols",
            "0:2",
            "--label-cols",
            "out0,out1",
            "-f",
            "json",
        )
    )
    assert got["shape"] == [6, 2]
    assert got["sum"] == 0.0  # both hold 0..17 (make_binary.py)


@pytest.mark.parametrize(
    "options,pattern",
    [
        (
            ["--pred-cols", "p*", "--label-cols", "z"],
            r"--label-cols: \S*results\.csv has no column 'z'; its columns are: "
            r"id, p0, p1, y0, y1$",
        ),
        (["--pred-cols", "q*", "--label-cols", "y*"], r"--pred-cols 'q\*' matches no column of \S*results\.csv"),
        (
            ["--pred-cols", "p*,y0", "--label-cols", "y*"],
            r"column 'y0' of \S*results\.csv is selected by both "
            r"--pred-cols and --label-cols",
        ),
        (["--label-cols", "0:5"], r"--label-cols '0:5' selects every column of \S*results\.csv, leaving none"),
        (
            ["--label-cols", "y*"],
            r"results\.csv line 2 column 1 is not a number: 'a\.png' \(select the numeric "
            r"columns with --pred-cols/--label-cols\)$",
        ),
        (["--pred-cols", "p*"], r"mse needs LABELS: lossctl mse PREDICTIONS LABELS, or one file with --label-cols"),
        (
            ["--pred-cols", "7", "--label-cols", "y*"],
            r"--pred-cols column 7 is out of range: \S*results\.csv has 5 "
            r"columns",
        ),
    ],
)
def test_one_file_errors(cli, reader_path, results, options, pattern):
    assert_one_error(cli("mse", results, *options), pattern)


def test_names_on_a_file_without_names(cli):
    assert_one_error(
        cli("mse", MESSY / "float32.npy", MESSY / "float32.npy", "--pred-cols", "p0"),
        r"--pred-cols: \S*float32\.npy has no column 'p0'; it has no header, so select by 0-based index: 0 to 2",
    )


def test_selected_shapes_must_still_match(cli, results):
    assert_one_error(
        cli("mse", results, "--pred-cols", "p*", "--label-cols", "y0"),
        r"results\.csv\[p\*\] has 2 columns but \S*results\.csv\[y0\] has 1",
    )


# ---------------------------------------------------------------- property: every syntax picks the same columns


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    k=st.integers(2, 8),
    n=st.integers(1, 6),
    data=st.data(),
)
def test_every_syntax_selects_the_same_columns(tmp_path_factory, k, n, data):
    start = data.draw(st.integers(0, k - 1))
    stop = data.draw(st.integers(start + 1, k))
    arr = np.arange(n * k, dtype=np.float64).reshape(n, k) / 4
    path = tmp_path_factory.mktemp("sel") / "t.csv"
    path.write_text(
        ",".join(f"c{j}" for j in range(k)) + "\n" + "".join(",".join(map(repr, r)) + "\n" for r in arr.tolist())
    )
    specs = [
        f"{start}:{stop}",
        ",".join(str(j) for j in range(start, stop)),
        ",".join(f"c{j}" for j in range(start, stop)),
    ]
    for spec in specs:
        src = select(open_source(str(path)), spec, "--pred-cols")
        assert_array_equal(np.concatenate(list(src.chunks(2))), arr[:, start:stop], err_msg=spec)
    rest = [j for j in range(k) if not start <= j < stop]
    if rest:
        preds, labels = split(open_source(str(path)), None, f"{start}:{stop}")
        assert_array_equal(np.concatenate(list(preds.chunks(3))), arr[:, rest])
        assert_array_equal(np.concatenate(list(labels.chunks(3))), arr[:, start:stop])
