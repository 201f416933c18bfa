"""Vectors in the machine formats (issue 9): summarised unless named with -c, streamed when named,
rows numbered from 1 everywhere. Every number is checked against numpy on the same arrays."""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from lossctl.compute import compute
from lossctl.losses import Chunk, get_loss
from lossctl.render_stream import VectorStream
from lossctl.report import median_of

FORMATS = ["json", "csv", "tsv", "plain"]
CHUNK = "7"  # several chunks on every file below, so per-chunk accumulation is exercised


def _pair(tmp_path, n: int, k: int = 3, seed: int = 0, name: str = "") -> tuple[str, str, np.ndarray]:
    """Two float32 .npy files and numpy's own per-sample MSE of them (float64 from the float32 values)."""
    rng = np.random.default_rng(seed)
    y = rng.random((n, k), dtype=np.float32)
    p = (y + rng.standard_normal((n, k), dtype=np.float32)).astype(np.float32)
    pp, yp = tmp_path / f"p{name}{n}.npy", tmp_path / f"y{name}{n}.npy"
    np.save(pp, p)
    np.save(yp, y)
    per_sample = np.mean((p.astype(np.float64) - y.astype(np.float64)) ** 2, axis=1)
    return str(pp), str(yp), per_sample


def _summary(text: str) -> dict[str, str]:
    return dict(field.split("=") for field in text.split(";"))


# --------------------------------------------------------------------------- size independent of N


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_size_does_not_grow_with_rows(cli, tmp_path, fmt):
    small = cli("mse", *_pair(tmp_path, 2)[:2], "-f", fmt)
    large = cli("mse", *_pair(tmp_path, 200_000)[:2], "-f", fmt, "--chunk-rows", "30000")
    assert small.exit_code == 0 and large.exit_code == 0, (small.stderr, large.stderr)
    assert large.stdout.count("\n") == small.stdout.count("\n")
    # only the digits of the numbers (and of the counts) may differ
    assert abs(len(large.stdout) - len(small.stdout)) < 200, (len(small.stdout), len(large.stdout))


def test_a_vector_named_with_c_is_printed_in_full(cli, tmp_path):
    p, y, expected = _pair(tmp_path, 1000)
    out = cli("mse", p, y, "-f", "tsv", "-c", "per_sample").stdout
    assert out.count("\n") == 1 + 1000 + 4 + 1  # header, one row per sample, 4 frameworks, signature


# --------------------------------------------------------------------------- summary values


@pytest.mark.parametrize("n", [1, 2, 29, 30])  # odd and even counts: numpy's median of the two middle values
def test_json_summary_against_numpy(cli, tmp_path, n):
    p, y, l_i = _pair(tmp_path, n, seed=n)
    doc = json.loads(cli("mse", p, y, "-f", "json", "--chunk-rows", CHUNK).stdout)
    by_name = {c["name"]: c for c in doc["conventions"]}
    entry = by_name["per_sample"]
    assert "value" not in entry and entry["n"] == n and entry["divisor"] is None
    s = entry["summary"]
    assert list(s) == ["count", "min", "median", "mean", "max", "argmax_row"]
    assert s["count"] == n and s["argmax_row"] == int(np.argmax(l_i)) + 1
    assert_allclose([s["min"], s["median"], s["max"]], [l_i.min(), np.median(l_i), l_i.max()], rtol=1e-15)
    assert_allclose(s["mean"], np.mean(l_i), rtol=1e-13)
    columns = np.mean((np.load(p).astype(np.float64) - np.load(y).astype(np.float64)) ** 2, axis=0)
    o = by_name["per_output"]
    assert "value" not in o and o["n"] == 3 and o["summary"]["argmax_column"] == int(np.argmax(columns))
    assert_allclose(o["summary"]["median"], np.median(columns), rtol=1e-13)


