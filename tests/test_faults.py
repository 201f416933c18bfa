"""Faults and hostile input (issue 12): signals, streams, devices and limits in a real subprocess.

Every case asserts the exit code, that stderr is exactly one ``error:`` line
(naming what matters), that no temporary file is left behind, and a bound on
time (a timeout) and memory (``RLIMIT_AS``). Cases that are only about what is
checked and what is said (option validation, escaped names) run in-process
through :func:`quick` with the same assertions. Inputs are generated small but
with the shape of the real thing: a bomb that inflates to 64 MB stands for one
that inflates to 64 GB, because the limits the readers enforce are far below
both.
"""

from __future__ import annotations

import gzip
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX resource limits, signals and FIFOs")

#: address-space cap for one lossctl run: python + numpy + the readers' bounded buffers fit well inside
MEMORY_CAP = 600 << 20
#: wall-clock cap for one lossctl run (start-up is about half a second)
TIME_CAP = 15.0


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    def error_line(self, *fragments: str) -> str:
        """Exit 2 with exactly one ``error:`` line on stderr holding ``fragments``; returns the line."""
        assert self.code == 2, (self.code, self.stdout[-500:], self.stderr[-2000:])
        lines = self.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), self.stderr[-2000:]
        assert "internal error" not in lines[0] and "Traceback" not in self.stderr
        for fragment in fragments:
            assert fragment in lines[0], (fragment, lines[0])
        return lines[0]


def _limits(memory: int | None, fsize: int | None):
    def apply() -> None:
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead

    return apply


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOSSCTL_")}
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    # RLIMIT_AS caps address space, not memory used: keep allocators from reserving more than they use
    # (pyarrow's jemalloc reserves large arenas up front, glibc 64 MB per thread)
    env.update(ARROW_DEFAULT_MEMORY_POOL="system", MALLOC_ARENA_MAX="2")
    return env


