"""Pickle-based files (.pt .pth .ckpt .pkl .joblib) are refused by extension and by content, never unpickled.

Every planted file holds an object whose ``__reduce__`` makes unpickling call
``os.mkdir(marker)``; the control tests prove the plants work (pickle.loads,
torch.load and joblib.load do create the marker), so the refusals can fail.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import assert_error


class Trap:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _write(kind: str, path: Path, marker: Path) -> None:
    if kind == "pickle":
        path.write_bytes(pickle.dumps({"y_pred": Trap(marker)}))
    elif kind == "torch-zip":
        import torch

        torch.save({"y_pred": Trap(marker), "t": torch.zeros(3)}, path)
    elif kind == "torch-legacy":
        import torch

        torch.save({"y_pred": Trap(marker)}, path, _use_new_zipfile_serialization=False)
    elif kind == "joblib":
        import joblib

        joblib.dump({"y_pred": Trap(marker)}, path)
    else:
        raise ValueError(kind)


def _load(kind: str, path: Path) -> None:
    if kind == "pickle":
        pickle.loads(path.read_bytes())
    elif kind.startswith("torch"):
        import torch

        torch.load(path, weights_only=False)
    else:
        import joblib

        joblib.load(path)


KINDS = ["pickle", "torch-zip", "torch-legacy", "joblib"]


@pytest.mark.parametrize("kind", KINDS)
def test_control_the_plants_do_leave_a_trace(tmp_path, kind):
    marker = tmp_path / "marker"
    _write(kind, tmp_path / "x.bin", marker)
    _load(kind, tmp_path / "x.bin")
    assert marker.is_dir(), "the planted pickle did not run: the refusals below would prove nothing"


def _refused(cli, tmp_path, path: Path, marker: Path, side: str) -> str:
    good = tmp_path / "good.npy"
    np.save(good, np.zeros(3))
    args = ("mse", path, good) if side == "predictions" else ("mse", good, path)
    line = assert_error(cli(*args), path.name, "never unpickles", "arbitrary code", "safetensors.torch.save_file")
    assert "numpy.save" in line
    assert not marker.exists(), "lossctl unpickled the input"
    return line


@pytest.mark.parametrize("side", ["predictions", "labels"])
@pytest.mark.parametrize(
    ("kind", "ext"),
    [("torch-zip", ".pt"), ("torch-zip", ".pth"), ("torch-zip", ".ckpt"), ("pickle", ".pkl"), ("joblib", ".joblib")],
)
def test_pickle_extensions_are_refused(cli, tmp_path, kind, ext, side):
    marker = tmp_path / "marker"
    path = tmp_path / f"model_outputs{ext}"
    _write(kind, path, marker)
    line = _refused(cli, tmp_path, path, marker, side)
    assert f"pickle-based file ({ext}" in line


def test_a_pickle_extension_is_refused_even_if_the_bytes_are_numbers(cli, tmp_path):
    """By extension alone: a .pt file is never opened, whatever it holds."""
    path = tmp_path / "preds.pt"
    np.save(tmp_path / "x.npy", np.zeros(3))
    path.write_bytes((tmp_path / "x.npy").read_bytes())
    _refused(cli, tmp_path, path, tmp_path / "marker", "predictions")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ext", [".safetensors", ".h5", ".jsonl", ".arrow", ".csv", ".npz", ".bin", ".npy"])
def test_pickle_content_is_refused_under_any_name(cli, tmp_path, kind, ext):
    """By content: a pickle renamed to another format's extension (or none we know) is sniffed and refused."""
    marker = tmp_path / "marker"
    path = tmp_path / f"renamed{ext}"
    _write(kind, path, marker)
    _refused(cli, tmp_path, path, marker, "predictions")


def test_a_pickle_shard_is_refused_and_named(cli, tmp_path):
    marker = tmp_path / "marker"
    np.save(tmp_path / "part-1.npy", np.zeros(2))
    _write("pickle", tmp_path / "part-2.npy", marker)
    np.save(tmp_path / "y.npy", np.zeros(4))
    assert_error(cli("mse", f"{tmp_path}/part-*.npy", tmp_path / "y.npy"), "part-2.npy holds a Python pickle")
    assert not marker.exists()
