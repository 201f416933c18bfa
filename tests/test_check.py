"""`lossctl check`: files, globs, directories, manifests, broken files, --jobs, streaming, exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lossctl import check as checks
from lossctl.check import Check, plan, read_manifest, run_checks
from lossctl.cli import check as check_cli
from lossctl.errors import LossctlError
from lossctl.gate import Bounds
from lossctl.render import CHECK_COLUMNS

ROOT = Path(__file__).resolve().parents[1]

# labels [0, 1]; mse of each prediction file, hand computed: ((p0 - 0)² + (p1 - 1)²) / 2
GOOD = {"a.csv": ("0.5\n1.5\n", 0.25), "c.csv": ("1\n1\n", 0.5), "d.csv": ("0\n1\n", 0.0)}
BROKEN = ("b.csv", "0.5\nnot-a-number\n")


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """tmp/runs/{a,b,c,d}.csv (b broken) and tmp/labels.csv; the working directory is tmp."""
    folder = tmp_path / "runs"
    folder.mkdir()
    for name, (text, _) in GOOD.items():
        (folder / name).write_text(text)
    (folder / BROKEN[0]).write_text(BROKEN[1])
    (tmp_path / "labels.csv").write_text("0\n1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def jsonl(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


FILES = ["runs/a.csv", "runs/b.csv", "runs/c.csv"]


# --------------------------------------------------------------------------- files and broken files


def test_broken_file_in_the_middle_does_not_stop_the_batch(cli, runs):
    result = cli("check", "mse", *FILES, "--labels", "labels.csv", "-f", "jsonl", "-j", "1")
    assert result.exit_code == 2
    rows = jsonl(result)
    assert [r["file"] for r in rows] == FILES and [r["status"] for r in rows] == ["pass", "error", "pass"]
    assert rows[0]["value"] == 0.25 and rows[2]["value"] == 0.5  # hand computed
    assert rows[0]["convention"] == "mean" and rows[0]["signature"].startswith("loss:mse|")
    assert rows[1]["value"] is None
    # the error row carries exactly what the single-file command prints
    single = cli("mse", "runs/b.csv", "labels.csv")
    assert single.exit_code == 2
    assert single.stderr == f"error: {rows[1]['message']}\n"
    assert "runs/b.csv line 2 column 1 is not a number" in rows[1]["message"]
    assert result.stderr == f"error: {rows[1]['message']}\n"  # errors also go to stderr, nothing else


def test_every_row_has_the_public_keys(cli, runs):
    rows = jsonl(cli("check", "mse", *FILES, "--labels", "labels.csv", "-f", "jsonl"))
    assert all(list(r) == list(CHECK_COLUMNS) for r in rows)
    assert rows[0] == {
        "file": "runs/a.csv",
        "labels": "labels.csv",
        "loss": "mse",
        "convention": "mean",
        "value": 0.25,
        "max": None,
        "min": None,
        "status": "pass",
        "message": None,
        "notes": [],
        "signature": rows[0]["signature"],
    }


@pytest.mark.parametrize(
    "bounds,statuses,code",
    [
        ([], ["pass", "pass"], 0),
        (["--max", "0.5"], ["pass", "pass"], 0),  # inclusive: c.csv is exactly 0.5
        (["--max", "0.3"], ["pass", "fail"], 1),
        (["--min", "0.3"], ["fail", "pass"], 1),
        (["--min", "0.3", "--max", "0.4"], ["fail", "fail"], 1),
    ],
)
def test_exit_codes_and_statuses(cli, runs, bounds, statuses, code):
    result = cli("check", "mse", "runs/a.csv", "runs/c.csv", "--labels", "labels.csv", *bounds, "-f", "jsonl")
    assert result.exit_code == code
    assert [r["status"] for r in jsonl(result)] == statuses
    assert result.stderr == ""  # fails are data, not diagnostics


def test_fail_message_names_value_and_bound(cli, runs):
    rows = jsonl(cli("check", "mse", "runs/c.csv", "--labels", "labels.csv", "--max", "0.3", "-f", "jsonl"))
    assert rows[0]["message"] == "runs/c.csv: mse mean = 0.5 is above --max 0.3"
    assert rows[0]["max"] == 0.3 and rows[0]["min"] is None


def test_errors_win_over_fails_in_the_exit_code(cli, runs):
    result = cli("check", "mse", *FILES, "--labels", "labels.csv", "--max", "0.3", "-f", "jsonl")
    assert [r["status"] for r in jsonl(result)] == ["pass", "error", "fail"] and result.exit_code == 2


def test_convention_option_selects_the_checked_value(cli, runs):
    rows = jsonl(cli("check", "mse", "runs/c.csv", "--labels", "labels.csv", "-c", "sum", "-f", "jsonl"))
    assert rows[0]["convention"] == "sum" and rows[0]["value"] == 1.0  # 1² + 0²


def test_missing_labels_file_is_an_error_row_for_each_file(cli, runs):
    result = cli("check", "mse", "runs/a.csv", "runs/c.csv", "--labels", "nope.csv", "-f", "jsonl", "-j", "2")
    assert result.exit_code == 2
    assert [r["message"] for r in jsonl(result)] == ["nope.csv does not exist; check the path"] * 2


# --------------------------------------------------------------------------- globs and directories


def test_quoted_glob_expands_sorted(cli, runs):
    rows = jsonl(cli("check", "mse", "runs/[acd].csv", "--labels", "labels.csv", "-f", "jsonl"))
    assert [r["file"] for r in rows] == ["runs/a.csv", "runs/c.csv", "runs/d.csv"]
    assert [r["value"] for r in rows] == [0.25, 0.5, 0.0]


def test_shell_glob_is_just_many_files(runs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LOSSCTL_FORMAT", None)
    cmd = f"{sys.executable} -m lossctl check mse runs/[acd].csv --labels labels.csv -f jsonl"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=runs, env=env)
    assert proc.returncode == 0 and proc.stderr == ""
    assert [json.loads(line)["file"] for line in proc.stdout.splitlines()] == [f"runs/{n}.csv" for n in "acd"]


def test_glob_matching_nothing_is_an_error_row(cli, runs):
    result = cli("check", "mse", "runs/a.csv", "runs/zz*.csv", "--labels", "labels.csv", "-f", "jsonl")
    rows = jsonl(result)
    assert result.exit_code == 2 and [r["status"] for r in rows] == ["pass", "error"]
    assert rows[1]["message"] == "no files match runs/zz*.csv; check the pattern"


def test_directory_checks_its_input_files_but_not_the_labels(cli, runs):
    (runs / "runs" / "labels.csv").write_text("0\n1\n")
    (runs / "runs" / "notes.md").write_text("not an input")
    (runs / "runs" / ".hidden.csv").write_text("9\n9\n")
    result = cli("check", "mse", "runs", "--labels", "runs/labels.csv", "-f", "jsonl")
    rows = jsonl(result)
    assert [r["file"] for r in rows] == ["runs/a.csv", "runs/b.csv", "runs/c.csv", "runs/d.csv"]
    assert [r["status"] for r in rows] == ["pass", "error", "pass", "pass"] and result.exit_code == 2


def test_empty_directory_is_an_error_row(cli, runs):
    (runs / "empty").mkdir()
    rows = jsonl(cli("check", "mse", "empty", "--labels", "labels.csv", "-f", "jsonl"))
    assert rows[0]["status"] == "error" and "no prediction files" in rows[0]["message"]


def test_a_file_named_twice_is_checked_once(runs):
    checks = plan("mse", ["runs/a.csv", "runs/[a]*.csv", "runs"], "labels.csv")
    assert [c.predictions for c in checks] == ["runs/a.csv", "runs/b.csv", "runs/c.csv", "runs/d.csv"]


# --------------------------------------------------------------------------- manifests


def write_manifest(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue())
    return path


def test_manifest_paths_are_relative_to_its_folder(cli, runs, tmp_path, monkeypatch):
    manifest = write_manifest(
        runs / "checks.csv",
        [
            ["predictions", "labels", "loss", "convention", "max", "min"],
            ["runs/a.csv", "labels.csv", "mse", "", "0.3", ""],
            ["runs/b.csv", "labels.csv", "mse", "", "", ""],
            ["runs/c.csv", "labels.csv", "mae", "sum", "", "1.5"],
        ],
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = cli("check", "--manifest", manifest, "-f", "jsonl")
    rows = jsonl(result)
    assert [r["file"] for r in rows] == [str(runs / "runs" / n) for n in ("a.csv", "b.csv", "c.csv")]
    assert [r["status"] for r in rows] == ["pass", "error", "fail"] and result.exit_code == 2
    assert rows[0]["value"] == 0.25 and rows[0]["max"] == 0.3
    assert rows[2]["loss"] == "mae" and rows[2]["convention"] == "sum" and rows[2]["value"] == 1.0  # |1-0| + |1-1|
    assert rows[2]["message"].endswith("mae sum = 1 is below --min 1.5")


def test_manifest_row_problems_are_error_rows_with_the_line(cli, runs):
    manifest = write_manifest(
        runs / "checks.csv",
        [
            ["predictions", "labels", "loss", "max"],
            ["runs/a.csv", "labels.csv", "mse", "abc"],
            ["runs/c.csv", "labels.csv", "nosuchloss", ""],
            ["runs/d.csv", "", "mse", ""],
            ["runs/c.csv", "labels.csv", "mse", ""],
        ],
    )
    result = cli("check", "--manifest", manifest, "-f", "jsonl")
    rows = jsonl(result)
    assert [r["status"] for r in rows] == ["error", "error", "error", "pass"] and result.exit_code == 2
    assert rows[0]["message"] == f"manifest {manifest} line 2: column max is not a number: 'abc'"
    assert "unknown loss 'nosuchloss'" in rows[1]["message"]
    assert rows[2]["message"] == f"manifest {manifest} line 4: the labels cell is empty"


@pytest.mark.parametrize(
    "header,fragment",
    [
        (["predictions", "labels", "loss", "maximum"], "unknown column 'maximum'"),
        (["predictions", "loss"], "no 'labels' column"),
    ],
)
def test_manifest_header_problems_stop_with_exit_2(cli, runs, header, fragment):
    manifest = write_manifest(runs / "checks.csv", [header, ["runs/a.csv"] * len(header)])
    result = cli("check", "--manifest", manifest)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: manifest") and fragment in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_manifest_without_rows_and_missing_manifest(runs):
    write_manifest(runs / "empty.csv", [["predictions", "labels", "loss"]])
    with pytest.raises(LossctlError, match="lists no checks"):
        read_manifest(str(runs / "empty.csv"))
    with pytest.raises(LossctlError, match="does not exist"):
        read_manifest(str(runs / "nope.csv"))


# --------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["check"], "needs LOSS and at least one PREDICTIONS file"),
        (["check", "mse", "runs/a.csv"], "needs --labels"),
        (["check", "nosuchloss", "runs/a.csv", "--labels", "labels.csv"], "unknown loss 'nosuchloss'"),
        (["check", "mse", "runs/a.csv", "--labels", "labels.csv", "-c", "per_sample"], "per_sample is a vector"),
        (["check", "mse", "runs/a.csv", "--labels", "labels.csv", "-f", "plain"], "unknown format 'plain'"),
        (["check", "mse", "-", "--labels", "labels.csv"], "not standard input"),
        (["check", "mse", "runs/a.csv", "--labels", "labels.csv", "--min", "2", "--max", "1"], "--min 2 is above"),
        (["check", "mse", "runs/a.csv", "--manifest", "m.csv"], "drop LOSS PREDICTIONS..."),
        (["check", "mse", "runs/a.csv", "--labels", "labels.csv", "-j", "0"], "--jobs"),
    ],
)
def test_usage_errors_exit_2_with_one_line(cli, runs, args, fragment):
    result = cli(*args)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr


# --------------------------------------------------------------------------- output formats


def test_table_has_rows_and_a_summary_line(cli, runs, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that Rich does not fold the messages
    result = cli("check", "mse", *FILES, "--labels", "labels.csv", "--max", "0.3", "-f", "table")
    assert result.exit_code == 2
    out = result.stdout
    for fragment in ("in runs/", "a.csv", "0.25", "≤ 0.3", "pass", "error", "fail", "is above --max 0.3"):
        assert fragment in out
    assert out.rstrip().splitlines()[-1] == "3 files: 1 passed, 1 failed, 1 error"


def test_json_has_results_and_summary(cli, runs):
    doc = json.loads(cli("check", "mse", *FILES, "--labels", "labels.csv", "-f", "json").stdout)
    assert doc["summary"] == {"passed": 2, "failed": 0, "errors": 1, "total": 3}
    assert [r["file"] for r in doc["results"]] == FILES and "lossctl" in doc


@pytest.mark.parametrize("fmt,delimiter", [("csv", ","), ("tsv", "\t")])
def test_csv_and_tsv_rows(cli, runs, fmt, delimiter):
    result = cli("check", "mse", *FILES, "--labels", "labels.csv", "-f", fmt)
    rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter=delimiter))
    assert list(rows[0]) == list(CHECK_COLUMNS)
    assert [(r["file"], r["status"]) for r in rows] == list(zip(FILES, ["pass", "error", "pass"], strict=True))
    assert float(rows[0]["value"]) == 0.25 and rows[1]["value"] == ""


def test_piped_default_is_tsv(cli, runs):
    assert cli("check", "mse", "runs/a.csv", "--labels", "labels.csv").stdout.startswith("file\tlabels\tloss\t")


# --------------------------------------------------------------------------- --jobs, streaming, label caching


def make_many(folder: Path, n: int = 12) -> list[str]:
    rng = np.random.default_rng(5)
    np.savetxt(folder / "y.csv", rng.random((300, 4)), delimiter=",")
    names = []
    for i in range(n):
        path = folder / f"m{i:02d}.csv"
        if i == 4:
            path.write_text("broken\n1,2\n")
        else:
            np.savetxt(path, rng.random((300, 4)) + i, delimiter=",")
        names.append(str(path))
    return names


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_jobs_give_identical_results_and_order(cli, tmp_path, fmt):
    files = make_many(tmp_path)
    args = ("check", "mse", *files, "--labels", tmp_path / "y.csv", "--max", "30", "-f", fmt)
    serial = cli(*args, "--jobs", "1")
    for jobs in ("2", "5"):
        parallel = cli(*args, "--jobs", jobs)
        assert parallel.exit_code == serial.exit_code == 2
        assert parallel.stdout == serial.stdout and parallel.stderr == serial.stderr


def test_jsonl_streams_each_result_before_the_next_is_computed(runs, monkeypatch, capsys):
    seen: list[str] = []
    real = checks.run_check

    def spy(check: Check):
        seen.append(capsys.readouterr().out)  # what was printed before this file started
        return real(check)

    monkeypatch.setattr(checks, "run_check", spy)
    code = check_cli.check(
        args=["mse", *FILES],
        labels="labels.csv",
        convention=None,
        max_=None,
        min_=None,
        jobs=1,
        timeout=0,  # no budget: in this process, where the spy sees each call
        fmt="jsonl",
        manifest=None,
    )
    assert code == 2
    printed = [json.loads(chunk)["file"] if chunk else None for chunk in seen]
    assert printed == [None, "runs/a.csv", "runs/b.csv"]  # each row was out before the next began


def test_parallel_results_keep_input_order(tmp_path):
    files = make_many(tmp_path)
    checks = plan("mse", files, str(tmp_path / "y.csv"))
    assert [r.file for r in run_checks(checks, jobs=4)] == files


def test_shared_labels_are_read_once(tmp_path, monkeypatch):
    files = make_many(tmp_path)
    log = tmp_path / "opened.log"
    real = checks.open_source

    def counting(path, **kw):
        with open(log, "a") as f:  # a file, so that forked workers' calls count too
            f.write(f"{path}\n")
        return real(path, **kw)

    monkeypatch.setattr(checks, "open_source", counting)
    for jobs in (1, 3):
        log.write_text("")
        results = list(run_checks(plan("mse", files, str(tmp_path / "y.csv")), jobs=jobs))
        assert len(results) == len(files)
        assert log.read_text().splitlines() == [str(tmp_path / "y.csv")], jobs


def test_gate_bounds_validate():
    with pytest.raises(LossctlError, match="above --max"):
        Bounds(max=1, min=2)
    assert Bounds().describe() == "" and not Bounds()
    assert Bounds(max=0.1, min=0.05).describe() == "0.05 … 0.1"


# --------------------------------------------------------------------------- interactive niceties


def test_progress_bar_only_for_many_files_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert check_cli._progress(check_cli.PROGRESS_MIN_FILES, "jsonl") is not None
    assert check_cli._progress(check_cli.PROGRESS_MIN_FILES - 1, "jsonl") is None
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert check_cli._progress(50, "jsonl") is None  # would interleave with the rows on the same terminal
    assert check_cli._progress(50, "table") is not None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert check_cli._progress(50, "table") is None


def test_non_interactive_stderr_is_empty_when_all_pass(cli, tmp_path):
    files = [f for i, f in enumerate(make_many(tmp_path)) if i != 4]
    result = cli("check", "mse", *files, "--labels", tmp_path / "y.csv", "-f", "jsonl", "-j", "2")
    assert result.exit_code == 0 and result.stderr == "" and len(result.stdout.splitlines()) == len(files)


def test_closed_pipe_ends_quietly(tmp_path):
    files = [f for i, f in enumerate(make_many(tmp_path)) if i != 4]  # no error lines: stderr must stay empty
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = f"{sys.executable} -m lossctl check mse {' '.join(files)} --labels {tmp_path}/y.csv -f jsonl -j 2 | head -1"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env)
    assert proc.stderr == "" and json.loads(proc.stdout)["file"] == files[0]


def test_help_has_an_example(cli):
    out = cli("check", "--help").stdout
    assert "Example: lossctl check mse" in out and "--manifest" in out and "--jobs" in out
