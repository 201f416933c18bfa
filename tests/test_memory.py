"""Memory stays bounded: a chunked run's peak does not grow with N (without per-sample output)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from lossctl.api import evaluate
from lossctl.compute import compute
from lossctl.losses import Chunk, get_loss

K, CHUNK = 8, 500


def _batches(n: int, weighted: bool = False):
    """Batches made on the fly, so the input itself never exists whole."""
    rng = np.random.default_rng(0)
    for start in range(0, n, CHUNK):
        rows = min(CHUNK, n - start)
        w = rng.random(rows) if weighted else None
        yield Chunk(rng.random((rows, K)), rng.random((rows, K)), w, start)


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("loss", ["mse", "cce", "cosine", "huber"])
@pytest.mark.parametrize("weighted", [False, True])
def test_compute_peak_does_not_grow_with_n(loss, weighted):
    spec = get_loss(loss)
    small = _peak(lambda: compute(spec, _batches(20_000, weighted), keep_per_sample=False, conventions=["sum"]))
    large = _peak(lambda: compute(spec, _batches(400_000, weighted), keep_per_sample=False, conventions=["sum"]))
    # 20x the rows; a per-sample vector alone would add 380_000 * 8 bytes = 3 MB
    assert large < small * 1.25 + 64 * 1024, (small, large)


def test_per_sample_output_is_the_one_thing_that_grows():
    """The measurement can see growth: keeping per-sample values costs O(N)."""
    spec = get_loss("mse")
    small = _peak(lambda: compute(spec, _batches(20_000), conventions=["per_sample"]))
    large = _peak(lambda: compute(spec, _batches(400_000), conventions=["per_sample"]))
    assert large > small + 380_000 * 8


@pytest.fixture(scope="module")
def npy_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("mem")
    rng = np.random.default_rng(1)
    for n in (20_000, 400_000):
        np.save(d / f"p{n}.npy", rng.random((n, K), dtype=np.float32))
        np.save(d / f"y{n}.npy", rng.random((n, K), dtype=np.float32))
    return d


def test_reading_files_in_chunks_does_not_grow_with_n(npy_files):
    """The whole path, files -> reader (with its prefetch thread) -> compute, stays bounded."""

    def run(n: int) -> None:
        evaluate(
            "mse",
            str(npy_files / f"p{n}.npy"),
            str(npy_files / f"y{n}.npy"),
            chunk_rows=CHUNK,
            conventions=["mean", "per_output"],
            keep_per_sample=False,
        )

    run(20_000)  # warm caches (imports, dtype tables) outside the measurement
    small, large = _peak(lambda: run(20_000)), _peak(lambda: run(400_000))
    assert large < small * 1.25 + 64 * 1024, (small, large)
