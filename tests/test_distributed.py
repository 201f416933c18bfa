"""`--scheduler`: the reduction on a Dask cluster gives the single-process numbers.

A 300,000-row pair, joined and split into 11 (predictions) and 3 (labels) .npy
shards, through the CLI in fresh processes (``python -m lossctl``, as a user
runs it; process spawning needs its ``__main__`` guard): locally, on a
LocalCluster of two worker processes, and on a real cluster of one
``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1. Counts and
shapes must be equal exactly, values to the ulps of tests/test_state_merge.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lossctl.api import open_inputs
from lossctl.distributed import plan
from lossctl.io import open_source

N = 300_000
EPS = np.finfo(np.float64).eps
ULPS = 64  # per_output, the loosest (see tests/test_state_merge.py); scalars measure within 3


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    rng = np.random.default_rng(14)
    p, y, w = rng.normal(size=(N, 3)), rng.normal(size=(N, 3)), rng.uniform(0, 2, (N, 1))
    np.save(root / "p.npy", p)
    np.save(root / "y.npy", y)
    np.save(root / "w.npy", w)
    (root / "ps").mkdir()
    (root / "ys").mkdir()
    for i, part in enumerate(np.array_split(p, 11)):
        np.save(root / "ps" / f"part-{i}.npy", part)
    for i, part in enumerate(np.array_split(y, 3)):
        np.save(root / "ys" / f"part-{i}.npy", np.asfortranarray(part))  # Fortran order seeks by column
    return root


def _lossctl(*args, cwd=None, env=None, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lossctl", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def _json(*args, cwd) -> dict:
    proc = _lossctl(*args, "-f", "json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_same_numbers(expected: dict, got: dict) -> None:
    """Counts, shapes and names exactly; values to ULPS ulps."""
    assert got["shape"] == expected["shape"]
    conventions = {c["name"]: c for c in expected["conventions"]}
    assert [c["name"] for c in got["conventions"]] == list(conventions)
    for c in got["conventions"]:
        e = conventions[c["name"]]
        assert (c["divisor"], c["n"] if isinstance(c["n"], int) else 0) == (
            e["divisor"],
            e["n"] if isinstance(e["n"], int) else 0,
        )
        if "summary" in e:  # a vector: its summary (counts and rows exactly)
            s, es = c["summary"], e["summary"]
            assert {k: v for k, v in s.items() if k.startswith(("count", "arg"))} == {
                k: v for k, v in es.items() if k.startswith(("count", "arg"))
            }
            for key in ("min", "median", "mean", "max"):
                np.testing.assert_allclose(s[key], es[key], rtol=ULPS * EPS, atol=0, err_msg=f"{c['name']} {key}")
            continue
        np.testing.assert_allclose(c["value"], e["value"], rtol=ULPS * EPS, atol=0, err_msg=c["name"])
    assert [f["call"] for f in got["frameworks"]] == [f["call"] for f in expected["frameworks"]]
    for f, e in zip(got["frameworks"], expected["frameworks"], strict=True):
        np.testing.assert_allclose(f["value"], e["value"], rtol=ULPS * EPS, atol=0, err_msg=f["framework"])


ARGS = ("mse", "ps/part-*.npy", "ys/part-*.npy", "-w", "w.npy")


@pytest.fixture(scope="module")
def local(pair):
    """The single-process numbers, joined and sharded (the same, but for the signature's file counts)."""
    joined = _json("mse", "p.npy", "y.npy", "-w", "w.npy", cwd=pair)
    sharded = _json(*ARGS, cwd=pair)
    assert_same_numbers(joined, sharded)
    assert sharded["signature"] == joined["signature"].replace("|version", "|files:11+3+1|version")
    return sharded


def test_row_ranges_read_only_their_rows(pair):
    p, y = np.load(pair / "p.npy"), np.load(pair / "y.npy")
    npy, shards = open_source(str(pair / "p.npy")), open_source(str(pair / "ys" / "part-*.npy"))
    assert npy.seekable and npy.length == N and shards.seekable and shards.length == N
    assert shards.starts == (0, 100_000, 200_000)
    for a, b in ((0, 1), (99_999, 100_001), (123_456, 234_567), (N - 5, N)):
        np.testing.assert_array_equal(np.concatenate(list(npy.slice(a, b).chunks(4096))), p[a:b])
        np.testing.assert_array_equal(np.concatenate(list(shards.slice(a, b).chunks(777))), y[a:b])


def test_safetensors_read_row_ranges(pair, tmp_path):
    from safetensors.numpy import save_file

    y = np.load(pair / "y.npy")[:5000]
    save_file({"a": np.zeros((3, 2)), "y": y.astype(np.float32)}, str(tmp_path / "y.safetensors"))
    src = open_source(str(tmp_path / "y.safetensors:y"))
    assert src.seekable and src.length == 5000
    for a, b in ((0, 1), (1234, 4321), (4999, 5000)):
        np.testing.assert_array_equal(np.concatenate(list(src.slice(a, b).chunks(100))), y[a:b].astype(np.float32))


def test_plan_cuts_at_every_file_boundary_and_evenly(pair):
    inputs = open_inputs("mse", str(pair / "ps" / "part-*.npy"), str(pair / "ys" / "part-*.npy"))
    ranges = plan(inputs, 4)
    assert ranges[0][0] == 0 and ranges[-1][1] == N
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))  # contiguous, in row order
    cuts = {a for a, _ in ranges}
    assert {0, 27_273, 100_000, 200_000, 75_000, 150_000} <= cuts  # 11 shards of 27,273 or 27,272 rows
    assert len(ranges) == len(cuts) == 11 + 2 + 3  # 10 + 2 inner boundaries, 3 even cuts, plus the start
    text = pair / "y.csv"
    np.savetxt(text, np.load(pair / "y.npy")[:10], delimiter=",")
    np.save(pair / "p10.npy", np.load(pair / "p.npy")[:10])
    assert plan(open_inputs("mse", str(pair / "p10.npy"), str(text)), 4) == [None]  # text: one task


