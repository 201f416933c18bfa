"""The command line: formats, JSON keys, exit codes, error messages, and a golden table."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from tests.conftest import assert_error

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
PREDS, LABELS = str(SAMPLE / "preds.csv"), str(SAMPLE / "labels.csv")
GOLDEN = Path(__file__).parent / "golden"


def test_json_has_the_interface_keys(cli):
    result = cli("mse", PREDS, LABELS, "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"lossctl", "loss", "shape", "conventions", "frameworks", "signature"} <= doc.keys()
    assert doc["loss"] == "mse" and doc["shape"] == [2, 10]
    by_name = {c["name"]: c for c in doc["conventions"]}
    assert by_name["mean"] == {"name": "mean", "divisor": "N*K", "n": 20, "value": pytest.approx(0.0235, rel=1e-12)}
    assert by_name["batch_mean"]["n"] == 2 and by_name["batch_mean"]["value"] == pytest.approx(0.235, rel=1e-12)
    # 0.2.0: a vector not named with -c is summarised; n is its length; rows count from 1
    assert by_name["per_sample"]["divisor"] is None and by_name["per_sample"]["n"] == 2
    assert "value" not in by_name["per_sample"]
    assert by_name["per_sample"]["summary"] == {
        "count": 2,
        "min": pytest.approx(0.01, rel=1e-12),
        "median": pytest.approx(0.0235, rel=1e-12),
        "mean": pytest.approx(0.0235, rel=1e-12),
        "max": pytest.approx(0.037, rel=1e-12),
        "argmax_row": 2,
    }
    for fw in doc["frameworks"]:
        assert {"framework", "api", "call", "value", "convention"} <= fw.keys()
    assert [f["framework"] for f in doc["frameworks"]] == ["pytorch", "keras", "sklearn", "numpy"]
    assert doc["signature"].startswith("loss:mse|n:N*K|")


def test_json_values_are_full_precision(cli):
    doc = json.loads(cli("mse", PREDS, LABELS, "-f", "json", "-p", "2").stdout)
    mean = next(c for c in doc["conventions"] if c["name"] == "mean")["value"]
    assert mean == pytest.approx(0.0235, rel=1e-15)


def test_plain_single_convention_is_the_bare_number(cli):
    result = cli("mse", PREDS, LABELS, "-f", "plain", "-c", "mean")
    assert result.exit_code == 0 and result.stdout == "0.0235\n"
    assert cli("mse", PREDS, LABELS, "-f", "plain", "-c", "sum", "-p", "2").stdout == "0.47\n"


def test_plain_vector_prints_one_value_per_line(cli):
    assert cli("mse", PREDS, LABELS, "-f", "plain", "-c", "per_sample").stdout == "0.01\n0.037\n"


def test_repeated_convention_option_selects_rows(cli):
    doc = json.loads(cli("mse", PREDS, LABELS, "-f", "json", "-c", "sum", "-c", "half_sum").stdout)
    assert [c["name"] for c in doc["conventions"]] == ["sum", "half_sum"]
    assert "conv:sum,half_sum" in doc["signature"]


@pytest.mark.parametrize("fmt,delimiter", [("csv", ","), ("tsv", "\t")])
def test_csv_and_tsv_parse(cli, fmt, delimiter):
    result = cli("mse", PREDS, LABELS, "-f", fmt)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter=delimiter))
    by_name = {(r["section"], r["name"]): r for r in rows}
    assert float(by_name["convention", "mean"]["value"]) == pytest.approx(0.0235)
    assert by_name["convention", "mean"]["divisor"] == "N*K" and by_name["convention", "mean"]["n"] == "20"
    assert by_name["convention", "per_sample"]["value"] == "" and by_name["convention", "per_sample"]["n"] == "2"
    summary = dict(f.split("=") for f in by_name["convention", "per_sample"]["summary"].split(";"))
    assert float(summary["max"]) == pytest.approx(0.037) and summary["argmax_row"] == "2"
    named = list(
        csv.DictReader(
            io.StringIO(cli("mse", PREDS, LABELS, "-f", fmt, "-c", "per_sample").stdout), delimiter=delimiter
        )
    )
    assert [(r["name"], float(r["value"])) for r in named[:2]] == [("per_sample[1]", 0.01), ("per_sample[2]", 0.037)]
    assert by_name["framework", "pytorch"]["equals"] == "mean"
    assert by_name["framework", "pytorch"]["call"].startswith("torch.nn.functional.mse_loss(")


def test_piped_output_defaults_to_tsv(cli, monkeypatch):
    result = cli("mse", PREDS, LABELS)  # CliRunner's stdout is not a terminal
    assert result.stdout.splitlines()[0] == "section\tname\tdivisor\tn\tvalue\tequals\tcall\tsummary"
    monkeypatch.setenv("LOSSCTL_FORMAT", "json")
    assert json.loads(cli("mse", PREDS, LABELS).stdout)["loss"] == "mse"


def test_npy_and_csv_agree(cli):
    a = json.loads(cli("mse", PREDS, LABELS, "-f", "json").stdout)
    b = json.loads(cli("mse", str(SAMPLE / "preds.npy"), str(SAMPLE / "labels.npy"), "-f", "json").stdout)
    assert a["conventions"] == b["conventions"]


def test_regression_sample_worked_example(cli):
    out = cli(
        "mse", str(SAMPLE / "regression_preds.csv"), str(SAMPLE / "regression_labels.csv"), "-f", "plain", "-c", "mean"
    )
    assert float(out.stdout) == pytest.approx(0.21606, rel=1e-12)


def test_weights_add_the_weighted_conventions(cli, tmp_path):
    w = tmp_path / "w.csv"
    w.write_text("1\n3\n")
    doc = json.loads(cli("mse", PREDS, LABELS, "-w", str(w), "-f", "json").stdout)
    by_name = {c["name"]: c for c in doc["conventions"]}
    assert by_name["weighted_mean"]["divisor"] == "sum(w)" and by_name["weighted_mean"]["n"] == 4
    assert by_name["weighted_mean"]["value"] == pytest.approx((0.01 + 3 * 0.037) / 4, rel=1e-12)
    assert by_name["weighted_batch_mean"]["value"] == pytest.approx((0.01 + 3 * 0.037) / 2, rel=1e-12)
    assert doc["weighted"] is True and "weights:yes" in doc["signature"]


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["mse", "missing.csv", LABELS], ["missing.csv does not exist"]),
        (["mse", PREDS, str(SAMPLE / "regression_labels.csv")], ["has 2 rows", "has 5", "rows are samples"]),
        (["mse", PREDS, LABELS, "-c", "nope"], ["unknown convention 'nope'", "mean"]),
        (["mse", PREDS, LABELS, "-c", "weighted_mean"], ["weighted_mean", "--weights"]),
        (["mse", PREDS, LABELS, "-f", "xml"], ["unknown format 'xml'", "json"]),
        (["nosuchloss", PREDS, LABELS], ["unknown loss or command 'nosuchloss'", "lossctl list"]),
        (["mse", PREDS], ["needs LABELS"]),
        (["mse", PREDS, LABELS, "--bogus"], ["--bogus"]),
        (["mse", "-", "-"], ["only one of PREDICTIONS and LABELS can be -"]),
        (["mse", str(SAMPLE), LABELS], ["is a directory"]),
        (["explain", "nosuchloss"], ["unknown loss 'nosuchloss'"]),
    ],
)
def test_errors_are_one_line_with_exit_2(cli, args, fragments):
    assert_error(cli(*args), *fragments)


def test_column_mismatch_names_both_shapes(cli, tmp_path):
    labels = tmp_path / "labels3.csv"
    labels.write_text("1,0,0\n0,1,0\n")
    assert_error(cli("mse", PREDS, str(labels)), "preds.csv has 10 columns", "labels3.csv has 3", "rows are samples")


def test_weights_of_the_wrong_length(cli, tmp_path):
    w = tmp_path / "w.csv"
    w.write_text("1\n2\n3\n")
    assert_error(cli("mse", PREDS, LABELS, "-w", str(w)), "w.csv has 3 weights", "2 rows")


def test_negative_weight_is_computed_with_a_warning(cli, tmp_path):
    """Every framework accepts negative sample weights, so lossctl computes them too (issue 11 part 4)."""
    w = tmp_path / "w.csv"
    w.write_text("1\n-2\n")
    result = cli("mse", PREDS, LABELS, "-w", str(w), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert "w.csv row 2 has weight -2: a negative weight subtracts that sample's loss" in result.stderr
    doc = json.loads(result.stdout)
    by_name = {c["name"]: c.get("value") for c in doc["conventions"]}
    # hand: per-sample losses 0.010 and 0.037; (1·0.010 − 2·0.037) / (1 − 2) = 0.064
    assert by_name["weighted_mean"] == pytest.approx(0.064, rel=1e-12)
    sklearn_row = next(f for f in doc["frameworks"] if f["framework"] == "sklearn")
    assert sklearn_row["value"] == pytest.approx(0.064, rel=1e-12) and sklearn_row["convention"] == "weighted_mean"


def test_stdin_for_one_input(cli):
    result = cli("mse", "-", LABELS, "-f", "plain", "-c", "mean", input=Path(PREDS).read_text())
    assert result.exit_code == 0 and result.stdout == "0.0235\n"


def test_list_and_explain(cli):
    listing = cli("list")
    assert listing.exit_code == 0 and "mse" in listing.stdout and "mean_squared_error" in listing.stdout
    text = cli("explain", "mean_squared_error").stdout
    for fragment in ("(ŷ[i,k] − y[i,k])²", "N*K", "half_sum", "per_output", "torch.nn.MSELoss()", "Pitfalls"):
        assert fragment in text


def test_version_and_help(cli):
    assert cli("--version").stdout.startswith("lossctl ")
    helptext = cli("--help").stdout
    assert "every averaging convention" in helptext and "mse" in helptext and "explain" in helptext
    assert "Example: lossctl mse preds.csv labels.csv" in cli("mse", "--help").stdout


def test_no_arguments_prints_help_and_exits_0(cli):
    result = cli()
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_python_dash_m_and_closed_pipe():
    env = {**os.environ, "LOSSCTL_FORMAT": "csv"}
    proc = subprocess.run(
        [sys.executable, "-m", "lossctl", "mse", PREDS, LABELS], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert proc.returncode == 0 and proc.stdout.startswith("section,name")
    shell = f"{sys.executable} -m lossctl mse {PREDS} {LABELS} -f csv | head -1"
    piped = subprocess.run(["bash", "-c", f"set -o pipefail; {shell}"], capture_output=True, text=True, env=env)
    assert piped.stdout == "section,name,divisor,n,value,equals,call,summary\n"
    assert piped.stderr == ""


def render_golden(width: int = 100) -> str:
    from lossctl import evaluate
    from lossctl.render import table

    report = evaluate("mse", PREDS, LABELS)
    report = dataclasses.replace(report, version="X.Y.Z")  # the signature follows
    console = Console(width=width, no_color=True, color_system=None, record=True, file=io.StringIO())
    console.print(table(report))
    return console.export_text()


def test_golden_table_at_pinned_width():
    path = GOLDEN / "mse_table_100.txt"
    got = render_golden()
    if os.environ.get("LOSSCTL_UPDATE_GOLDEN"):
        path.write_text(got)
    assert got == path.read_text(), "re-run with LOSSCTL_UPDATE_GOLDEN=1 after an intended change"


def test_table_via_cli_contains_every_convention(cli):
    out = cli("mse", PREDS, LABELS, "-f", "table").stdout
    for name in (
        "mean *",
        "batch_mean",
        "sum_of_sample_means",
        "half_mean",
        "half_batch_mean",
        "half_sum",
        "per_sample",
        "per_output",
        "0.0235",
        "0.235",
        "0.047",
        "0.47",
        "0.01175",
        "0.1175",
    ):
        assert name in out
    assert "signature:" in out and "loss:mse|n:N*K|conv:all" in out.replace("\n", "")


def test_float32_npy_reports_its_dtype(cli, tmp_path):
    p = tmp_path / "p.npy"
    np.save(p, np.load(SAMPLE / "preds.npy").astype(np.float32))
    doc = json.loads(cli("mse", str(p), str(SAMPLE / "labels.npy"), "-f", "json").stdout)
    assert doc["dtype"] == "float32" and "dtype:float32" in doc["signature"]
