"""Benchmark lossctl against the one-liners a user would write instead.

Generates its own data under ``bench/data/`` (git-ignored), then times every
contender in a fresh subprocess, alternating contenders within each round so
that drift (page cache, CPU frequency) hits all of them alike. Reports the
median wall time and peak resident memory (``/usr/bin/time -f %M``) and the ratios the performance targets are stated in, as a
Markdown table to paste into the README.

    python bench/run.py                       # every case at full size (~1 GB of data)
    python bench/run.py --cases small csv --csv-rows 100000 --repeats 3

Every contender prints its MSE; the table shows it, so a fast wrong answer is
visible. The first round is a warm-up (it fills the page cache) and is not
counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PYTHON = sys.executable
# The console script next to this interpreter (not a pyenv shim, which adds a bash start-up).
LOSSCTL = str(Path(PYTHON).with_name("lossctl"))
TIME = Path("/usr/bin/time")


@dataclass
class Contender:
    label: str
    argv: list[str]
    baseline: str | None = None  # the target this contender is the reference for
    discard: bool = False  # send stdout to /dev/null (the raw read)


@dataclass
class Result:
    label: str
    wall: list[float]
    rss_kb: list[int]
    output: str

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def rss_mb(self) -> float:
        return statistics.median(self.rss_kb) / 1024


def py(code: str) -> list[str]:
    return [PYTHON, "-c", code]


# ---------------------------------------------------------------- data


def npy_pair(rows: int, cols: int) -> tuple[Path, Path]:
    pred, true = DATA / f"pred_{rows}x{cols}.npy", DATA / f"true_{rows}x{cols}.npy"
    if not (pred.exists() and true.exists()):
        print(f"generating {pred.name}, {true.name} ...", file=sys.stderr)
        rng = np.random.default_rng(0)
        y = rng.random((rows, cols), dtype=np.float32)
        np.save(true, y)
        np.save(pred, (y + rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(0.1)))
    return pred, true


def csv_pair(rows: int, cols: int) -> tuple[Path, Path]:
    pred, true = DATA / f"pred_{rows}x{cols}.csv", DATA / f"true_{rows}x{cols}.csv"
    if not (pred.exists() and true.exists()):
        print(f"generating {pred.name}, {true.name} ...", file=sys.stderr)
        rng = np.random.default_rng(1)
        y = rng.random((rows, cols))
        header = ",".join(f"y{k}" for k in range(cols))
        np.savetxt(true, y, fmt="%.7g", delimiter=",", header=header, comments="")
        np.savetxt(
            pred, y + rng.standard_normal((rows, cols)) * 0.1, fmt="%.7g", delimiter=",", header=header, comments=""
        )
    return pred, true


# ---------------------------------------------------------------- contenders


def npy_contenders(p: Path, y: Path) -> list[Contender]:
    load = f"import numpy as np; p = np.load({str(p)!r}); y = np.load({str(y)!r}); "
    return [
        Contender("lossctl piped default (tsv, all conventions)", [LOSSCTL, "mse", str(p), str(y)], baseline="piped"),
        Contender("lossctl piped default --ci", [LOSSCTL, "mse", str(p), str(y), "--ci"]),
        Contender("lossctl -f json (all conventions)", [LOSSCTL, "mse", str(p), str(y), "-f", "json"]),
        Contender(
            "lossctl -f json -c mean", [LOSSCTL, "mse", str(p), str(y), "-f", "json", "-c", "mean"], baseline="mean"
        ),
        Contender("lossctl -f json -c mean --ci", [LOSSCTL, "mse", str(p), str(y), "-f", "json", "-c", "mean", "--ci"]),
        Contender("lossctl (all conventions, table)", [LOSSCTL, "mse", str(p), str(y), "-f", "table"]),
        Contender("raw read: cat > /dev/null", ["cat", str(p), str(y)], baseline="raw", discard=True),
        Contender(
            "NumPy: np.mean((np.load(p) - np.load(y))**2)", py(load + "print(np.mean((p - y) ** 2))"), baseline="numpy"
        ),
        Contender(
            "scikit-learn: mean_squared_error",
            py(load + "from sklearn.metrics import mean_squared_error; print(mean_squared_error(y, p))"),
        ),
        Contender(
            "PyTorch: F.mse_loss",
            py(
                load
                + "import torch; print(torch.nn.functional.mse_loss(torch.from_numpy(p), torch.from_numpy(y)).item())"
            ),
        ),
    ]


def csv_contenders(p: Path, y: Path) -> list[Contender]:
    loadtxt = (
        f"import numpy as np; p = np.loadtxt({str(p)!r}, delimiter=',', skiprows=1); "
        f"y = np.loadtxt({str(y)!r}, delimiter=',', skiprows=1); "
    )
    read_csv = f"import pandas as pd; p = pd.read_csv({str(p)!r}).to_numpy(); y = pd.read_csv({str(y)!r}).to_numpy(); "
    return [
        Contender("lossctl piped default (tsv, all conventions)", [LOSSCTL, "mse", str(p), str(y)]),
        Contender("lossctl (all conventions, table)", [LOSSCTL, "mse", str(p), str(y), "-f", "table"]),
        Contender("lossctl -f json -c mean", [LOSSCTL, "mse", str(p), str(y), "-f", "json", "-c", "mean"]),
        Contender("raw read: cat > /dev/null", ["cat", str(p), str(y)], baseline="raw", discard=True),
        Contender("NumPy: np.loadtxt + np.mean", py(loadtxt + "print(np.mean((p - y) ** 2))"), baseline="numpy"),
        Contender("pandas: read_csv + mean", py(read_csv + "print(((p - y) ** 2).mean())")),
        Contender(
            "scikit-learn: read_csv + mean_squared_error",
            py(read_csv + "from sklearn.metrics import mean_squared_error; print(mean_squared_error(y, p))"),
        ),
        Contender(
            "PyTorch: read_csv + F.mse_loss",
            py(
                read_csv
                + "import torch; print(torch.nn.functional.mse_loss(torch.from_numpy(p), torch.from_numpy(y)).item())"
            ),
        ),
    ]


def small_contenders(p: Path, y: Path) -> list[Contender]:
    return [
        Contender("lossctl mse small.csv small.csv -f json", [LOSSCTL, "mse", str(p), str(y), "-f", "json"]),
        Contender('python -c "import numpy"', py("import numpy"), baseline="numpy"),
        Contender('python -c "pass"', py("pass")),
    ]


# ---------------------------------------------------------------- running


def run_once(c: Contender) -> tuple[float, int, str]:
    """Run ``c`` once: wall seconds, peak RSS in KB, stdout.

    The peak RSS comes from ``/usr/bin/time -f %M`` (the contender is forked
    from that small process, so it does not inherit this script's memory);
    without it, from ``os.wait4``, which can over-report small children.
    """
    argv, report = c.argv, None
    if TIME.exists():
        fd, report = tempfile.mkstemp(prefix="lossctl-bench-")
        os.close(fd)
        argv = [str(TIME), "-f", "%M", "-o", report, *argv]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL if c.discard else subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"{c.label} failed (exit {proc.returncode}): {err.decode()[-2000:]}")
    if report is not None:
        with open(report) as f:
            rss = int(f.read().split()[-1])
        os.unlink(report)
    return wall, rss, (out or b"").decode()


def value_of(output: str) -> str:
    """The MSE a contender printed (lossctl's JSON 'value' or table row; a one-liner's print)."""
    import json

    text = output.strip()
    if not text:
        return ""
    if text.startswith("{"):
        return f"{json.loads(text)['conventions'][0]['value']:.7g}"
    if text.startswith("section\t"):  # the TSV's first convention row: mean
        return f"{float(text.splitlines()[1].split(chr(9))[4]):.7g}"
    if text.startswith("mse = "):  # the table's first line: the answer
        return text.split()[2]
    try:
        return f"{float(text.splitlines()[-1]):.7g}"
    except ValueError:
        return ""


def bench(contenders: list[Contender], repeats: int) -> list[Result]:
    results = {c.label: Result(c.label, [], [], "") for c in contenders}
    for round_ in range(repeats + 1):
        # rotate the order each round so no contender always runs first (or right after another)
        order = contenders[round_ % len(contenders) :] + contenders[: round_ % len(contenders)]
        for c in order:
            wall, rss, out = run_once(c)
            if round_ == 0:  # warm-up: fills the page cache; not counted
                results[c.label].output = out
                continue
            results[c.label].wall.append(wall)
            results[c.label].rss_kb.append(rss)
        print(f"  round {round_}/{repeats} done", file=sys.stderr)
    return [results[c.label] for c in contenders]


def table(title: str, contenders: list[Contender], results: list[Result]) -> str:
    ours = results[0]
    lines = [
        f"**{title}**",
        "",
        "| contender | value | median wall (s) | peak RSS (MB) | lossctl wall ÷ this | lossctl RSS ÷ this |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.label} | {value_of(r.output)} | {r.wall_median:.3f} | {r.rss_mb:.0f} | "
            f"{ours.wall_median / r.wall_median:.2f} | {ours.rss_kb and ours.rss_mb / r.rss_mb:.2f} |"
        )
    return "\n".join(lines)


TARGETS = {
    # case: [(description, baseline kind, metric, limit[, the lossctl contender it is for; all if absent])]
    "npy": [  # issue 9
        ("wall ≤ 0.7 × NumPy one-liner", "numpy", "wall", 0.7, "lossctl -f json -c mean"),
        ("wall ≤ 0.9 × NumPy one-liner", "numpy", "wall", 0.9, "lossctl piped default (tsv, all conventions)"),
        ("peak RSS ≤ 0.35 × NumPy one-liner", "numpy", "rss", 0.35, "lossctl piped default (tsv, all conventions)"),
        # issue 13: the t interval costs at most 1.2x the same run without it
        ("wall ≤ 1.2 × the run without --ci", "mean", "wall", 1.2, "lossctl -f json -c mean --ci"),
        ("wall ≤ 1.2 × the run without --ci", "piped", "wall", 1.2, "lossctl piped default --ci"),
    ],
    "csv": [  # issue 9
        ("wall ≤ 0.8 × np.loadtxt one-liner", "numpy", "wall", 0.8, "lossctl piped default (tsv, all conventions)")
    ],
    "small": [('wall ≤ 2 × python -c "import numpy"', "numpy", "wall", 2.0)],  # issue 9
}


def check_targets(case: str, contenders: list[Contender], results: list[Result]) -> list[str]:
    by_baseline = {c.baseline: r for c, r in zip(contenders, results, strict=True) if c.baseline}
    lossctl = [(c, r) for c, r in zip(contenders, results, strict=True) if c.argv[0] == LOSSCTL]
    rows = []
    for text, baseline, metric, limit, *only in TARGETS[case]:
        base = by_baseline[baseline]
        for c, r in lossctl:
            if only and c.label not in only:
                continue
            ratio = r.wall_median / base.wall_median if metric == "wall" else r.rss_mb / base.rss_mb
            rows.append(f"| {case} | {c.label} | {text} | {ratio:.2f} | {'yes' if ratio <= limit else '**no**'} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", choices=["npy", "csv", "small"], default=["npy", "csv", "small"])
    ap.add_argument("--npy-rows", type=int, default=10_000_000, help="rows of the .npy case (float32)")
    ap.add_argument("--csv-rows", type=int, default=1_000_000, help="rows of the CSV case")
    ap.add_argument("--cols", type=int, default=10, help="outputs (columns) per row")
    ap.add_argument("--repeats", type=int, default=5, help="timed rounds (after one warm-up round)")
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    if not Path(LOSSCTL).exists():
        raise SystemExit(f"{LOSSCTL} not found: pip install -e . first")

    sections, target_rows = [], []
    for case in args.cases:
        if case == "npy":
            p, y = npy_pair(args.npy_rows, args.cols)
            contenders, title = npy_contenders(p, y), f"two {args.npy_rows:,}×{args.cols} float32 .npy files"
        elif case == "csv":
            p, y = csv_pair(args.csv_rows, args.cols)
            contenders, title = csv_contenders(p, y), f"two {args.csv_rows:,}×{args.cols} CSV files"
        else:
            p, y = csv_pair(2, args.cols)
            contenders, title = small_contenders(p, y), f"two 2×{args.cols} CSV files (start-up)"
        print(f"{case}: {title}", file=sys.stderr)
        results = bench(contenders, args.repeats)
        sections.append(table(title, contenders, results))
        target_rows += check_targets(case, contenders, results)

    cpu = os.cpu_count()
    print(
        f"<!-- {' '.join(['python', 'bench/run.py', *sys.argv[1:]])}; {cpu} cores; "
        f"median of {args.repeats} alternating runs after a warm-up -->\n"
    )
    print("\n\n".join(sections))
    print("\n| case | lossctl run | target | measured | met |\n|---|---|---|---:|---|")
    print("\n".join(target_rows))


if __name__ == "__main__":
    main()