@pytest.mark.parametrize("fmt,delimiter", [("csv", ","), ("tsv", "\t")])
def test_delimited_summary_row(cli, tmp_path, fmt, delimiter):
    p, y, l_i = _pair(tmp_path, 30)
    out = cli("mse", p, y, "-f", fmt, "-p", "17", "--chunk-rows", CHUNK).stdout
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(out), delimiter=delimiter)}
    row = rows["per_sample"]
    assert row["section"] == "convention" and row["value"] == "" and row["divisor"] == "" and row["n"] == "30"
    s = _summary(row["summary"])
    assert s["count"] == "30" and int(s["argmax_row"]) == int(np.argmax(l_i)) + 1
    assert_allclose([float(s[k]) for k in ("min", "median", "max")], [l_i.min(), np.median(l_i), l_i.max()])
    assert rows["mean"]["summary"] == ""


def test_plain_summary_line(cli, tmp_path):
    p, y, l_i = _pair(tmp_path, 30)
    lines = dict(line.split(" ", 1) for line in cli("mse", p, y, "-f", "plain").stdout.splitlines())
    s = _summary(lines["per_sample"])
    assert float(s["median"]) == pytest.approx(np.median(l_i), rel=1e-14)
    assert int(s["argmax_row"]) == int(np.argmax(l_i)) + 1


def test_no_summary_for_a_convention_not_shown(monkeypatch):
    def boom(*args):
        raise AssertionError("a summary was computed for a convention that is not shown")

    monkeypatch.setattr(importlib.import_module("lossctl.sums").Extremes, "add", boom)
    monkeypatch.setattr(importlib.import_module("lossctl.rows"), "summarize_vector", boom)

    chunks = [Chunk(np.ones((4, 2)), np.zeros((4, 2)), None, 0)]
    report = compute(get_loss("mse"), chunks, conventions=["mean"], summarize=True, keep_per_sample=False)
    assert [c.name for c in report.conventions] == ["mean"]


def test_summary_without_the_kept_vector_leaves_it_out_of_the_report():
    chunks = [Chunk(np.array([[1.0], [3.0], [2.0]]), np.zeros((3, 1)), None, 0)]
    report = compute(get_loss("mse"), chunks, summarize=True, keep_per_sample=False)
    c = report.convention("per_sample")
    assert c.value is None and c.summary.fields() == {
        "count": 3,
        "min": 1.0,
        "median": 4.0,  # hand: losses 1, 9, 4
        "mean": 14 / 3,
        "max": 9.0,
        "argmax_row": 2,
    }


