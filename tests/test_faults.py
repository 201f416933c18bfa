"""Faults and hostile input (issue 12), each in a real ``python -m lossctl`` subprocess.

Every case asserts the exit code, that stderr is exactly one ``error:`` line
(naming what matters), that no temporary file is left behind, and a bound on
time (a timeout) and memory (``RLIMIT_AS``). Inputs are generated small but
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


def test_int64_beyond_2_53_is_refused_not_rounded(tmp):
    np.save(tmp / "a.npy", np.array([[2**53 + 1], [2**62 + 1]], dtype=np.int64))
    np.save(tmp / "b.npy", np.array([[2**53], [2**53]], dtype=np.int64))
    run = lossctl("mae", "a.npy", "b.npy", "-f", "plain", cwd=tmp)
    run.error_line("a.npy row 1 column 1", "9007199254740993", "2**53", "float64")


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_integers_up_to_2_53_are_exact(tmp, dtype):
    np.save(tmp / "a.npy", np.array([[2**53], [2]], dtype=dtype))
    np.save(tmp / "b.npy", np.array([[2**53 - 1], [0]], dtype=dtype))
    run = lossctl("mae", "a.npy", "b.npy", "-f", "plain", "-c", "sum", cwd=tmp)
    assert (run.code, run.stdout.strip(), run.stderr) == (0, "3", "")


def test_int64_weights_beyond_2_53_are_refused(tmp):
    np.save(tmp / "w.npy", np.array([2**60, 1, 1], dtype=np.int64))
    lossctl("mse", "p.csv", "y.csv", "--weights", "w.npy", cwd=tmp).error_line("w.npy row 1", "2**53")


@pytest.mark.parametrize(
    ("labels", "shown"),
    [
        (np.array([2**64 - 1, 0], dtype=np.uint64), "18446744073709551615"),
        (np.array([2**63, 0], dtype=np.uint64), "9223372036854775808"),
        (np.array([-(2**62), 0], dtype=np.int64), "-4611686018427387904"),
    ],
)
def test_huge_class_indices_are_shown_as_in_the_file(tmp, labels, shown):
    np.save(tmp / "y.npy", labels)
    line = lossctl("sparse-cce", "p3.npy", "y.npy", cwd=tmp).error_line("y.npy row 1", f"class index {shown} ")
    assert "in [0, 3)" in line


def test_huge_class_index_in_text_is_not_shown_negative(tmp):
    (tmp / "y.csv").write_text("9223372036854775808\n0\n")
    run = lossctl("sparse-cce", "p3.npy", "y.csv", cwd=tmp)
    line = run.error_line("y.csv row 1", "class index 9223372036854775808")
    assert "-9" not in line and "RuntimeWarning" not in run.stderr