def lossctl(
    *args,
    cwd: Path,
    memory: int | None = MEMORY_CAP,
    fsize: int | None = None,
    timeout: float = TIME_CAP,
    stdin=subprocess.DEVNULL,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
) -> Run:
    """Run ``python -m lossctl ARGS`` in ``cwd`` under the caps; assert it left no temporary file."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "lossctl", *map(str, args)],
        cwd=cwd,
        env=_env(),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        timeout=timeout,
        preexec_fn=_limits(memory, fsize),
    )
    seconds = time.monotonic() - start
    assert_no_temporary(cwd)
    decode = lambda b: (b or b"").decode("utf-8", "replace")
    return Run(proc.returncode, decode(proc.stdout), decode(proc.stderr), seconds)


@pytest.fixture
def quick(monkeypatch):
    """In-process runs (Typer's CliRunner) for cases about what is checked and said, not about the process.

    The same assertions as :func:`lossctl` (exit code, one line, no temporary file, a time bound), without
    paying a fresh interpreter's start-up for each case. Signals, streams, devices and resource limits
    need a process of their own and use :func:`lossctl`.
    """
    from typer.testing import CliRunner

    from lossctl.cli import app

    for var in ("LOSSCTL_FORMAT", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()

    def run(*args, cwd: Path) -> Run:
        monkeypatch.chdir(cwd)
        start = time.monotonic()
        result = runner.invoke(app, [str(a) for a in args])
        seconds = time.monotonic() - start
        assert seconds < TIME_CAP
        assert_no_temporary(cwd)
        return Run(result.exit_code, result.stdout, result.stderr, seconds)

    return run


def assert_no_temporary(folder: Path) -> None:
    left = [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    assert not left, left


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    np.savetxt(tmp_path / "p.csv", [[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]], delimiter=",")
    np.savetxt(tmp_path / "y.csv", [[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]], delimiter=",")
    np.save(tmp_path / "p3.npy", np.full((2, 3), 1 / 3))
    return tmp_path


# --------------------------------------------------------------------------- silent wrong numbers


def test_int64_beyond_2_53_is_refused_not_rounded(quick, tmp):
    np.save(tmp / "a.npy", np.array([[2**53 + 1], [2**62 + 1]], dtype=np.int64))
    np.save(tmp / "b.npy", np.array([[2**53], [2**53]], dtype=np.int64))
    run = quick("mae", "a.npy", "b.npy", "-f", "plain", cwd=tmp)
    run.error_line("a.npy row 1 column 1", "9007199254740993", "2**53", "float64")


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_integers_up_to_2_53_are_exact(quick, tmp, dtype):
    np.save(tmp / "a.npy", np.array([[2**53], [2]], dtype=dtype))
    np.save(tmp / "b.npy", np.array([[2**53 - 1], [0]], dtype=dtype))
    run = quick("mae", "a.npy", "b.npy", "-f", "plain", "-c", "sum", cwd=tmp)
    assert (run.code, run.stdout.strip(), run.stderr) == (0, "3", "")


def test_int64_weights_beyond_2_53_are_refused(quick, tmp):
    np.save(tmp / "w.npy", np.array([2**60, 1, 1], dtype=np.int64))
    quick("mse", "p.csv", "y.csv", "--weights", "w.npy", cwd=tmp).error_line("w.npy row 1", "2**53")


@pytest.mark.parametrize(
    ("labels", "shown"),
    [
        (np.array([2**64 - 1, 0], dtype=np.uint64), "18446744073709551615"),
        (np.array([2**63, 0], dtype=np.uint64), "9223372036854775808"),
        (np.array([-(2**62), 0], dtype=np.int64), "-4611686018427387904"),
    ],
)
def test_huge_class_indices_are_shown_as_in_the_file(quick, tmp, labels, shown):
    np.save(tmp / "y.npy", labels)
    line = quick("sparse-cce", "p3.npy", "y.npy", cwd=tmp).error_line("y.npy row 1", f"class index {shown} ")
    assert "in [0, 3)" in line


def test_huge_class_index_in_text_is_not_shown_negative(quick, tmp):
    (tmp / "y.csv").write_text("9223372036854775808\n0\n")
    run = quick("sparse-cce", "p3.npy", "y.csv", cwd=tmp)
    line = run.error_line("y.csv row 1", "class index 9223372036854775808")
    assert "-9" not in line and "RuntimeWarning" not in run.stderr


# --------------------------------------------------------------------------- bounded time and memory on bad text


def _gz(path: Path, data_parts, repeat: int) -> None:
    """A small .gz that inflates to ``repeat`` copies of the middle part (a decompression bomb's shape)."""
    head, middle, tail = data_parts
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(head)
        block = middle * (1 << 20)
        for _ in range(repeat):
            f.write(block)
        f.write(tail)


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (lambda p: p.write_bytes(b"1" * (17 << 20)), ["x.csv line 1 is longer than 16 MB"]),
        (lambda p: p.write_bytes(b"1,2\n3,4\n" + b"5" * (17 << 20) + b"\n"), ["x.csv line 3 is longer than 16 MB"]),
        (lambda p: p.write_bytes(b"a,b\n" + b"5" * (17 << 20)), ["x.csv line 2 is longer than 16 MB"]),
        (lambda p: p.write_bytes(b"\n" * (33 << 20) + b"1\n"), ["x.csv holds only blank lines in its first 32 MB"]),
        (lambda p: p.write_bytes(b"1,2\n\x00\x01\x02" * 5), ["x.csv line 2 holds binary data (a NUL byte)"]),
    ],
    ids=["one-line", "long-data-line", "long-after-header", "blank-lines", "binary"],
)
def test_hostile_text_is_refused_in_bounded_time(tmp, make, fragments):
    make(tmp / "x.csv")
    run = lossctl("mse", "x.csv", "y.csv", cwd=tmp)
    run.error_line(*fragments)
    assert run.seconds < 8


@pytest.mark.parametrize(
    ("parts", "fragment"),
    [
        ((b"", b"1", b""), "line 1 is longer than 16 MB"),
        ((b"1,2\n", b"\n", b"3,4\n"), "holds only blank lines after line 1"),
        ((b"1,2\n3,4\n", b"7", b"\n"), "line 3 is longer than 16 MB"),
    ],
    ids=["one-line", "blank-lines", "long-row"],
)
def test_gzip_bombs_are_refused_with_bounded_memory(tmp, parts, fragment):
    _gz(tmp / "bomb.csv.gz", parts, 34)  # 34 MB inflated from about 34 KB: past every limit, like 34 GB
    assert (tmp / "bomb.csv.gz").stat().st_size < 1 << 20
    run = lossctl("mse", "bomb.csv.gz", "y.csv", cwd=tmp, memory=400 << 20)
    run.error_line(f"bomb.csv.gz {fragment}" if "line" in fragment.split()[0] else fragment)
    assert run.seconds < 8


