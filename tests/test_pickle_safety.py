"""lossctl never unpickles: planted pickles that would leave a trace are refused, and no trace appears.

Each planted file holds an object whose ``__reduce__`` makes unpickling call
``os.mkdir(marker)``. A control test first proves the plant works (numpy with
``allow_pickle=True`` does create the marker), so the refusals below can fail.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import lossctl
from lossctl.cli import app
from lossctl.errors import InputError


class Trap:
    """Unpickling this calls os.mkdir(marker): the trace that proves code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def plant(tmp: Path, kind: str) -> tuple[Path, str, Path]:
    """Write a trapped file of ``kind``; returns (path, spec to pass to lossctl, marker)."""
    marker = tmp / f"marker-{kind}"
    trap = np.array([Trap(marker), 1.0], dtype=object)  # one trap: a second mkdir would fail
    if kind == "object.npy":
        path = tmp / "evil.npy"
        np.save(path, trap, allow_pickle=True)
        return path, str(path), marker
    if kind == "object.npz":
        path = tmp / "evil.npz"
        np.savez(path, preds=trap)
        return path, str(path), marker
    if kind == "object.npz:key":
        path = tmp / "evil2.npz"
        np.savez_compressed(path, good=np.zeros(2), preds=trap)
        return path, f"{path}:preds", marker
    if kind == "pickle.npy":
        path = tmp / "renamed.npy"
        path.write_bytes(pickle.dumps(Trap(marker)))
        return path, str(path), marker
    if kind == "pickle.npz":
        path = tmp / "renamed.npz"
        path.write_bytes(pickle.dumps(Trap(marker)))
        return path, str(path), marker
    if kind == "pickle.parquet":
        path = tmp / "renamed.parquet"
        path.write_bytes(pickle.dumps(Trap(marker)))
        return path, str(path), marker
    raise ValueError(kind)


KINDS = ["object.npy", "object.npz", "object.npz:key", "pickle.npy", "pickle.npz", "pickle.parquet"]


@pytest.mark.parametrize("kind", ["object.npy", "object.npz", "pickle.npy"])
def test_control_the_plant_does_leave_a_trace(tmp_path, kind):
    path, _, marker = plant(tmp_path, kind)
    if kind == "object.npz":
        with np.load(path, allow_pickle=True) as z:
            z["preds"]
    elif kind == "pickle.npy":
        pickle.loads(path.read_bytes())
    else:
        np.load(path, allow_pickle=True)
    assert marker.is_dir(), "the planted pickle did not run: the refusal tests below would prove nothing"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("side", ["predictions", "labels"])
def test_cli_refuses_and_never_unpickles(tmp_path, kind, side, monkeypatch):
    monkeypatch.delenv("LOSSCTL_FORMAT", raising=False)
    path, spec, marker = plant(tmp_path, kind)
    good = tmp_path / "good.npy"
    np.save(good, np.zeros(2))
    args = ["mse", spec, str(good)] if side == "predictions" else ["mse", str(good), spec]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert path.name in lines[0]
    assert "never unpickles" in lines[0] and "arbitrary code" in lines[0], lines[0]
    assert not marker.exists(), "lossctl unpickled the input"


@pytest.mark.parametrize("kind", KINDS)
def test_api_refuses_and_never_unpickles(tmp_path, kind):
    _, spec, marker = plant(tmp_path, kind)
    with pytest.raises(InputError, match="never unpickles"):
        lossctl.read_array(spec)
    assert not marker.exists()


def test_no_allow_pickle_anywhere_in_lossctl():
    """No code path in lossctl can turn unpickling on."""
    root = Path(lossctl.__file__).parent
    for source in root.rglob("*.py"):
        text = source.read_text()
        assert "allow_pickle=True" not in text, source
        assert "import pickle" not in text, source