def test_local_cluster_gives_the_local_numbers(pair, local):
    started = time.monotonic()
    got = _json(*ARGS, "--scheduler", "local:2", cwd=pair)
    assert_same_numbers(local, got)
    assert got["signature"] == local["signature"]
    assert time.monotonic() - started < 120


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers, each its own process on 127.0.0.1; torn down even when a test fails."""
    root = tmp_path_factory.mktemp("cluster")
    file = root / "scheduler.json"
    bin_dir = os.path.dirname(sys.executable)
    dask = os.path.join(bin_dir, "dask")
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = []
    log = open(root / "log.txt", "w")  # noqa: SIM115 - closed in the finalizer
    try:
        procs.append(
            subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", file],
                stdout=log,
                stderr=log,
                env=env,
                cwd=root,
                start_new_session=True,
            )  # fmt: skip
        )
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        "--scheduler-file",
                        file,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    stdout=log,
                    stderr=log,
                    env=env,
                    cwd=root,
                    start_new_session=True,
                )  # fmt: skip
            )
        address = _wait_for_workers(file, 2, procs, root / "log.txt")
        yield address
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _wait_for_workers(file, count: int, procs, log, timeout: float = 90.0) -> str:
    from distributed import Client

    deadline = time.monotonic() + timeout
    while not file.exists() or not file.read_text().strip():
        assert all(p.poll() is None for p in procs), log.read_text()
        assert time.monotonic() < deadline, "no scheduler file:\n" + log.read_text()
        time.sleep(0.2)
    address = json.loads(file.read_text())["address"]
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
    return address


def test_two_worker_cluster_gives_the_local_numbers(pair, local, cluster, tmp_path):
    assert cluster.startswith("tcp://127.0.0.1:")
    got = _json(*ARGS, "--scheduler", cluster, cwd=pair)  # relative paths: sent to the workers made absolute
    assert_same_numbers(local, got)
    assert got["signature"] == local["signature"]


def test_check_spreads_the_files_over_the_cluster(pair, cluster):
    args = ("check", "mse", "ps/part-0.npy", "ps/part-1.npy", "ps/part-10.npy", "--labels", "ps/part-0.npy")
    plain = _lossctl(*args, "-f", "json", cwd=pair)
    spread = _lossctl(*args, "-f", "json", "--scheduler", cluster, cwd=pair)
    assert plain.returncode == spread.returncode == 2  # part-10 has 27,272 rows, part-0 27,273
    assert json.loads(spread.stdout) == json.loads(plain.stdout)
    assert json.loads(plain.stdout)["results"][0]["value"] == 0.0  # hand: a file against itself
    assert spread.stderr == plain.stderr


BLOCK_DASK = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(f"No module named {name!r}")
sys.meta_path.insert(0, Block())
sys.argv = ["lossctl", *sys.argv[1:]]
runpy.run_module("lossctl", run_name="__main__")
"""


