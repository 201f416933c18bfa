"""Streaming equals whole-array: every loss, every convention, every framework value.

The inputs span several chunks with a ragged last chunk; the chunk size is set
small so the seams are many. Inputs come from each loss's declared ``domain``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from lossctl.api import evaluate
from lossctl.compute import Report, compute
from lossctl.io import open_source, read_chunks
from lossctl.io.pairing import prefetch
from lossctl.losses import LOSSES, Chunk, Loss, Params

N, K, CHUNK = 53, 4, 7  # 7 full chunks and a ragged last chunk of 4 rows


def inputs(
    loss: Loss, rng: np.random.Generator, shape: tuple[int, int], params: Params | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Valid ``(y_pred, y_true)`` for ``loss``, from its declared ``domain``."""
    y_pred, y_true = loss.domain(rng, shape) if params is None else loss.domain(rng, shape, params)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true).reshape(-1).astype(np.int64) if loss.labels == "indices" else np.asarray(y_true, float)
    return y_pred, y_true


def _params(loss: Loss) -> list[Params]:
    """The defaults, then each other example value of each declared option."""
    others = [_fit(o, v) for o in loss.options for v in o.examples if v != o.default]
    if any(p.pos_weight for p in others):  # --pos-weight goes with --logits
        others = [replace(p, logits=True) if p.pos_weight else p for p in others]
    return [Params(), *others]


def _fit(option, value) -> Params:
    """One option set; tuple values (class weights) cut to the K columns of the inputs."""
    if isinstance(value, tuple) and len(value) > 1:
        value = value[:K]
    return Params(**{option.name: value})


def _id(name: str, p: Params) -> str:
    """``cce-probs-1`` as before, then each other option that is set: ``-label_smoothing=0.2``."""
    default = Params()
    extra = "".join(
        f"-{key}={value}"
        for key, value in vars(p).items()
        if key not in ("logits", "delta") and value != getattr(default, key)
    )
    return f"{name}-{p.logits and 'logits' or 'probs'}-{p.delta:g}{extra}"


def _chunks(y_pred, y_true, weights, rows: int) -> list[Chunk]:
    return [
        Chunk(y_pred[s : s + rows], y_true[s : s + rows], None if weights is None else weights[s : s + rows], s)
        for s in range(0, len(y_pred), rows)
    ]


def assert_same_report(streamed: Report, whole: Report, rtol: float = 1e-12) -> None:
    assert streamed.shape == whole.shape
    assert [c.name for c in streamed.conventions] == [c.name for c in whole.conventions]
    for s, w in zip(streamed.conventions, whole.conventions, strict=True):
        assert s.n == (None if w.n is None else pytest.approx(w.n, rel=1e-13)), s.name
        assert (s.value is None) == (w.value is None), s.name
        if w.value is not None:
            finite = np.abs(w.value)[np.isfinite(w.value)]
            scale = np.max(finite) if np.size(finite) else 1.0
            assert_allclose(s.value, w.value, rtol=rtol, atol=1e-14 * max(scale, 1.0), err_msg=s.name)
    assert [(c.name, c.note) for c in streamed.conventions] == [(c.name, c.note) for c in whole.conventions]
    assert streamed.notes == whole.notes
    assert [(f.framework, f.convention, f.call) for f in streamed.frameworks] == [
        (f.framework, f.convention, f.call) for f in whole.frameworks
    ]
    for s, w in zip(streamed.frameworks, whole.frameworks, strict=True):
        assert_allclose(s.value, w.value, rtol=rtol, atol=1e-14, err_msg=s.framework)


