"""Start-up hygiene: a small file does not pay for heavy modules it does not need.

No timing assertions: the test runs the CLI in a fresh interpreter and checks
which modules it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

HEAVY = (
    *(
        "pandas",
        "pyarrow",
        "torch",
        "keras",
        "sklearn",
        "scipy",
        "tensorflow",
        "jax",
        "h5py",
        "safetensors",
        "dask",
        "distributed",
    ),
    *("fsspec", "s3fs", "botocore", "aiobotocore", "aiohttp"),  # remote inputs only
)

PROBE = """
import json, runpy, sys
sys.argv = ["lossctl", *json.loads(sys.argv[1])]
try:
    runpy.run_module("lossctl", run_name="__main__")
except SystemExit as e:
    code = e.code
else:
    code = 0
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}) + "\\n")
"""


def _run(args: list[str]) -> tuple[int, str, set[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, timeout=120)
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES "))
    probe = json.loads(line.removeprefix("MODULES "))
    return probe["code"], proc.stdout, {m.split(".")[0] for m in probe["modules"]}


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("small")
    (d / "p.csv").write_text("a,b\n0.9,0.1\n0.2,0.8\n")
    (d / "y.csv").write_text("a,b\n1,0\n0,1\n")
    np.save(d / "p.npy", np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32))
    np.save(d / "y.npy", np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    return d


@pytest.mark.parametrize("ext", ["csv", "npy"])
@pytest.mark.parametrize("fmt", ["json", "table", "csv"])
def test_small_file_imports_no_heavy_module(small_files, ext, fmt):
    code, out, modules = _run(["mse", str(small_files / f"p.{ext}"), str(small_files / f"y.{ext}"), "-f", fmt])
    assert code == 0
    if fmt == "json":
        # hand: errors 0.1, 0.1, 0.2, 0.2 -> (0.01 + 0.01 + 0.04 + 0.04) / 4 (float32 input: 1e-7 relative)
        assert json.loads(out)["conventions"][0]["value"] == pytest.approx(0.025, rel=1e-6)
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_list_and_explain_import_no_heavy_module():
    for args in (["list"], ["explain", "mse"]):
        code, _, modules = _run(args)
        assert code == 0
        assert not modules & set(HEAVY), (args, sorted(modules & set(HEAVY)))


def test_the_probe_sees_heavy_imports(small_files):
    """The check can fail: a parquet input does import pyarrow, and the probe reports it."""
    pytest.importorskip("pyarrow")
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name, rows in (("p", [[0.9, 0.1], [0.2, 0.8]]), ("y", [[1.0, 0.0], [0.0, 1.0]])):
        pq.write_table(
            pa.table({"a": [r[0] for r in rows], "b": [r[1] for r in rows]}), small_files / f"{name}.parquet"
        )
    code, _, modules = _run(["mse", str(small_files / "p.parquet"), str(small_files / "y.parquet"), "-f", "json"])
    assert code == 0
    assert "pyarrow" in modules