def test_dev_zero_named_csv_is_refused_at_once(tmp):
    (tmp / "zero.csv").symlink_to("/dev/zero")
    run = lossctl("mse", "zero.csv", "y.csv", cwd=tmp, timeout=10)
    run.error_line("zero.csv line 1 holds binary data (a NUL byte)")


def test_blank_lines_are_skipped_in_linear_time(tmp):
    (tmp / "b.csv").write_bytes(b"0.5,0.5\n" + b"\n" * (8 << 20) + b"0.5,0.5\n")
    (tmp / "c.csv").write_bytes(b"\r\n  \n" * (1 << 20) + b"0.5,0.5\n0.5,0.5\n")
    run = lossctl("mae", "b.csv", "c.csv", "-f", "plain", "-c", "mean", cwd=tmp)
    assert (run.code, run.stdout.strip(), run.stderr) == (0, "0", "")
    assert run.seconds < 6  # start-up and pyarrow's import included; the scanning itself is C-speed


def test_wide_csv_runs_in_seconds(tmp):
    k = 100_000  # quadratic column mapping took minutes at this width
    rng = np.random.default_rng(0)
    np.savetxt(tmp / "wide.csv", rng.integers(0, 9, size=(2, 2 * k)), delimiter=",", fmt="%d")
    run = lossctl(
        "mse", "wide.csv", "--pred-cols", f"0:{k}", "--label-cols", f"{k}:", "-f", "plain", "-c", "sum", cwd=tmp
    )
    arr = np.loadtxt(tmp / "wide.csv", delimiter=",")
    assert run.code == 0, run.stderr
    assert float(run.stdout) == float(((arr[:, :k] - arr[:, k:]) ** 2).sum())
    assert run.seconds < 10


def test_label_cols_of_a_streamed_file_read_on_two_threads(tmp):
    """--pred-cols/--label-cols of one big (streamed) file: both views share one pass safely."""
    rows = np.arange(400_000)
    np.savetxt(tmp / "both.csv", np.column_stack([rows, rows + 1]), delimiter=",", fmt="%d")
    run = lossctl("mae", "both.csv", "--pred-cols", "0", "--label-cols", "1", "-f", "plain", "-c", "mean", cwd=tmp)
    assert (run.code, run.stdout.strip(), run.stderr) == (0, "1", "")


def test_a_row_too_big_to_hold_is_refused_before_reading(tmp):
    with open(tmp / "wide.npy", "wb") as f:  # a header promising one 8 GB row; the data is never read
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (1, 1 << 30)})
        f.truncate(f.tell() + (8 << 30))  # sparse: takes no disk space
    run = lossctl("mse", "wide.npy", "wide.npy", cwd=tmp, memory=400 << 20)
    run.error_line("wide.npy has 1,073,741,824 values per row", "refuses rows over 64 MB", "transposed")


def test_fortran_npz_member_is_refused_by_size(tmp):
    import zipfile

    with zipfile.ZipFile(tmp / "f.npz", "w", zipfile.ZIP_DEFLATED) as zf, zf.open("x.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": True, "shape": (1 << 17, 80)})
        for _ in range(80):
            f.write(bytes(1 << 20))
    assert (tmp / "f.npz").stat().st_size < 1 << 20  # 80 MB inflated from about 80 KB
    run = lossctl("mse", "f.npz", "f.npz", cwd=tmp, memory=400 << 20)
    run.error_line("f.npz:x is a Fortran-ordered array of 80 MB", "re-save it C-ordered", "ascontiguousarray")


def test_small_fortran_npz_member_is_still_read(quick, tmp):
    arr = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    np.savez(tmp / "f.npz", x=arr)
    np.save(tmp / "z.npy", np.zeros((4, 3)))
    run = quick("mse", "f.npz", "z.npy", "-f", "plain", "-c", "sum", cwd=tmp)
    assert (run.code, float(run.stdout)) == (0, float((arr**2).sum()))


# --------------------------------------------------------------------------- non-regular files


def test_fifo_is_read_once(tmp):
    (tmp / "rows.csv").write_text("".join(f"{i},{i}\n" for i in range(300_000)))  # several MB: the streamed path
    (tmp / "y2.csv").write_text("".join(f"{i},{i + 1}\n" for i in range(300_000)))
    os.mkfifo(tmp / "fifo.csv")
    copy = "import shutil, sys; shutil.copyfileobj(open(sys.argv[1], 'rb'), open(sys.argv[2], 'wb'))"
    writer = subprocess.Popen([sys.executable, "-c", copy, tmp / "rows.csv", tmp / "fifo.csv"], stderr=subprocess.PIPE)
    try:
        run = lossctl("mae", "fifo.csv", "y2.csv", "-f", "plain", "-c", "mean", cwd=tmp, timeout=30)
    finally:
        _, err = writer.communicate(timeout=30)
    assert (run.code, run.stdout.strip(), run.stderr) == (0, "0.5", "")  # |0| in one column, |1| in the other
    assert writer.returncode == 0, err  # not killed by SIGPIPE: the pipe was read once, to its end


