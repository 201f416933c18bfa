"""`lossctl check` under faults: dead workers, hanging inputs, memory bombs, Ctrl-C and SIGTERM.

"A broken file never stops the batch" in bounded time: every row comes out, in input order,
the broken one as an ``error`` row, and no worker process is left behind. The hanging input
is a FIFO that nobody writes; the killed worker is a real ``kill -9`` of the process that
holds that FIFO open (found through /proc), as the OOM killer would do it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lossctl import api, check, pool
from lossctl.check import plan, run_checks
from lossctl.pool import ordered_map
from tests.conftest import assert_error

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir() or not hasattr(os, "mkfifo"), reason="Linux only")

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- helpers


def make_files(folder: Path, n: int, fifo_at: int | None = None) -> list[str]:
    """``n`` small prediction files p000.csv... and y.csv (5 rows, values 0..4); p{i} is off by i/100.
    The file at ``fifo_at`` is a FIFO that nobody writes: reading it blocks."""
    y = np.arange(5.0)
    np.savetxt(folder / "y.csv", y, delimiter=",")
    names = []
    for i in range(n):
        path = folder / f"p{i:03d}.csv"
        if i == fifo_at:
            os.mkfifo(path)
        else:
            np.savetxt(path, y + i / 100, delimiter=",")
        names.append(path.name)
    return names


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _nothing_left_running():
    """A failing test (a planted hang, a timeout) must not leave lossctl or its workers running."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            for pid in children(proc.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def start(folder: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """``python -m lossctl check mse ARGS --labels y.csv -f jsonl`` in ``folder``, running."""
    return _popen(
        [sys.executable, "-m", "lossctl", "check", "mse", *args, "--labels", "y.csv", "-f", "jsonl"], folder, env
    )


def _popen(command: list[str], folder: Path, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        command,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    _STARTED.append(proc)
    return proc


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (zombies included), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def reader_of(fifo: Path, parent: int, seconds: float = 20) -> tuple[int, int]:
    """Wait until a worker of ``parent`` has ``fifo`` open and is blocked reading it (we hold the
    write end and never write). Returns ``(worker pid, our write end)``."""
    deadline = time.monotonic() + seconds
    fd = None
    while time.monotonic() < deadline:
        if fd is None:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds once a reader opens it
            except OSError as e:
                assert e.errno == errno.ENXIO, e
        if fd is not None:
            for pid in children(parent):
                try:
                    links = [os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd")]
                except OSError:
                    continue
                if str(fifo) in links:
                    return pid, fd
        time.sleep(0.02)
    raise AssertionError(f"no worker of {parent} opened {fifo}")


def rows(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


# --------------------------------------------------------------------------- the pool itself


def _job(item):
    if item == "exit":
        os._exit(5)
    if item == "raise":
        raise ValueError("boom")
    if item == "sleep":
        time.sleep(60)
    return item * 10


def _fault(item, fault):
    return (item, fault.kind, fault.exitcode, fault.seconds, fault.detail)


def test_pool_answers_every_item_in_order_whatever_its_worker_does():
    items = [1, "exit", 2, "raise", 3, "sleep", 4]
    got = list(ordered_map(_job, items, 2, context=multiprocessing.get_context("fork"), timeout=1, on_fault=_fault))
    assert got == [
        10,
        ("exit", "died", 5, None, ""),
        20,
        ("raise", "crashed", None, None, "ValueError: boom"),
        30,
        ("sleep", "timeout", None, 1, ""),
        40,
    ]
    assert children(os.getpid()) == []


def test_pool_whose_workers_die_at_start_still_answers_each_item_once():
    got = list(
        ordered_map(
            _job,
            [1, 2, 3],
            2,
            context=multiprocessing.get_context("fork"),
            on_fault=_fault,
            initializer=os._exit,
            initargs=(7,),
        )
    )
    assert got == [(i, "died", 7, None, "") for i in (1, 2, 3)]  # not an endless supply of fresh workers
    assert children(os.getpid()) == []


class _DieOnArrival:
    """Unpickling it in the worker ends the worker before the job starts."""

    def __reduce__(self):
        return (os._exit, (9,))


def test_job_whose_worker_dies_before_starting_it_is_retried_once(monkeypatch):
    started = []
    real = pool._Worker.__init__
    monkeypatch.setattr(pool._Worker, "__init__", lambda self, *a: started.append(1) or real(self, *a))
    items = [1, _DieOnArrival(), 2]
    got = list(ordered_map(_job, items, 1, context=multiprocessing.get_context("fork"), on_fault=_fault))
    assert got == [10, (items[1], "died", 9, None, ""), 20]
    assert len(started) == 3  # the first worker; a fresh one for the retry, which dies too; one for the rest


def test_giving_work_to_a_dead_worker_does_not_kill_the_parent_with_sigpipe():
    script = (
        "import multiprocessing, signal\n"
        "from lossctl.pool import _Worker\n"
        "signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as lossctl's main() does\n"
        "w = _Worker(multiprocessing.get_context('fork'), abs, None, ())\n"
        "w.process.kill(); w.process.join()\n"
        "print(w.give(0, 1, None), w.death().signal)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "False 9\n", "")


# --------------------------------------------------------------------------- a killed worker


def test_worker_killed_mid_batch_becomes_one_error_row_and_the_rest_are_checked(tmp_path):
    files = make_files(tmp_path, 4, fifo_at=1)
    proc = start(tmp_path, *files, "-j", "1", "--timeout", "60")
    first = proc.stdout.readline()  # out before the stuck file is done: rows stream
    assert json.loads(first)["file"] == files[0]
    worker, fd = reader_of(tmp_path / files[1], proc.pid)
    os.kill(worker, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    os.close(fd)
    assert proc.returncode == 2, err
    got = rows(first + out)
    assert [r["file"] for r in got] == files
    assert [r["status"] for r in got] == ["pass", "error", "pass", "pass"]
    assert got[1]["message"] == (
        f"worker died while reading {files[1]} (killed by signal 9, e.g. out of memory); the other files were checked"
    )
    assert [r["value"] for r in got if r["status"] == "pass"] == pytest.approx([0, 4e-4, 9e-4])
    assert err == f"error: {got[1]['message']}\n"
    assert not alive(worker)


def test_300_files_two_workers_one_killed_all_rows_come_out(tmp_path):
    files = make_files(tmp_path, 300, fifo_at=150)
    proc = start(tmp_path, *files, "-j", "2", "--timeout", "60", "--max", "8.9")  # p299 fails: 2.99² > 8.9
    worker, fd = reader_of(tmp_path / files[150], proc.pid)
    os.kill(worker, signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    os.close(fd)
    got = rows(out)
    assert proc.returncode == 2, err  # an error row outranks a failed bound (exit 1)
    assert [r["file"] for r in got] == files
    assert [(i, r["status"]) for i, r in enumerate(got) if r["status"] != "pass"] == [(150, "error"), (299, "fail")]
    assert got[150]["status"] == "error" and "worker died while reading p150.csv" in got[150]["message"]
    assert got[299]["value"] == pytest.approx(2.99**2)
    assert err.count("error: ") == 1


# --------------------------------------------------------------------------- time and memory budgets


def test_hanging_input_times_out_and_the_others_pass(tmp_path):
    files = make_files(tmp_path, 4, fifo_at=1)
    began = time.monotonic()
    proc = start(tmp_path, *files, "-j", "1", "--timeout", "1")
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - began
    got = rows(out)
    assert proc.returncode == 2, err
    assert [r["status"] for r in got] == ["pass", "error", "pass", "pass"]
    assert got[1]["message"] == f"{files[1]} took longer than 1 s; raise --timeout or check the file"
    assert err == f"error: {got[1]['message']}\n"
    assert 1 <= took < 10, took  # the budget plus start-up on a busy machine, not forever


def test_spawn_fallback_has_the_same_budget(monkeypatch, tmp_path):
    """Where there is no fork (Windows), workers are spawned: they read the labels themselves."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(check.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    files = make_files(tmp_path, 4, fifo_at=2)
    results = list(run_checks(plan("mse", files, "y.csv"), jobs=2, timeout=1))
    assert [r.status for r in results] == ["pass", "pass", "error", "pass"], [r.message for r in results]
    assert results[2].message == "p002.csv took longer than 1 s; raise --timeout or check the file"
    assert [r.value for r in results if r.value is not None] == pytest.approx([0, 1e-4, 9e-4])


