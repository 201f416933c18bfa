"""Several files as one array: globs and @lists, concatenated by rows in natural sort order."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossctl.io import open_source, read_array
from lossctl.io.shards import expand, natural_key
from tests.conftest import assert_error

N = 3000


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A 3,000 x 2 pair, joined (.npy) and split: predictions in 11 .npy shards, labels in 3 CSV shards."""
    root = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(14)
    p, y = rng.normal(size=(N, 2)), rng.normal(size=(N, 2))
    p[17, 1] = np.nan  # for --nan omit
    np.save(root / "p.npy", p)
    np.save(root / "y.npy", y)
    (root / "ps").mkdir()
    (root / "ys").mkdir()
    # uneven sizes, and numbers that sort wrongly as text (part-10 < part-2)
    for i, rows in enumerate(np.array_split(np.arange(N), 11)):
        np.save(root / "ps" / f"part-{i}.npy", p[rows])
    for i, rows in enumerate(np.array_split(np.arange(N), 3)):
        np.savetxt(root / "ys" / f"part-{i}.csv", y[rows], delimiter=",", fmt="%.17g")
    return root


def _json(cli, *args) -> dict:
    result = cli(*args, "-f", "json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def _numbers(report: dict) -> tuple:
    return report["shape"], report["conventions"], report["frameworks"], report["dropped"]


def test_natural_sort_order():
    names = ["part-10.npy", "part-2.npy", "part-1.npy", "b/part-0.npy", "part-01.npy"]
    assert sorted(names, key=natural_key) == ["b/part-0.npy", "part-1.npy", "part-01.npy", "part-2.npy", "part-10.npy"]


def test_glob_is_read_in_natural_order(pair):
    files = expand(str(pair / "ps" / "part-*.npy"))
    assert [f.rsplit("/", 1)[1] for f in files] == [f"part-{i}.npy" for i in range(11)]
    np.testing.assert_array_equal(read_array(str(pair / "ps" / "part-*.npy")), np.load(pair / "p.npy"))


@pytest.mark.parametrize("chunk", ["65536", "7", "1000"])
@pytest.mark.parametrize("nan", ["omit"])
def test_split_pair_gives_the_same_json_as_the_joined_files(cli, pair, chunk, nan):
    joined = _json(cli, "mse", pair / "p.npy", pair / "y.npy", "--chunk-rows", chunk, "--nan", nan)
    split = _json(cli, "mse", f"{pair}/ps/part-*.npy", f"{pair}/ys/part-*.csv", "--chunk-rows", chunk, "--nan", nan)
    assert _numbers(split) == _numbers(joined)
    assert joined["dropped"] == 1 and joined["shape"] == [N - 1, 2]
    assert "files:11+3|" in split["signature"]
    assert split["signature"].replace("files:11+3|", "") == joined["signature"]


def test_split_with_column_selection(cli, pair):
    args = ("--pred-cols", "1", "--label-cols", "0", "--nan", "omit", "--chunk-rows", "13")
    joined = _json(cli, "mae", pair / "p.npy", pair / "y.npy", *args)
    split = _json(cli, "mae", f"{pair}/ps/part-*.npy", f"{pair}/ys/part-*.csv", *args)
    assert _numbers(split) == _numbers(joined)
    assert joined["shape"] == [N - 1, 1]


def test_list_file_with_comments_blank_lines_and_relative_paths(cli, pair, tmp_path, monkeypatch):
    listing = pair / "preds.txt"
    lines = [f"ps/part-{i}.npy" for i in range(11)]
    lines[3:3] = ["", "# a comment", "   "]
    listing.write_text("\n".join(reversed(lines)) + "\n")  # listed out of order: read in natural order
    monkeypatch.chdir(tmp_path)  # relative to the list file, not to the working directory
    joined = _json(cli, "mse", pair / "p.npy", pair / "y.npy", "--nan", "omit")
    listed = _json(cli, "mse", f"@{listing}", f"{pair}/ys/part-*.csv", "--nan", "omit")
    assert _numbers(listed) == _numbers(joined)
    assert "files:11+3" in listed["signature"]


def test_weights_may_be_a_glob_too(cli, pair, tmp_path):
    w = np.linspace(0.5, 2.0, N)
    np.save(tmp_path / "w.npy", w)
    for i, rows in enumerate(np.array_split(np.arange(N), 4)):
        np.save(tmp_path / f"w-{i}.npy", w[rows])
    joined = _json(cli, "mse", pair / "p.npy", pair / "y.npy", "--weights", tmp_path / "w.npy", "--nan", "omit")
    split = _json(cli, "mse", f"{pair}/ps/*.npy", pair / "y.npy", "--weights", f"{tmp_path}/w-*.npy", "--nan", "omit")
    assert _numbers(split) == _numbers(joined)
    assert "files:11+1+4" in split["signature"]


def test_one_file_is_not_counted_in_the_signature(cli, pair):
    report = _json(cli, "mse", f"{pair}/ps/part-1?.npy", f"{pair}/ps/part-10.npy")
    assert "files:" not in report["signature"]


def test_nan_error_numbers_rows_across_the_files(cli, tmp_path):
    a = np.arange(24, dtype=float).reshape(12, 2)
    a[5, 1] = np.nan  # 0-based row 5 of the whole array: row 2 of s-2.npy
    for i in range(3):
        np.save(tmp_path / f"s-{i + 1}.npy", a[4 * i : 4 * i + 4])
    np.save(tmp_path / "y.npy", np.zeros((12, 2)))
    line = assert_error(cli("mse", f"{tmp_path}/s-*.npy", tmp_path / "y.npy"), "row 6 column 2 is nan")
    assert "s-*.npy" in line


def test_shard_of_names_the_file_and_its_own_row(pair):
    src = open_source(f"{pair}/ps/part-*.npy")
    sizes = [len(a) for a in np.array_split(np.arange(N), 11)]
    assert sum(len(c) for c in src.chunks(100)) == N
    row = sizes[0] + sizes[1] + 4  # 0-based global row: the 5th row of part-2
    assert src.row(row) == f"{pair}/ps/part-*.npy row {row + 1} ({pair}/ps/part-2.npy row 5)"
    assert src.files == 11


def test_glob_matching_nothing_names_the_pattern(cli, pair):
    assert_error(cli("mse", f"{pair}/ps/nope-*.npy", pair / "y.npy"), f"no file matches {pair}/ps/nope-*.npy")


def test_mixed_formats_are_refused(cli, pair, tmp_path):
    np.save(tmp_path / "a-1.npy", np.zeros((2, 2)))
    np.savetxt(tmp_path / "a-2.csv", np.zeros((2, 2)), delimiter=",")
    assert_error(cli("mse", f"{tmp_path}/a-*", pair / "y.npy"), "mixes file formats", "a-1.npy is .npy", "a-2.csv")


def test_a_shard_with_other_columns_is_named(cli, tmp_path):
    np.save(tmp_path / "a-1.npy", np.zeros((2, 2)))
    np.save(tmp_path / "a-2.npy", np.zeros((2, 3)))
    np.save(tmp_path / "y.npy", np.zeros((4, 2)))
    line = assert_error(cli("mse", f"{tmp_path}/a-*.npy", tmp_path / "y.npy"), "a-2.npy has 3 columns but")
    assert re.search(r"a-1\.npy has 2; every file of \S+a-\*\.npy needs the same columns", line)


def test_a_shard_with_other_column_names_is_named(cli, tmp_path):
    (tmp_path / "a-1.csv").write_text("x,y\n1,2\n")
    (tmp_path / "a-2.csv").write_text("x,z\n1,2\n")
    assert_error(cli("mse", f"{tmp_path}/a-*.csv", f"{tmp_path}/a-*.csv"), "a-2.csv has columns (x, z)")


def test_a_bad_shard_is_named_with_its_own_line(cli, tmp_path):
    (tmp_path / "a-1.csv").write_text("1,2\n3,4\n")
    (tmp_path / "a-2.csv").write_text("1,2\n3,x\n")
    np.save(tmp_path / "y.npy", np.zeros((4, 2)))
    assert_error(cli("mse", f"{tmp_path}/a-*.csv", tmp_path / "y.npy"), "a-2.csv line 2 column 2 is not a number")


def test_list_errors(cli, tmp_path):
    np.save(tmp_path / "y.npy", np.zeros((2, 1)))
    assert_error(cli("mse", f"@{tmp_path}/none.txt", tmp_path / "y.npy"), "list file", "none.txt does not exist")
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    assert_error(cli("mse", f"@{tmp_path}/empty.txt", tmp_path / "y.npy"), "empty.txt lists no files")
    (tmp_path / "missing.txt").write_text("gone.npy\n")
    assert_error(cli("mse", f"@{tmp_path}/missing.txt", tmp_path / "y.npy"), "gone.npy does not exist")
    np.save(tmp_path / "a.npy", np.zeros((1, 1)))
    (tmp_path / "twice.txt").write_text("a.npy\n./a.npy\n")
    assert_error(cli("mse", f"@{tmp_path}/twice.txt", tmp_path / "y.npy"), "names", "a.npy twice")


def test_keyed_glob_applies_the_key_to_every_file(tmp_path):
    for i in range(3):
        np.savez(tmp_path / f"s-{i}.npz", preds=np.full((2, 1), i), other=np.zeros(1))
    np.testing.assert_array_equal(read_array(f"{tmp_path}/s-*.npz:preds")[:, 0], [0, 0, 1, 1, 2, 2])


def test_one_sharded_file_split_into_both_sides(cli, tmp_path):
    """--pred-cols/--label-cols on a glob of files holding both sides: rows and file counts carry through."""
    both = np.random.default_rng(5).normal(size=(30, 4))
    np.save(tmp_path / "both.npy", both)
    for i, rows in enumerate(np.array_split(np.arange(30), 4)):
        np.save(tmp_path / f"r-{i}.npy", both[rows])
    args = ("--pred-cols", "0:2", "--label-cols", "2:4", "--chunk-rows", "4")
    joined = _json(cli, "mse", tmp_path / "both.npy", *args)
    split = _json(cli, "mse", f"{tmp_path}/r-*.npy", *args)
    assert _numbers(split) == _numbers(joined)
    assert "files:4+4" in split["signature"]
    from lossctl.io.columns import split as split_columns

    preds, _ = split_columns(open_source(f"{tmp_path}/r-*.npy"), "0:2", "2:4")
    assert sum(len(c) for c in preds.chunks(4)) == 30
    assert preds.row(9).endswith("(" + f"{tmp_path}/r-1.npy row 2)")  # r-0 holds 8 rows


def test_shards_of_several_dtypes_report_their_common_dtype(tmp_path):
    np.save(tmp_path / "m-1.npy", np.zeros((2, 1), dtype=np.float32))
    np.save(tmp_path / "m-2.npy", np.zeros((2, 1), dtype=np.float32))
    assert open_source(f"{tmp_path}/m-*.npy").dtype == "float32"
    np.save(tmp_path / "m-3.npy", np.ones((2, 1), dtype=np.int64))
    src = open_source(f"{tmp_path}/m-*.npy")
    assert src.dtype == "float64"
    assert read_array(f"{tmp_path}/m-*.npy")[:, 0].tolist() == [0, 0, 0, 0, 1, 1]


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 60),
    cuts=st.lists(st.integers(1, 59), max_size=6, unique=True),
    rows=st.integers(1, 70),
    text=st.booleans(),
)
def test_any_split_reads_back_the_same_array(n, cuts, rows, text):
    """However the rows are split into files and whatever the chunk size, the array read is the array written."""
    import tempfile
    from pathlib import Path

    a = np.random.default_rng(n).normal(size=(n, 2))
    bounds = [0, *sorted(c for c in cuts if c < n), n]
    with tempfile.TemporaryDirectory() as d:
        for i, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
            if text:
                np.savetxt(Path(d) / f"s-{i}.csv", a[lo:hi], delimiter=",", fmt="%.17g")
            else:
                np.save(Path(d) / f"s-{i}.npy", a[lo:hi])
        src = open_source(f"{d}/s-*.{'csv' if text else 'npy'}")
        chunks = list(src.chunks(rows))
        assert text or all(len(c) <= rows for c in chunks)  # small text files come whole; pairing rechunks
        np.testing.assert_array_equal(np.concatenate(chunks), a)
        assert src.files == len(bounds) - 1