@pytest.mark.parametrize(
    ("target", "name"), [("/dev/urandom", "r.npz"), ("/dev/zero", "z.npy"), ("/dev/null", "n.parquet")]
)
def test_devices_named_as_binary_files_are_refused(tmp, target, name):
    (tmp / name).symlink_to(target)
    run = lossctl("mse", name, "y.csv", cwd=tmp, timeout=10)
    run.error_line(f"{name} is a character device, not a regular file")


def test_urandom_named_csv_is_refused_quickly(tmp):
    (tmp / "r.csv").symlink_to("/dev/urandom")
    run = lossctl("mse", "r.csv", "y.csv", cwd=tmp, timeout=10)
    run.error_line("r.csv line ")  # a NUL byte or a byte that is not UTF-8, in the first few lines


def test_unreadable_file_is_not_called_missing(tmp, monkeypatch):
    """A file that exists but cannot be reached or opened says why, never "does not exist".

    (In-process: the tests may run as root, for whom permissions do not apply.)
    """
    from lossctl.errors import InputError
    from lossctl.io import readers

    real_stat, real_open = os.stat, open
    hidden = str(tmp / "secret" / "p.csv")
    locked = str(tmp / "p.csv")

    def stat(path, *a, **kw):
        if str(path) == hidden:
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *a, **kw)

    def opener(path, *a, **kw):
        if str(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *a, **kw)

    monkeypatch.setattr(readers.os, "stat", stat)
    monkeypatch.setattr(readers, "open", opener, raising=False)
    for path, fragment in ((hidden, "cannot be read (Permission denied)"), (locked, "exists but cannot be read")):
        with pytest.raises(InputError) as e:
            readers.open_source(path)
        assert fragment in str(e.value) and "does not exist" not in str(e.value)
    with pytest.raises(InputError, match="does not exist"):
        readers.open_source(str(tmp / "missing.csv"))


# --------------------------------------------------------------------------- signals, streams, disks


@pytest.fixture(scope="module")
def long_run(tmp_path_factory) -> Path:
    """Inputs whose --per-sample CSV takes a few seconds to write: time to send a signal mid-write."""
    d = tmp_path_factory.mktemp("long")
    rng = np.random.default_rng(1)
    np.save(d / "p.npy", rng.random(1_500_000))
    np.save(d / "y.npy", rng.random(1_500_000))
    return d


def _signal_mid_write(folder: Path, signum: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lossctl", "mse", "p.npy", "y.npy", "--per-sample", "out.csv", "-f", "json"],
        cwd=folder,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limits(MEMORY_CAP, None),
    )
    deadline = time.monotonic() + TIME_CAP
    while not any(p.name.endswith(".tmp") for p in folder.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "the temporary file never appeared"
        time.sleep(0.005)
    proc.send_signal(signum)
    return proc


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_during_per_sample_cleans_up_and_exits_128_plus_n(long_run, tmp_path, name):
    """The signal is sent the moment the temporary file appears: the narrowest window there is."""
    for input_file in ("p.npy", "y.npy"):
        (tmp_path / input_file).symlink_to(long_run / input_file)
    signum = getattr(signal, name)
    proc = _signal_mid_write(tmp_path, signum)
    out, err = proc.communicate(timeout=TIME_CAP)
    assert proc.returncode == 128 + signum, (proc.returncode, err[-2000:])
    assert b"Traceback" not in err and err.strip() == b"", err[-2000:]
    assert out == b""  # interrupted before the report was printed
    assert_no_temporary(tmp_path)
    assert not (tmp_path / "out.csv").exists()  # nothing half-written took its place


#: Python's own start-up (site, encodings) is not lossctl's: the probe says "ready" once it is over
_STARTUP_PROBE = (
    "import sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); import runpy; "
    "sys.argv = ['lossctl', *sys.argv[1:]]; runpy.run_module('lossctl', run_name='__main__', alter_sys=True)"
)


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3])
def test_ctrl_c_during_start_up_prints_no_traceback(tmp, delay):
    proc = subprocess.Popen(
        [sys.executable, "-c", _STARTUP_PROBE, "mse", "p.csv", "y.csv"],
        cwd=tmp,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline() == b"ready\n"
    time.sleep(delay)  # somewhere in importing typer, rich, numpy, or already running
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIME_CAP)
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err, err[-2000:]
    assert proc.returncode in (130, 0), (proc.returncode, err)  # 0: the run was already over


