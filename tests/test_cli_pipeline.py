"""lossctl in scripts and CI: default formats, gates, exit codes, per-sample files, --worst, signatures."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from rich.console import Console

from lossctl.cli import default_format
from lossctl.errors import LossctlError
from lossctl.gate import Bounds
from lossctl.output import OutputError, atomic_open, write_per_sample
from lossctl.render import histogram, worst_samples

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
# sample_data: per-sample mse 0.01 and 0.037 (see test_mse.py); mean 0.0235, batch_mean 0.235, sum 0.47
PREDS, LABELS = str(SAMPLE / "preds.csv"), str(SAMPLE / "labels.csv")
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*3[0-9][;m]")  # a foreground colour, not bold


@pytest.fixture
def exact(tmp_path):
    """Predictions [0.5, 1.5] vs labels [0, 1]: mse per sample 0.25 and 0.25, mean exactly 0.25 (hand computed)."""
    p, y = tmp_path / "p.csv", tmp_path / "y.csv"
    p.write_text("0.5\n1.5\n")
    y.write_text("0\n1\n")
    return str(p), str(y)


def one_line(stderr: str, prefix: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), stderr
    return lines[0]


# --------------------------------------------------------------------------- formats when piped


def test_piped_default_is_tsv_without_colour(cli, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "")  # even where colour would be allowed, tsv has none
    result = cli("mse", PREDS, LABELS)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "section\tname\tdivisor\tn\tvalue\tequals\tcall\tsummary"
    assert "\x1b[" not in result.stdout and result.stderr == ""


def test_default_format_is_table_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("LOSSCTL_FORMAT", raising=False)
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert default_format() == "table"
    monkeypatch.setenv("LOSSCTL_FORMAT", "json")
    assert default_format() == "json"
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.delenv("LOSSCTL_FORMAT")
    assert default_format() == "tsv"


def test_lossctl_format_is_overridden_by_f(cli, monkeypatch):
    monkeypatch.setenv("LOSSCTL_FORMAT", "json")
    assert json.loads(cli("mse", PREDS, LABELS).stdout)["loss"] == "mse"
    assert cli("mse", PREDS, LABELS, "-f", "plain", "-c", "mean").stdout == "0.0235\n"


def test_bad_lossctl_format_names_the_variable(cli, monkeypatch):
    monkeypatch.setenv("LOSSCTL_FORMAT", "xml")
    result = cli("mse", PREDS, LABELS)
    assert result.exit_code == 2 and result.stdout == ""
    assert "unknown format 'xml' (from LOSSCTL_FORMAT)" in one_line(result.stderr, "error: ")


def test_plain_with_one_convention_is_the_bare_number(cli):
    assert cli("mse", PREDS, LABELS, "-f", "plain", "-c", "batch_mean").stdout == "0.235\n"


def test_no_color_is_honoured(cli, monkeypatch, tmp_path):
    # the check table colours its statuses; FORCE_COLOR makes Rich colour even into CliRunner's pipe
    bad = tmp_path / "bad.csv"
    bad.write_text("1\n")
    args = ("check", "mse", PREDS, str(bad), "--labels", LABELS, "--max", "0.01", "-f", "table")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert ANSI_COLOUR.search(cli(*args).stdout)
    monkeypatch.setenv("NO_COLOR", "1")
    coloured = cli(*args)
    assert coloured.exit_code == 2 and "fail" in coloured.stdout
    assert not ANSI_COLOUR.search(coloured.stdout)


# --------------------------------------------------------------------------- gates


def test_max_crossed_exits_1_with_one_fail_line(cli):
    result = cli("mse", PREDS, LABELS, "--max", "0.02", "-f", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["loss"] == "mse"  # the output is still printed
    assert one_line(result.stderr, "fail: ") == f"fail: {PREDS}: mse mean = 0.0235 is above --max 0.02"


def test_min_crossed_exits_1(cli):
    result = cli("mse", PREDS, LABELS, "--min", "0.3", "-c", "batch_mean", "-f", "plain")
    assert result.exit_code == 1 and result.stdout == "0.235\n"
    assert one_line(result.stderr, "fail: ") == f"fail: {PREDS}: mse batch_mean = 0.235 is below --min 0.3"


def test_bounds_held_exit_0_and_stderr_quiet(cli):
    result = cli("mse", PREDS, LABELS, "--max", "0.03", "--min", "0.02", "-f", "plain", "-c", "mean")
    assert result.exit_code == 0 and result.stdout == "0.0235\n" and result.stderr == ""


def test_bounds_are_inclusive(cli, exact):
    assert cli("mse", *exact, "--max", "0.25", "--min", "0.25", "-f", "plain", "-c", "mean").exit_code == 0
    result = cli("mse", *exact, "--max", "0.2499", "-f", "plain", "-c", "mean")
    assert result.exit_code == 1 and "mse mean = 0.25 is above --max 0.2499" in result.stderr


def test_gate_shows_enough_digits_to_see_the_crossing(cli):
    # the float64 sum is a hair above 0.0235: above --max 0.0235, and the message must show why
    result = cli("mse", PREDS, LABELS, "--max", "0.0235", "-f", "plain", "-c", "mean")
    assert result.exit_code == 1 and result.stdout == "0.0235\n"  # 15 digits hide the difference
    shown = re.search(r"mse mean = (\S+) is above --max 0\.0235$", one_line(result.stderr, "fail: ")).group(1)
    assert float(shown) > 0.0235 and len(shown) > 15


def test_gate_defaults_to_the_primary_convention(cli):
    # mse's primary is mean (0.0235); with --max 0.1 it passes although batch_mean (0.235) would not
    assert cli("mse", PREDS, LABELS, "--max", "0.1", "-f", "json").exit_code == 0
    result = cli("mse", PREDS, LABELS, "--max", "0.1", "-c", "batch_mean", "-f", "json")
    assert result.exit_code == 1 and "mse batch_mean = 0.235 is above --max 0.1" in result.stderr


def test_gate_on_an_undefined_value_fails(cli, tmp_path):
    p, y = tmp_path / "p.csv", tmp_path / "y.csv"
    p.write_text("1\n2\n")
    y.write_text("0\n1\n")  # mape divides by the label 0
    result = cli("mape", p, y, "--max", "1", "-f", "plain", "-c", "mean")
    assert result.exit_code == 1 and result.stdout == "undefined\n"
    line = one_line(result.stderr, "fail: ")
    assert "mape mean is undefined (division by a label of 0" in line and "--max 1" in line


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["-c", "mean", "-c", "sum", "--max", "1"], "give one -c"),
        (["-c", "per_sample", "--max", "1"], "per_sample is a vector"),
        (["--min", "2", "--max", "1"], "--min 2 is above --max 1"),
        (["--max", "nan"], "--max must be a number"),
        (["--max", "abc"], "--max"),
    ],
)
def test_gate_usage_errors_exit_2(cli, args, fragment):
    result = cli("mse", PREDS, LABELS, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert fragment in one_line(result.stderr, "error: ")


@given(
    value=st.floats(-1e6, 1e6, allow_nan=False),
    low=st.none() | st.floats(-1e6, 1e6, allow_nan=False),
    high=st.none() | st.floats(-1e6, 1e6, allow_nan=False),
)
def test_bounds_property(value, low, high):
    if low is not None and high is not None and low > high:
        with pytest.raises(LossctlError):
            Bounds(high, low)
        return
    message = Bounds(high, low).crossed("x", value)
    inside = (low is None or value >= low) and (high is None or value <= high)
    assert (message is None) == inside
    if message:  # the number shown is on the same side of the bound as the value
        shown = float(re.search(r"= (\S+) is", message).group(1))
        if "above" in message:
            assert shown > high
        else:
            assert shown < low


# --------------------------------------------------------------------------- signature


def test_every_format_carries_the_signature(cli):
    signature = json.loads(cli("mse", PREDS, LABELS, "-f", "json").stdout)["signature"]
    assert signature.startswith("loss:mse|n:N*K|conv:all|shape:2x10|")
    assert cli("mse", PREDS, LABELS, "--signature-only").stdout == signature + "\n"
    for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
        rows = list(csv.reader(io.StringIO(cli("mse", PREDS, LABELS, "-f", fmt).stdout), delimiter=delimiter))
        assert rows[-1][:2] == ["signature", signature]
    assert cli("mse", PREDS, LABELS, "-f", "plain").stdout.splitlines()[-1] == f"signature {signature}"
    assert signature in cli("mse", PREDS, LABELS, "-f", "table").stdout.replace("\n", "")


def test_signature_only_still_gates(cli):
    result = cli("mse", PREDS, LABELS, "--signature-only", "--max", "0.01")
    assert result.exit_code == 1 and result.stdout.startswith("loss:mse|") and result.stderr.startswith("fail: ")


# --------------------------------------------------------------------------- precision


def test_precision_sets_printed_digits_but_json_stays_exact(cli):
    assert cli("mse", PREDS, LABELS, "-f", "plain", "-c", "mean", "-p", "1").stdout == "0.02\n"
    tsv = cli("mse", PREDS, LABELS, "-f", "tsv", "-c", "sum", "-p", "1").stdout
    assert "convention\tsum\t1\t1\t0.5\t\t\t\n" in tsv  # 0.47 to one digit
    doc = json.loads(cli("mse", PREDS, LABELS, "-f", "json", "-c", "mean", "-p", "1").stdout)
    assert doc["conventions"][0]["value"] == pytest.approx(0.0235, rel=1e-15)


# --------------------------------------------------------------------------- --per-sample


def test_per_sample_csv(cli, tmp_path):
    out = tmp_path / "losses.csv"
    result = cli("mse", PREDS, LABELS, "--per-sample", out, "-f", "json", "-c", "mean")
    assert result.exit_code == 0 and result.stderr == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["row"] for r in rows] == ["1", "2"]
    assert_allclose([float(r["loss"]) for r in rows], [0.01, 0.037], rtol=1e-15)  # hand computed (test_mse)
    doc = json.loads(result.stdout)  # the vector was computed for the file but not added to the output
    assert [c["name"] for c in doc["conventions"]] == ["mean"] and "conv:mean|" in doc["signature"]


def test_per_sample_npy_and_tsv(cli, tmp_path):
    assert cli("mse", PREDS, LABELS, "--per-sample", tmp_path / "l.npy", "-f", "plain", "-c", "sum").exit_code == 0
    arr = np.load(tmp_path / "l.npy", allow_pickle=False)
    assert arr.dtype == np.float64 and arr.shape == (2,)
    assert_allclose(arr, [0.01, 0.037], rtol=1e-15)
    assert cli("mse", PREDS, LABELS, "--per-sample", tmp_path / "l.tsv", "-f", "plain", "-c", "sum").exit_code == 0
    assert (tmp_path / "l.tsv").read_text().splitlines()[0] == "row\tloss"


def test_per_sample_replaces_an_existing_file_keeping_its_mode(cli, tmp_path):
    out = tmp_path / "losses.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    assert cli("mse", PREDS, LABELS, "--per-sample", out, "-f", "plain", "-c", "mean").exit_code == 0
    assert out.read_text().startswith("row,loss\n1,0.01")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["losses.csv"]


def test_per_sample_failure_mid_write_leaves_the_old_file(cli, tmp_path, monkeypatch):
    out = tmp_path / "losses.csv"
    out.write_text("the old, complete file\n")

    def disk_full(line, start, values):  # the header already reached the temporary file
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("lossctl.output._numbered_lines", disk_full)
    result = cli("mse", PREDS, LABELS, "--per-sample", out, "-f", "plain", "-c", "mean")
    assert result.exit_code == 2 and result.stdout == ""
    line = one_line(result.stderr, "error: ")
    assert str(out) in line and "No space left on device" in line and "unchanged" in line
    assert out.read_text() == "the old, complete file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["losses.csv"]  # no temporary file left behind


def test_atomic_open_cleans_up_on_any_exception(tmp_path):
    out = tmp_path / "x.npy"
    np.save(out, np.arange(3.0))
    before = out.read_bytes()
    with pytest.raises(KeyboardInterrupt), atomic_open(str(out), "wb") as f:
        f.write(b"\x93NUMPY partial")
        raise KeyboardInterrupt
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["x.npy"]


def test_atomic_write_into_a_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write_per_sample(str(tmp_path / "nope" / "l.csv"), np.zeros(2))


@pytest.mark.parametrize("name,fragment", [("l.txt", "unknown extension '.txt'"), ("nodir/l.csv", "does not exist")])
def test_per_sample_bad_name_fails_before_computing(cli, tmp_path, name, fragment):
    result = cli("mse", PREDS, LABELS, "--per-sample", tmp_path / name)
    assert result.exit_code == 2 and result.stdout == ""
    assert fragment in one_line(result.stderr, "error: ")


def test_per_sample_refuses_rows_dropped_by_nan_omit(cli, tmp_path):
    p, y = tmp_path / "p.csv", tmp_path / "y.csv"
    p.write_text("1\nnan\n3\n")
    y.write_text("0\n0\n0\n")
    result = cli("mse", p, y, "--nan", "omit", "--per-sample", tmp_path / "l.csv")
    assert result.exit_code == 2 and "dropped 1 samples" in one_line(result.stderr, "error: ")
    assert not (tmp_path / "l.csv").exists()


# --------------------------------------------------------------------------- --worst and the histogram


def test_worst_in_every_format(cli):
    doc = json.loads(cli("mse", PREDS, LABELS, "--worst", "1", "-f", "json").stdout)
    assert doc["worst"] == [{"row": 2, "value": pytest.approx(0.037, rel=1e-15)}]
    rows = list(csv.reader(io.StringIO(cli("mse", PREDS, LABELS, "--worst", "5", "-f", "csv").stdout)))
    assert [r[:2] + [r[4]] for r in rows if r[0] == "worst"] == [["worst", "2", "0.037"], ["worst", "1", "0.01"]]
    plain = cli("mse", PREDS, LABELS, "--worst", "1", "-f", "plain", "-c", "mean").stdout
    assert plain == "0.0235\nworst 2 0.037\n"
    table = cli("mse", PREDS, LABELS, "--worst", "2", "-f", "table").stdout
    assert "the 2 samples with the highest loss" in table and re.search(r"^\s*2\s+0\.037$", table, re.M)


def test_worst_samples_hand_checked():
    values = np.array([0.1, np.nan, 0.5, np.inf, 0.5, 0.3])
    # NaN (undefined) first, then inf, then the tied 0.5s in row order
    assert worst_samples(values, 4)[:1] == [(2, pytest.approx(np.nan, nan_ok=True))]
    assert [r for r, _ in worst_samples(values, 6)] == [2, 4, 3, 5, 6, 1]


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=50), st.integers(1, 60))
def test_worst_samples_property(values, k):
    got = worst_samples(np.array(values), k)
    expected = sorted(((-v, i + 1) for i, v in enumerate(values)))[:k]
    assert [(row, value) for row, value in got] == [(i, -v) for v, i in expected]


def render(renderable, width: int = 80) -> str:
    console = Console(width=width, no_color=True, color_system=None, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_histogram_counts_every_defined_sample():
    values = np.array([0.0, 0.1, 0.1, 0.2, 0.9, 1.0, np.inf])
    text = render(histogram(values, bins=4))
    lines = text.splitlines()
    assert lines[0] == "per-sample losses: 7 samples, 1 undefined (not shown)"
    counts = [int(line.split()[-1]) for line in lines[1:]]
    assert counts == [4, 0, 0, 2]  # bins of width 0.25 over [0, 1]; hand counted
    assert lines[1].strip().startswith("0 … 0.25 ") and "█" * 30 in lines[1] and "█" not in lines[2]
    assert lines[4].strip().startswith("0.75 … 1 ") and "█" * 15 in lines[4] and "█" * 16 not in lines[4]


def test_histogram_of_equal_values_and_of_nothing():
    assert render(histogram(np.full(3, 0.5))).splitlines()[1].split()[-1] == "3"
    assert render(histogram(np.array([np.nan]))).strip() == "per-sample losses: 1 sample, 1 undefined (not shown)"


def test_table_view_shows_the_histogram(cli, tmp_path):
    np.savetxt(tmp_path / "p.csv", np.arange(30.0) / 10)
    np.savetxt(tmp_path / "y.csv", np.zeros(30))
    out = cli("mse", str(tmp_path / "p.csv"), str(tmp_path / "y.csv"), "-f", "table", "-c", "mean").stdout
    assert "per-sample losses: 30 samples" in out and "0 … 1.051" in out
    assert "per_sample" not in out  # computed for the histogram, not added as a row
    assert out.rindex("signature:") > out.rindex("7.359 … 8.41")  # the signature stays last


def test_no_histogram_for_a_handful_of_samples(cli):
    out = cli("mse", PREDS, LABELS, "-f", "table").stdout
    assert "per-sample losses:" not in out and "per_sample" in out


# --------------------------------------------------------------------------- closed pipes


def test_closed_pipe_ends_quietly(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "p.npy", rng.random((100_000, 1)))
    np.save(tmp_path / "y.npy", rng.random((100_000, 1)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for tail in ("-f tsv", "-f plain -c per_sample", "--worst 50000 -f csv"):
        shell = f"{sys.executable} -m lossctl mse {tmp_path}/p.npy {tmp_path}/y.npy {tail} | head -1"
        proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, env=env)
        assert proc.stderr == "" and len(proc.stdout.splitlines()) == 1, (tail, proc.stderr)
