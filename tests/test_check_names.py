"""lossctl check: a quoted glob never includes the labels file; manifest cells are not echoed whole (issue 12)."""

from __future__ import annotations

import json

import numpy as np


def test_a_glob_leaves_the_labels_file_out(cli, tmp_path):
    np.save(tmp_path / "p1.npy", np.array([[0.1], [0.5]]))
    np.save(tmp_path / "y.npy", np.array([[0.0], [1.0]]))
    result = cli("check", "mse", str(tmp_path / "*.npy"), "--labels", str(tmp_path / "y.npy"), "-f", "json")
    assert result.exit_code == 0, result.stderr
    files = [r["file"] for r in json.loads(result.stdout)["results"]]
    assert files == [str(tmp_path / "p1.npy")]  # y.npy matched the glob but is the labels


def test_a_long_manifest_cell_is_cut_in_messages(cli, tmp_path):
    secret = "tok_" + "A" * 300
    (tmp_path / "m.csv").write_text(f"predictions,labels,{secret}\np.npy,y.npy,mse\n")
    result = cli("check", "--manifest", str(tmp_path / "m.csv"))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "unknown column" in line
    assert secret not in line and "(304 characters)" in line


def test_a_control_character_in_a_manifest_path_is_escaped(cli, tmp_path):
    result = cli("check", "--manifest", str(tmp_path / "m\x1b[31m.csv"))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "\x1b" not in line and "\\x1b[31m" in line