def _closed(fd: int):
    def close() -> None:
        _limits(MEMORY_CAP, None)()
        os.close(fd)

    return close


def _run_closed(folder: Path, fd: int, *args) -> subprocess.CompletedProcess:
    streams = {0: "stdin", 1: "stdout", 2: "stderr"}
    kw = {name: subprocess.PIPE for i, name in streams.items() if i != fd and i != 0}
    return subprocess.run(
        [sys.executable, "-m", "lossctl", *args], cwd=folder, env=_env(), preexec_fn=_closed(fd), timeout=TIME_CAP, **kw
    )


def test_closed_stderr_still_exits_2_on_bad_input(tmp):
    assert _run_closed(tmp, 2, "mse", "missing.csv", "y.csv").returncode == 2


def test_closed_stdout_is_an_ordinary_error(tmp):
    proc = _run_closed(tmp, 1, "mse", "p.csv", "y.csv")
    Run(proc.returncode, "", proc.stderr.decode(), 0).error_line("standard output is closed")


def test_closed_stdin_is_an_ordinary_error(tmp):
    proc = _run_closed(tmp, 0, "mse", "-", "y.csv")
    Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), 0).error_line("standard input is closed")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_stdout_is_an_ordinary_error(tmp):
    with open("/dev/full", "w") as full:
        run = lossctl("mse", "p.csv", "y.csv", "-f", "json", cwd=tmp, stdout=full)
    run.error_line("cannot write the output to standard output (No space left on device)")


@pytest.mark.parametrize("out", ["out.csv", "out.npy", "out.tsv"])
def test_full_disk_during_per_sample_is_an_ordinary_error(tmp, out):
    (tmp / out).write_text("old\n")
    run = lossctl("mse", "p.csv", "y.csv", "--per-sample", out, cwd=tmp, fsize=0)  # RLIMIT_FSIZE: like ENOSPC
    run.error_line(f"cannot write {out}: File too large (free some space", "unchanged")
    assert (tmp / out).read_text() == "old\n"


def test_ctrl_c_unwinds_through_atomic_open(tmp):
    """The in-process half of the policy: the exception a signal raises removes the temporary file."""
    from lossctl.cli import Interrupted
    from lossctl.output import atomic_open

    with pytest.raises(Interrupted):
        with atomic_open(str(tmp / "x.csv")) as f:
            f.write("partial")
            assert any(p.name.endswith(".tmp") for p in tmp.iterdir())  # it exists while being written
            raise Interrupted(signal.SIGTERM)
    assert_no_temporary(tmp)
    assert not (tmp / "x.csv").exists()


# --------------------------------------------------------------------------- options and outputs that destroy inputs


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--per-sample", "p.csv"), "--per-sample p.csv is the input file p.csv"),
        (("--per-sample", "./y.csv"), "--per-sample ./y.csv is the input file y.csv"),
        (("--per-sample", "w.csv", "--weights", "w.csv"), "is the input file w.csv"),
        (("--per-sample", ""), "--per-sample needs a file name"),
    ],
    ids=["predictions", "labels", "weights", "empty"],
)
def test_per_sample_never_overwrites_an_input(quick, tmp, args, fragment):
    (tmp / "w.csv").write_text("1\n1\n1\n")
    before = {p.name: p.read_bytes() for p in tmp.iterdir() if p.is_file()}
    quick("mse", "p.csv", "y.csv", *args, cwd=tmp).error_line(fragment)
    assert {p.name: p.read_bytes() for p in tmp.iterdir() if p.is_file()} == before


def test_per_sample_to_a_new_file_works(quick, tmp):
    run = quick("mse", "p.csv", "y.csv", "--per-sample", "new.csv", "-f", "plain", "-c", "sum", cwd=tmp)
    assert run.code == 0 and (tmp / "new.csv").read_text().startswith("row,loss\n1,")