def test_timeout_zero_means_no_limit(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    files = make_files(tmp_path, 2)
    results = list(run_checks(plan("mse", files, "y.csv"), jobs=2, timeout=None))
    assert [r.status for r in results] == ["pass", "pass"]


def _hungry(*args, **kwargs):
    return np.ones(300 * 2**20 // 8).sum()  # 300 MB: more than --max-memory allows


def test_memory_error_in_a_worker_is_an_error_row_and_the_worker_goes_on(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    files = make_files(tmp_path, 3)
    real = api.evaluate
    monkeypatch.setattr(
        api, "evaluate", lambda spec, pred, *a, **kw: (_hungry if "001" in pred else real)(spec, pred, *a, **kw)
    )
    results = list(run_checks(plan("mse", files, "y.csv"), jobs=1, max_memory=50))
    assert [r.status for r in results] == ["pass", "error", "pass"]
    assert results[1].message == "p001.csv needs more memory than --max-memory 50 MB; raise it or check the file"


def fortran_bomb(path: Path, rows: int, cols: int) -> None:
    """An .npz whose one member is a Fortran-ordered float64 array of zeros: ``8 * rows * cols`` bytes
    inflated from a few kB. Such a member is read whole."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, z.open("arr_0.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": True, "shape": (rows, cols)})
        zeros = bytes(2**20)
        for _ in range(8 * rows * cols // len(zeros)):
            f.write(zeros)


def test_decompression_bomb_under_max_memory_is_an_error_row(tmp_path):
    files = make_files(tmp_path, 2)
    fortran_bomb(tmp_path / "bomb.npz", 2**20, 8)  # 64 MB
    (tmp_path / "checks.csv").write_text(
        f"predictions,labels,loss\n{files[0]},y.csv,mse\nbomb.npz,bomb.npz,mse\n{files[1]},y.csv,mse\n"
    )
    command = [
        sys.executable,
        "-m",
        "lossctl",
        "check",
        "--manifest",
        "checks.csv",
        "--max-memory",
        "32",
        "-f",
        "jsonl",
    ]
    proc = _popen(command, tmp_path)
    out, err = proc.communicate(timeout=30)
    got = rows(out)
    assert proc.returncode == 2, err
    assert [r["status"] for r in got] == ["pass", "error", "pass"]
    assert "bomb.npz" in got[1]["message"] and "internal error" not in got[1]["message"]
    assert err == f"error: {got[1]['message']}\n"


# --------------------------------------------------------------------------- Ctrl-C, SIGTERM: nothing left behind


def test_ctrl_c_kills_and_reaps_every_worker(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    files = make_files(tmp_path, 4, fifo_at=1)
    before = set(children(os.getpid()))
    results = run_checks(plan("mse", files, "y.csv"), jobs=2, timeout=60)
    assert next(results).status == "pass"
    workers = set(children(os.getpid())) - before
    assert len(workers) == 2
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        next(results)  # waiting for the FIFO when Ctrl-C comes
    timer.join()
    assert set(children(os.getpid())) & workers == set()  # killed and reaped: not even zombies


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_to_the_parent_ends_it_and_its_workers(tmp_path, signum, code):
    files = make_files(tmp_path, 4, fifo_at=1)
    proc = start(tmp_path, *files, "-j", "2", "--timeout", "60")
    first = proc.stdout.readline()
    worker, fd = reader_of(tmp_path / files[1], proc.pid)
    workers = children(proc.pid)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    os.close(fd)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert [r["file"] for r in rows(first + out)] == files[:1]  # p001 hangs, so nothing after it came out
    deadline = time.monotonic() + 0.1  # well before a worker would notice by itself that its parent is gone
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(alive(pid) for pid in workers)


def test_workers_end_themselves_when_the_parent_is_killed(tmp_path):
    files = make_files(tmp_path, 3, fifo_at=1)
    proc = start(tmp_path, *files, "-j", "2", "--timeout", "60")
    worker, fd = reader_of(tmp_path / files[1], proc.pid)
    workers = children(proc.pid)
    proc.kill()  # no chance to clean up
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.close(fd)
    assert not any(alive(pid) for pid in workers)


# --------------------------------------------------------------------------- option plumbing


def test_bogus_lossctl_format_is_refused_by_check(cli, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    files = make_files(tmp_path, 1)
    monkeypatch.setenv("LOSSCTL_FORMAT", "bogus")
    assert_error(cli("check", "mse", *files, "--labels", "y.csv"), "unknown format 'bogus' (from LOSSCTL_FORMAT)")
    monkeypatch.setenv("LOSSCTL_FORMAT", "plain")  # a format of `lossctl LOSS` that check has not: falls back
    result = cli("check", "mse", *files, "--labels", "y.csv")
    assert result.exit_code == 0 and result.stdout.startswith("file\tlabels\t")


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--timeout", "nan"], "--timeout must be a number of seconds"),
        (["--timeout", "-1"], "--timeout"),
        (["--max-memory", "0"], "--max-memory must be a positive number of MB"),
        (["--max-memory", "nan"], "--max-memory must be a positive number of MB"),
    ],
)
def test_bad_budgets_are_refused(cli, monkeypatch, tmp_path, flags, fragment):
    monkeypatch.chdir(tmp_path)
    files = make_files(tmp_path, 1)
    assert_error(cli("check", "mse", *files, "--labels", "y.csv", *flags), fragment)
