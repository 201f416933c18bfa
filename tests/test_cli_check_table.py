"""The `lossctl check` table: one row per file, paths relative, messages recapped once; directories."""

from __future__ import annotations

import json
import re

import pytest

from tests.test_check import runs  # noqa: F401  (the fixture: tmp/runs/{a,b,c,d}.csv, b broken)

ENV = {"COLUMNS": "80", "NO_COLOR": "1"}


def check(cli, *args: str):
    return cli("check", "mse", *args, "--labels", "labels.csv", env=ENV)


def test_one_row_per_file_relative_to_the_common_folder(cli, runs):  # noqa: F811
    result = check(cli, "runs", "--max", "0.3", "-f", "table")
    lines = result.stdout.splitlines()
    assert lines[0] == "lossctl check · mse mean ≤ 0.3 · labels: labels.csv · in runs/"
    assert lines[1].split() == ["file", "value", "status"]  # loss, convention and bound said once above
    rows = [line.split() for line in lines[3:7]]
    assert rows == [["a.csv", "0.25", "pass"], ["b.csv", "error"], ["c.csv", "0.5", "fail"], ["d.csv", "0", "pass"]]
    assert "runs/a.csv" not in "\n".join(lines[3:7])


def test_failures_and_errors_recapped_after_the_table_once(cli, runs):  # noqa: F811
    result = check(cli, "runs", "--max", "0.3", "-f", "table")
    out = result.stdout
    recap = [line for line in out.splitlines() if line.startswith(("FAILED", "ERROR"))]
    assert recap[0].startswith("ERROR  runs/b.csv line 2 column 1 is not a number")
    assert recap[1] == "FAILED runs/c.csv: mse mean = 0.5 is above --max 0.3"
    assert out.count("is not a number") == 1 and out.count("is above --max") == 1
    assert "error:" not in result.stderr  # the table shows each error once, in its recap
    assert out.rstrip().splitlines()[-1] == "4 files: 2 passed, 1 failed, 1 error"
    assert result.exit_code == 2


def test_machine_formats_still_send_errors_to_stderr(cli, runs):  # noqa: F811
    result = check(cli, "runs", "-f", "jsonl")
    assert result.stderr.count("error: runs/b.csv line 2") == 1


def test_a_directory_skips_non_array_files_with_a_note(cli, runs):  # noqa: F811
    (runs / "runs" / "notes.txt").write_text("not an array\n")
    (runs / "runs" / "README.md").write_text("# runs\n")
    (runs / "runs" / "e.npy").write_bytes((runs / "runs" / "a.csv").read_bytes())  # named .npy: read (and fails)
    result = check(cli, "runs", "-f", "jsonl")
    files = [json.loads(line)["file"] for line in result.stdout.splitlines()]
    assert files == ["runs/a.csv", "runs/b.csv", "runs/c.csv", "runs/d.csv", "runs/e.npy"]
    assert "warning: skipped 2 non-array files in the directories: runs/README.md, runs/notes.txt" in result.stderr


def test_a_txt_named_explicitly_is_still_read(cli, runs):  # noqa: F811
    (runs / "runs" / "t.txt").write_text("0.5\n1.5\n")
    result = check(cli, "runs", "runs/t.txt", "-f", "jsonl")
    rows = {json.loads(line)["file"]: json.loads(line) for line in result.stdout.splitlines()}
    assert rows["runs/t.txt"]["value"] == 0.25 and "skipped" not in result.stderr


@pytest.mark.parametrize("pattern", ["b.csv", "runs/b.*", "*b.csv"])
def test_exclude_glob(cli, runs, pattern):  # noqa: F811
    result = check(cli, "runs", "--exclude", pattern, "-f", "jsonl")
    files = [json.loads(line)["file"] for line in result.stdout.splitlines()]
    assert files == ["runs/a.csv", "runs/c.csv", "runs/d.csv"] and result.exit_code == 0


def test_numbers_whole_at_60_columns(cli, runs):  # noqa: F811
    result = cli("check", "mse", "runs", "--labels", "labels.csv", "-f", "table", env={"COLUMNS": "60"})
    assert not re.search(r"[\d.]…|…[\d.]", result.stdout) and max(map(len, result.stdout.splitlines())) <= 60


def test_labels_that_differ_by_row_are_never_cut(cli, runs):  # noqa: F811
    long = runs / "a_rather_long_folder_name_for_the_labels" / "validation_labels_of_the_second_split.csv"
    long.parent.mkdir()
    long.write_text("0\n1\n")
    (runs / "m.csv").write_text(
        f"predictions,labels,loss,convention,max,min\nruns/a.csv,labels.csv,mse,,,\nruns/c.csv,{long},mae,sum,,\n"
    )
    for width in ("60", "80", "200"):
        result = cli("check", "--manifest", "m.csv", "-f", "table", env={"COLUMNS": width, "NO_COLOR": "1"})
        assert str(long) in result.stdout.replace("\n", ""), result.stdout
        assert "…" not in result.stdout and result.exit_code == 0
        header = result.stdout.splitlines()[1].split()
        assert header[:3] == ["file", "loss", "convention"]