@pytest.mark.parametrize("delta", ["nan", "inf", "-1", "0"])
def test_delta_must_be_finite_and_positive(quick, tmp, delta):
    quick("huber", "p.csv", "y.csv", "--delta", delta, cwd=tmp).error_line("--delta must be a finite number > 0")


def test_numpy_runtime_warnings_stay_off_stderr(tmp):
    np.savetxt(tmp / "big.csv", [[1e200, 1e200]], delimiter=",")
    np.savetxt(tmp / "neg.csv", [[-1e200, -1e200]], delimiter=",")
    run = lossctl("mse", "big.csv", "neg.csv", "-f", "json", cwd=tmp)  # squares overflow to inf
    assert "RuntimeWarning" not in run.stderr and ".py:" not in run.stderr, run.stderr


# --------------------------------------------------------------------------- untrusted names in messages


def test_file_name_with_newline_and_escape_stays_one_line(tmp):
    name = "evil\nerror: forged\x1b[31m.csv"
    (tmp / name).write_text("a,b\n")  # a header and no data rows: an error that names the file
    line = lossctl("mse", name, "y.csv", cwd=tmp).error_line("evil\\nerror: forged\\x1b[31m.csv has a header row")
    assert "\x1b" not in line


def test_npz_with_thousands_of_members_gives_a_short_line(quick, tmp):
    import zipfile

    with zipfile.ZipFile(tmp / "many.npz", "w") as zf:  # the members' contents do not matter: only their names
        for i in range(5000):
            zf.writestr(f"k{i}.npy", b"")
    line = quick("mse", "many.npz", "y.csv", cwd=tmp).error_line("many.npz holds 5000 arrays", "and 4,980 more")
    assert len(line) < 600


def test_npz_key_with_control_characters_is_escaped(quick, tmp):
    np.savez(tmp / "k.npz", **{"a\nb\x07": np.zeros((3, 3)), "c": np.zeros(1)})
    line = quick("mse", "k.npz", "y.csv", cwd=tmp).error_line("k.npz holds 2 arrays (a\\nb\\x07, c)")
    assert "\x07" not in line


def test_long_and_hostile_header_cells_are_not_echoed(quick, tmp):
    secret = "ghp_" + "x" * 200
    (tmp / "h.csv").write_text(f"{secret},b\x1b[2J\n")
    line = quick("mse", "h.csv", "y.csv", cwd=tmp).error_line("h.csv has a header row", "b\\x1b[2J")
    assert "x" * 50 not in line and "\x1b" not in line


def test_unknown_npz_key_and_many_columns_are_capped(quick, tmp):
    header = ",".join(f"col{i}" for i in range(5000))
    (tmp / "wide.csv").write_text(header + "\n" + ",".join("1" for _ in range(5000)) + "\n")
    run = quick("mse", "wide.csv", "y.csv", "--pred-cols", "nope", cwd=tmp)
    line = run.error_line("wide.csv has no column 'nope'", "and 4,980 more")
    assert len(line) < 600


@pytest.mark.parametrize("streamed", [False, True])
def test_text_integers_that_float64_would_round_are_refused(quick, tmp, streamed):
    rows = "9007199254740993\n1\n" + ("1\n" * 600_000 if streamed else "")  # > 4 MB: the pyarrow path
    (tmp / "a.csv").write_text(rows)
    (tmp / "b.csv").write_text(rows.replace("9007199254740993", "9007199254740992"))
    run = quick("mae", "a.csv", "b.csv", "-f", "plain", "-c", "sum", cwd=tmp)
    run.error_line("a.csv line 1 column 1 is the integer 9007199254740993", "2**53", "9007199254740992")


def test_text_integers_exact_in_float64_are_read(quick, tmp):
    (tmp / "a.csv").write_text(f"{2**60}\n-{2**53}\n1e300\n")
    (tmp / "b.csv").write_text(f"{2**60}\n-{2**53}\n1e300\n")
    run = quick("mae", "a.csv", "b.csv", "-f", "plain", "-c", "sum", cwd=tmp)
    assert (run.code, run.stdout.strip(), run.stderr) == (0, "0", "")


def test_out_of_memory_while_reading_names_the_file(tmp):
    """Two 14 MB rows (each under the line limit) of 7 million cells do not fit a 400 MB address space."""
    (tmp / "mem.csv").write_text(("1," * 7_000_000 + "1\n") * 2)
    run = lossctl("mse", "mem.csv", "mem.csv", cwd=tmp, memory=400 << 20)
    run.error_line("ran out of memory while reading mem.csv", "--chunk-rows")