@pytest.mark.parametrize("command", ["loss", "check"])
def test_without_the_extra_scheduler_says_how_to_install_it(pair, command):
    args = ["mse", "p.npy", "y.npy"] if command == "loss" else ["check", "mse", "p.npy", "--labels", "y.npy"]
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_DASK, *args, "--scheduler", "local:2"],
        capture_output=True, text=True, cwd=pair, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "error: --scheduler needs Dask (dask and distributed), which is not installed: pip install 'lossctl[dask]'"
    ]


def test_a_scheduler_that_is_not_one_is_refused(pair):
    proc = _lossctl("mse", "p.npy", "y.npy", "--scheduler", "yarn", cwd=pair)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "error: --scheduler 'yarn' is not a scheduler: give local, local:N (N worker processes) "
        "or tcp://HOST:PORT (a running Dask scheduler)"
    ]


def _in_process(pair, predictions, labels, **options):
    """What the cluster does, without one: every task of the plan run here, merged in row order."""
    from lossctl.api import evaluate
    from lossctl.distributed import Job, run_task
    from lossctl.params import Params

    inputs = open_inputs("mse", predictions, labels)
    job = Job("mse", predictions, labels, None, Params(), None, True, 5000, options.get("nan", "error"), None, None,
              inputs.reader().float32_exact, inputs.names)  # fmt: skip
    parts = [run_task(job, rows) for rows in plan(inputs, 7)]
    state = parts[0][0]
    for part, _ in parts[1:]:
        state.merge(part)
    return inputs.report(state, sum(d for _, d in parts)), evaluate(
        "mse", predictions, labels, chunk_rows=5000, **options
    )


def test_tasks_give_global_rows_drops_and_per_sample_order(pair, tmp_path):
    p = np.load(pair / "p.npy")[:20_000].copy()
    p[[3, 12_345, 19_999], 1] = np.nan
    np.save(tmp_path / "p.npy", p)
    for i, part in enumerate(np.array_split(np.load(pair / "y.npy")[:20_000], 3)):
        np.save(tmp_path / f"y-{i}.npy", part)
    spread, plain = _in_process(pair, str(tmp_path / "p.npy"), str(tmp_path / "y-*.npy"), nan="omit")
    assert spread.dropped == plain.dropped == 3 and spread.shape == plain.shape == (19_997, 3)
    assert spread.notes == plain.notes
    np.testing.assert_allclose(
        spread.convention("per_sample").value, plain.convention("per_sample").value, rtol=8 * EPS
    )
    assert (
        abs(spread.convention("mean").value - plain.convention("mean").value)
        <= 8 * EPS * plain.convention("mean").value
    )
    from lossctl.errors import InputError

    p[[3, 19_999], 1] = 0.5
    np.save(tmp_path / "p.npy", p)
    with pytest.raises(InputError, match=r"p.npy row 12346 column 2 is nan"):  # the global row, in a later task
        _in_process(pair, str(tmp_path / "p.npy"), str(tmp_path / "y-*.npy"))


def test_standard_input_cannot_go_to_the_workers(pair, cli):
    from tests.conftest import assert_error

    result = cli("mse", "-", str(pair / "y.npy"), "--scheduler", "local:2", input="1\n")
    assert_error(result, "--scheduler reads the files on the workers: standard input (-) cannot be used")