CASES = [(name, p) for name, loss in LOSSES.items() for p in _params(loss)]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name,params", CASES, ids=[_id(n, p) for n, p in CASES])
def test_streaming_equals_whole_array(name, params, weighted):
    loss = LOSSES[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    y_pred, y_true = inputs(loss, rng, (N, K), params)
    if params.logits:
        y_pred = rng.normal(scale=3.0, size=(N, K))
    w = rng.random(N) * 2 if weighted else None
    whole = compute(loss, [Chunk(y_pred, y_true, w)], params)
    streamed = compute(loss, _chunks(y_pred, y_true, w, CHUNK), params)
    assert len(_chunks(y_pred, y_true, w, CHUNK)[-1].y_pred) == N % CHUNK  # the last chunk is ragged
    assert_same_report(streamed, whole)


@pytest.mark.parametrize("name", list(LOSSES))
def test_files_through_the_reader_equal_whole_array(tmp_path, name):
    """The same through the real reader (background prefetch, rechunking) from .npy files."""
    loss = LOSSES[name]
    rng = np.random.default_rng(7)
    y_pred, y_true = inputs(loss, rng, (N, K))
    w = rng.random(N)
    for path, arr in (("p.npy", y_pred), ("y.npy", y_true), ("w.npy", w)):
        np.save(tmp_path / path, arr)
    whole = compute(loss, [Chunk(y_pred, y_true, w)])
    streamed = evaluate(
        loss, str(tmp_path / "p.npy"), str(tmp_path / "y.npy"), str(tmp_path / "w.npy"), chunk_rows=CHUNK
    )
    assert_same_report(streamed, whole)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(LOSSES)),
    n=st.integers(1, 120),
    k=st.integers(2, 6),
    rows=st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_chunk_size_gives_the_same_report(name, n, k, rows, seed):
    loss = LOSSES[name]
    y_pred, y_true = inputs(loss, np.random.default_rng(seed), (n, k))
    assert_same_report(compute(loss, _chunks(y_pred, y_true, None, rows)), compute(loss, [Chunk(y_pred, y_true)]))


