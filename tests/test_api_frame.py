"""The Python API's pandas view of a Report (pandas is a declared dependency: it is used here)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lossctl import evaluate, to_frame
from lossctl.errors import UsageError

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def report():
    return evaluate("mse", str(SAMPLE / "preds.csv"), str(SAMPLE / "labels.csv"))


def test_conventions_frame_has_the_hand_checked_values(report):
    frame = to_frame(report)
    # hand-checked: the squared errors of the sample sum to 0.47 over N=2 samples, K=10 outputs
    expected = {"mean": 0.0235, "batch_mean": 0.235, "sum_of_sample_means": 0.047, "sum": 0.47, "half_sum": 0.235}
    for name, value in expected.items():
        assert math.isclose(frame.loc[name, "value"], value, rel_tol=1e-12)
    assert frame.loc["mean", "divisor"] == "N*K" and frame.loc["mean", "n"] == 20
    assert "per_sample" not in frame.index and list(frame.columns) == ["divisor", "n", "value", "note"]


def test_frameworks_frame(report):
    frame = to_frame(report, "frameworks")
    assert list(frame["framework"]) == ["pytorch", "keras", "sklearn", "numpy"]
    assert (frame["convention"] == "mean").all()
    assert np.allclose(frame["value"], 0.0235, rtol=1e-6)  # keras computes in float32


def test_per_sample_rows_count_from_1(report):
    frame = to_frame(report, "per_sample")
    assert list(frame.index) == [1, 2] and frame.index.name == "row"
    assert np.allclose(frame["loss"], [0.01, 0.037])  # hand-checked: 0.1/10 and 0.37/10
    per_output = to_frame(report, "per_output")
    assert per_output.index.name == "output" and len(per_output) == 10


def test_unknown_part(report):
    with pytest.raises(UsageError, match="unknown part 'rows'"):
        to_frame(report, "rows")


def test_importing_lossctl_does_not_import_pandas():
    code = "import sys, lossctl; print('pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