@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e300, max_value=1e300),
            st.sampled_from([math.inf, -math.inf, math.nan, 0.0]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_median_is_numpys(values):
    a = np.array(values)
    with np.errstate(invalid="ignore"):
        expected = float(np.median(a))
    got = median_of(a)
    assert got == expected or (math.isnan(got) and math.isnan(expected)), (values, got, expected)
    assert np.array_equal(a, np.array(values), equal_nan=True)  # not overwritten unless asked


def test_summary_of_inf_and_minus_inf_is_quiet_and_nan():
    """Per-sample inf and -inf give numpy's NaN mean, and no warning."""
    extremes = importlib.import_module("lossctl.compute")._Extremes()
    values = np.array([np.inf, 1.0, -np.inf, 2.0])
    extremes.add(values[:3], 0)  # inf and -inf in one chunk: numpy's sum warns unless told not to
    extremes.add(values[3:], 3)
    s = extremes.summary(values.copy(), 4, rows_match=True, overwrite=True)
    with np.errstate(invalid="ignore"):
        expected_mean = float(np.mean(values))
    assert (s.min, s.max, s.argmax, s.median) == (-np.inf, np.inf, 1, 1.5)
    assert math.isnan(s.mean) and math.isnan(expected_mean)


def test_summary_propagates_nan_like_numpy():
    """A NaN sample: min/median/mean/max NaN, argmax its row (where --worst ranks it)."""
    y = np.array([[1.0], [np.inf], [0.0]])  # (inf - inf)^2 is NaN for row 2
    p = np.array([[1.0], [np.inf], [5.0]])
    with np.errstate(invalid="ignore"):
        report = compute(get_loss("mse"), [Chunk(p, y, None, 0)], summarize=True, keep_per_sample=False)
    s = report.convention("per_sample").summary
    assert all(math.isnan(v) for v in (s.min, s.median, s.mean, s.max)) and s.argmax == 2


# --------------------------------------------------------------------------- streamed


@pytest.mark.parametrize("fmt", FORMATS)
def test_streamed_vector_against_numpy(cli, tmp_path, fmt):
    p, y, l_i = _pair(tmp_path, 50)
    result = cli("mse", p, y, "-f", fmt, "-c", "per_sample", "-c", "mean", "-p", "17", "--chunk-rows", CHUNK)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    if fmt == "json":
        doc = json.loads(out)
        first, mean = doc["conventions"]
        assert first["name"] == "per_sample" and first["n"] == 50 and first["value"] == l_i.tolist()  # exact
        assert mean["name"] == "mean" and mean["value"] == pytest.approx(np.mean(l_i), rel=1e-13)
        assert list(doc)[-2:] == ["shape", "signature"] and doc["shape"] == [50, 3] and doc["loss"] == "mse"
        assert out.splitlines()[:3] == [
            "{",
            '  "lossctl": ' + json.dumps(doc["lossctl"]) + ",",
            '  "conventions": [',
        ]
    elif fmt == "plain":
        lines = out.splitlines()
        assert lines[:50] == [f"per_sample[{i}] {v:.17g}" for i, v in enumerate(l_i.tolist(), 1)]
        assert lines[50].startswith("mean ") and lines[51].startswith("signature ")
    else:
        rows = list(csv.DictReader(io.StringIO(out), delimiter="," if fmt == "csv" else "\t"))
        assert [r["name"] for r in rows[:50]] == [f"per_sample[{i}]" for i in range(1, 51)]
        assert_allclose([float(r["value"]) for r in rows[:50]], l_i, rtol=1e-16)
        assert rows[50]["name"] == "mean" and rows[-1]["section"] == "signature"


def test_streamed_json_equals_the_unstreamed_object(cli, tmp_path):
    """Streaming changes the key order only: with --worst (the vector also kept) the object is the same."""
    p, y, _ = _pair(tmp_path, 20)
    streamed = json.loads(
        cli("mse", p, y, "-f", "json", "-c", "per_sample", "--worst", "2", "--chunk-rows", "3").stdout
    )
    from lossctl.api import evaluate
    from lossctl.render import report_dict, worst_samples

    report = evaluate("mse", p, y, conventions=["per_sample"], chunk_rows=3)
    values = report.convention("per_sample").value
    unstreamed = json.loads(json.dumps(report_dict(report, worst_samples(values, 2), full=["per_sample"])))
    assert streamed == unstreamed and list(streamed) != list(unstreamed)


def test_plain_single_vector_is_bare_values(cli, tmp_path):
    p, y, l_i = _pair(tmp_path, 20)
    out = cli("mse", p, y, "-f", "plain", "-c", "per_sample", "--chunk-rows", CHUNK).stdout
    assert [float(v) for v in out.split()] == pytest.approx(l_i.tolist(), rel=1e-14)


def test_stream_writes_rows_as_they_are_computed():
    """The first rows reach stdout after the first chunk is computed, before the next one is read."""
    read = []
    out = io.StringIO()
    stream = VectorStream(out, "tsv", 15, single=False)
    first_write = []

    def chunks():
        for i in range(4):
            read.append(i)
            yield Chunk(np.full((3, 2), float(i)), np.zeros((3, 2)), None, 3 * i)

    def sink(start, values):
        if not first_write:
            first_write.append((len(read), out.getvalue()))
        stream(start, values)

    report = compute(get_loss("mse"), chunks(), conventions=["per_sample"], keep_per_sample=False, per_sample_sink=sink)
    assert first_write[0][0] == 1 and first_write[0][1] == ""
    assert out.getvalue().splitlines()[1:4] == [f"convention\tper_sample[{i}]\t\t\t0\t\t\t" for i in (1, 2, 3)]
    stream.finish(report, None, ["per_sample"])
    assert out.getvalue().splitlines()[-1].startswith("signature\t")


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_memory_is_bounded_by_the_chunk():
    def chunks(n):
        rng = np.random.default_rng(0)
        for start in range(0, n, 500):
            yield Chunk(rng.random((500, 4)), rng.random((500, 4)), None, start)

    def run(n):
        sink = VectorStream(io.StringIO(), "csv", 15, single=True)
        sink.out.write = lambda text: None  # the text goes nowhere: what is measured is what lossctl holds
        compute(get_loss("mse"), chunks(n), conventions=["per_sample"], keep_per_sample=False, per_sample_sink=sink)

    small, large = _peak(lambda: run(20_000)), _peak(lambda: run(400_000))
    assert large < small * 1.25 + 64 * 1024, (small, large)  # the whole vector would add 3 MB


def test_per_sample_file_is_streamed_in_every_format(cli, tmp_path):
    p, y, l_i = _pair(tmp_path, 40)
    for name in ("l.csv", "l.tsv", "l.npy"):
        result = cli("mse", p, y, "-f", "plain", "-c", "mean", "--per-sample", tmp_path / name, "--chunk-rows", CHUNK)
        assert result.exit_code == 0, result.stderr
    assert np.array_equal(np.load(tmp_path / "l.npy"), l_i)
    for name, d in (("l.csv", ","), ("l.tsv", "\t")):
        lines = (tmp_path / name).read_text().splitlines()
        assert lines[0] == f"row{d}loss" and len(lines) == 41
        assert [float(line.split(d)[1]) for line in lines[1:]] == l_i.tolist()
        assert [int(line.split(d)[0]) for line in lines[1:]] == list(range(1, 41))


# --------------------------------------------------------------------------- rows from 1


def test_worst_argmax_and_per_sample_agree_on_a_known_row(cli, tmp_path):
    """Row 8 (counted from 1, in the third chunk of 3 rows) is the worst by construction."""
    y = np.zeros((10, 2))
    p = np.full((10, 2), 0.1)
    p[7] = [3.0, 4.0]  # the 8th data row: loss (9 + 16) / 2 = 12.5
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    args = ["mse", tmp_path / "p.npy", tmp_path / "y.npy", "--chunk-rows", "3"]

    doc = json.loads(cli(*args, "-f", "json", "--worst", "1", "--per-sample", tmp_path / "l.csv").stdout)
    summary = next(c for c in doc["conventions"] if c["name"] == "per_sample")["summary"]
    assert summary["argmax_row"] == 8 and summary["max"] == 12.5
    assert doc["worst"] == [{"row": 8, "value": 12.5}]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "l.csv").read_text())))
    assert max(rows, key=lambda r: float(r["loss"])) == {"row": "8", "loss": "12.5"}
    tsv = cli(*args, "-f", "tsv", "-c", "per_sample").stdout
    assert "convention\tper_sample[8]\t\t\t12.5\t\t\t\n" in tsv
    table = cli(*args, "-f", "table", "--worst", "1").stdout
    assert any(line.split() == ["8", "12.5"] for line in table.splitlines())
    out = cli(*args, "-f", "csv", "-c", "per_output").stdout  # columns stay 0-based, like --pred-cols
    assert [r["name"] for r in csv.DictReader(io.StringIO(out))][:2] == ["per_output[0]", "per_output[1]"]


def test_rows_dropped_by_nan_omit_leave_argmax_row_null(cli, tmp_path):
    (tmp_path / "p.csv").write_text("a\n1\nnan\n5\n")
    (tmp_path / "y.csv").write_text("a\n0\n0\n0\n")
    doc = json.loads(cli("mse", tmp_path / "p.csv", tmp_path / "y.csv", "-f", "json", "--nan", "omit").stdout)
    summary = next(c for c in doc["conventions"] if c["name"] == "per_sample")["summary"]
    assert summary["max"] == 25.0 and summary["argmax_row"] is None  # not row 2 of the kept rows
    streamed = cli("mse", tmp_path / "p.csv", tmp_path / "y.csv", "-f", "csv", "-c", "per_sample", "--nan", "omit")
    assert streamed.exit_code == 2 and "-c per_sample" in streamed.stderr


def test_version_is_0_2_0_everywhere():
    import tomllib
    from pathlib import Path

    import lossctl

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert lossctl.__version__ == pyproject["project"]["version"] == "0.2.0"