def _undefined_at(name: str, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Valid inputs of ``name`` (N rows, K columns) whose loss is undefined at the given 0-based ``rows``."""
    loss = LOSSES[name]
    y_pred, y_true = inputs(loss, np.random.default_rng(17), (N, K))
    for r in rows:
        if name == "mape":
            y_true[r, 1] = 0.0  # division by a label of 0
        elif name == "poisson":
            y_pred[r, 2], y_true[r, 2] = 0.0, 3.0  # log 0 under a positive count
        elif name == "cosine":
            y_pred[r] = 0.0  # an all-zero row has no direction
        elif name == "sparse-cce":
            y_pred[r] = np.eye(K)[(y_true[r] + 1) % K]  # probability 0 for the true class
        else:  # cce, kld, bce: probability 0 where the label is 1
            y_true[r] = np.eye(K)[0]
            y_pred[r] = np.eye(K)[1]
    return y_pred, y_true


@pytest.mark.parametrize("name", ["mape", "poisson", "cosine", "cce", "sparse-cce", "kld", "bce"])
@pytest.mark.parametrize("rows", [1, 3, 7, 50])
def test_undefined_names_its_first_row_whatever_the_chunk(name, rows):
    """ "first at row R" counts rows of the whole input, not of the chunk the row arrived in."""
    for first in (0, 9, 40, N - 1):
        y_pred, y_true = _undefined_at(name, [first, min(first + 2, N - 1)])
        report = compute(LOSSES[name], _chunks(y_pred, y_true, None, rows))
        notes = {c.note for c in report.conventions if c.note}
        assert notes == {f"undefined: {LOSSES[name].undefined} (first at row {first + 1})"}, (rows, first)
        assert_same_report(report, compute(LOSSES[name], [Chunk(y_pred, y_true)]))


def test_without_per_sample_the_scalars_are_unchanged():
    loss = LOSSES["mse"]
    y_pred, y_true = inputs(loss, np.random.default_rng(3), (N, K))
    full = compute(loss, _chunks(y_pred, y_true, None, CHUNK), conventions=["mean", "sum", "per_output"])
    lean = compute(
        loss, _chunks(y_pred, y_true, None, CHUNK), conventions=["mean", "sum", "per_output"], keep_per_sample=False
    )
    assert_same_report(lean, full)
    assert_allclose(lean.convention("mean").value, np.mean((y_pred - y_true) ** 2), rtol=1e-13)


def test_float32_input_shares_keras_work_and_keeps_its_value(tmp_path):
    """float32 files: Keras's cast is the identity, so its value equals the float64 one exactly.

    PyTorch, NumPy and scikit-learn compute in float32 on float32 files (issue 11): their values are
    within float32 rounding of it (tests/test_float32_files.py checks them against the real frameworks).
    """
    rng = np.random.default_rng(11)
    p, y = rng.normal(size=(N, K)).astype(np.float32), rng.normal(size=(N, K)).astype(np.float32)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    report = evaluate("mse", str(tmp_path / "p.npy"), str(tmp_path / "y.npy"), chunk_rows=CHUNK)
    values = {f.framework: f.value for f in report.frameworks}
    expected = np.mean((p.astype(np.float64) - y.astype(np.float64)) ** 2)
    assert_allclose(values["keras"], expected, rtol=1e-14)
    for framework, value in values.items():
        assert_allclose(value, expected, rtol=1e-5, err_msg=framework)


def test_prefetch_keeps_order_and_reraises_after_the_items_before_the_error():
    def produce():
        yield from range(5)
        raise ValueError("boom at 5")

    got = []
    with pytest.raises(ValueError, match="boom at 5"):
        for item in prefetch(produce):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_prefetch_stops_its_producer_when_the_consumer_stops_early():
    produced = []

    def produce():
        for i in range(10_000):
            produced.append(i)
            yield i

    stream = prefetch(produce, depth=2)
    assert next(stream) == 0
    stream.close()
    import time

    time.sleep(0.3)
    assert len(produced) <= 5  # one taken, two queued, one blocked in put: the producer stopped


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint32"])
def test_large_integers_are_not_float32_exact_so_keras_is_cast(tmp_path, oracle, dtype):
    """2**24 + 1 is no float32: Keras rounds it to 2**24, so an error of 1 becomes 0 (and Keras ≠ mean)."""
    p = np.array([[2**24 + 1], [3], [2**25 + 2]], dtype=dtype)
    y = np.array([[2**24], [3], [2**25]], dtype=dtype)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    report = evaluate("mse", str(tmp_path / "p.npy"), str(tmp_path / "y.npy"), chunk_rows=2)
    assert report.convention("mean").value == (1 + 0 + 4) / 3  # hand: errors 1, 0, 2 squared
    keras = next(f for f in report.frameworks if f.framework == "keras")
    real = oracle(keras.call, p, y)
    assert real == 0.0  # hand: float32(2**24 + 1) = 2**24 and float32(2**25 + 2) = 2**25
    assert keras.value == real
    assert keras.convention is None


def test_small_integers_are_float32_exact(tmp_path):
    rng = np.random.default_rng(2)
    p, y = rng.integers(-(2**15), 2**15, size=(N, K)), rng.integers(-(2**15), 2**15, size=(N, K))
    for dtype, exact in (("int16", True), ("int8", True), ("int32", False), ("float64", False)):
        np.save(tmp_path / "p.npy", p.astype(dtype))
        np.save(tmp_path / "y.npy", y.astype(dtype))
        reader = read_chunks(open_source(str(tmp_path / "p.npy")), open_source(str(tmp_path / "y.npy")))
        assert reader.float32_exact is exact, dtype


def test_a_report_is_frozen_and_its_signature_follows_a_replaced_copy():
    import dataclasses

    y_pred, y_true = inputs(LOSSES["huber"], np.random.default_rng(4), (N, K))
    report = compute(LOSSES["huber"], [Chunk(y_pred, y_true)], Params(delta=0.5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.dropped = 3  # type: ignore[misc]
    assert report.signature == (
        f"loss:huber|n:N*K|conv:all|shape:{N}x{K}|dtype:float64|acc:float64|weights:no|delta:0.5|"
        f"version:{report.version}"
    )
    assert report.sig.option("delta") == "0.5" and report.sig.option("logits") is None
    shown = dataclasses.replace(report, conventions=report.conventions[:1], dropped=2)
    assert str(shown.sig) == (
        f"loss:huber|n:N*K|conv:mean|shape:{N}x{K}|dtype:float64|acc:float64|weights:no|delta:0.5|dropped:2|"
        f"version:{report.version}"
    )
