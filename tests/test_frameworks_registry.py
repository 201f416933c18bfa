"""Every registered loss, every framework entry, against the real frameworks.

Nothing here names a loss: the test walks ``LOSSES``. For each loss it draws
inputs from the loss's declared ``domain`` (for every value its declared options
take in tests), computes lossctl's report through :func:`lossctl.compute.compute`,
evaluates each entry's printed ``call`` (the line a user copies) with the real
PyTorch, Keras (``KERAS_BACKEND=torch``), scikit-learn and NumPy, and checks

* the value lossctl reports for the entry equals the real framework's, at the
  entry's own ``rtol``/``atol``;
* the convention lossctl reports for it is the declared one (``Framework.declared``)
  exactly when the real framework's value equals that convention's value, and
  otherwise none, with a note saying why;
* every declared convention is really met: on some input with K ≥ 2 outputs
  (where mean and batch_mean differ) the real framework equals it.

A new loss, or a new framework entry, is checked here without new test code.
"""

from __future__ import annotations

import itertools
import math
import zlib
from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_allclose

from lossctl.compute import compute
from lossctl.errors import UsageError
from lossctl.losses import LOSSES, Chunk, Loss, Params

SHAPES = [(1, 1), (8, 1), (1, 6), (9, 2), (5, 3), (48, 10)]

#: entries whose declared convention holds only up to an epsilon the frameworks add and lossctl's
#: convention values do not: the real framework differs at rtol 1e-12 wherever the epsilon shows
UP_TO_EPSILON = {
    # ŷ − y·log(ŷ + 1e-8): the 1e-8 shows wherever a count is positive
    "torch.nn.PoissonNLLLoss(log_input=False)",
}


def _param_sets(loss: Loss) -> list[Params]:
    """Every combination of the example values of the loss's declared options."""
    options = loss.options
    if not options:
        return [Params()]
    combos = itertools.product(*(option.examples for option in options))
    return [Params(**dict(zip((o.name for o in options), combo, strict=True))) for combo in combos]


def _fit(params: Params, k: int) -> Params:
    """Tuple-valued options (class weights, pos weights) cut to the K columns of the shape."""
    cut = {
        name: value[:k]
        for name, value in vars(params).items()
        if isinstance(value, tuple) and len(value) > 1 and len(value) != k
    }
    return replace(params, **cut) if cut else params


def _seed_text(params: Params) -> str:
    """The Params as the seed has always read them (logits, delta), plus the other options that are set."""
    default = Params()
    extra = "".join(
        f", {name}={value!r}"
        for name, value in vars(params).items()
        if name not in ("logits", "delta") and value != getattr(default, name)
    )
    return f"Params(logits={params.logits!r}, delta={params.delta!r}{extra})"


def _inputs(loss: Loss, shape: tuple[int, int], params: Params, weighted: bool):
    rng = np.random.default_rng(zlib.crc32(f"{loss.name} {shape} {_seed_text(params)} {weighted}".encode()))
    y_pred, y_true = loss.domain(rng, shape, params)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64 if loss.labels == "indices" else np.float64)
    w = rng.uniform(0.0, 2.0, size=shape[0]) if weighted else None
    return y_pred, y_true, w


def test_every_loss_declares_a_domain():
    assert [name for name, loss in LOSSES.items() if loss.domain is None] == []


@pytest.mark.parametrize("name", list(LOSSES))
def test_framework_calls_and_conventions_match_the_real_frameworks(oracle, name):
    loss = LOSSES[name]
    applied_wide: set[tuple[str, bool, str]] = set()  # (api, weighted, declared convention) seen with K ≥ 2
    met_wide: set[tuple[str, bool, str]] = set()  # ... where the real framework equalled the declared convention
    refused = 0
    for params, weighted, shape in itertools.product(_param_sets(loss), (False, True), SHAPES):
        if shape[1] < loss.min_outputs:
            continue
        params = _fit(params, shape[1])
        y_pred, y_true, w = _inputs(loss, shape, params, weighted)
        try:
            report = compute(loss, [Chunk(y_pred, y_true, w)], params)
        except UsageError as e:  # a combination the loss refuses (--pos-weight without --logits)
            assert "--" in str(e), e
            refused += 1
            continue
        entries = [fw for fw in loss.frameworks if fw.applies(params, weighted, shape[1])]
        assert [(r.framework, r.api) for r in report.frameworks] == [(fw.framework, fw.api) for fw in entries]
        for fw, r in zip(entries, report.frameworks, strict=True):
            where = f"{name} {shape} {params} weighted={weighted}: {r.call}"
            assert r.call == fw.render_call(params, weighted), where
            real = oracle(r.call, y_pred, y_true, w)
            assert_allclose(r.value, real, rtol=fw.rtol, atol=fw.atol, err_msg=where)

            declared = fw.declared(weighted, params)
            target = report.convention(declared).value if declared else None
            met = target is not None and math.isclose(real, target, rel_tol=fw.rtol, abs_tol=fw.atol)
            if met:
                assert r.convention == declared, where
            else:
                assert r.convention is None, (where, real, target)
                assert r.note, where
            if declared and shape[1] >= 2:
                applied_wide.add((fw.api, weighted, declared))
                if met:
                    met_wide.add((fw.api, weighted, declared))
    assert refused < len(_param_sets(loss)) * len(SHAPES), f"{name}: every option combination was refused"
    never = sorted(key for key in applied_wide - met_wide if key[0] not in UP_TO_EPSILON)
    assert never == [], f"{name}: declared conventions the real framework never equals with K ≥ 2"


# --- float32 files: every entry on the arrays in their file dtype --------------------------------------------

#: shapes for float32 inputs; the large one makes float32 accumulation visible (scikit-learn's column sums)
SHAPES_32 = [(1, 1), (9, 2), (48, 10), (40000, 3)]


def _inputs32(loss: Loss, shape: tuple[int, int], params: Params, weighted: bool):
    """Float32 inputs (class indices stay int64), and the chunk lossctl builds from them (float64 values)."""
    y_pred, y_true, w = _inputs(loss, shape, params, weighted)
    y_pred = y_pred.astype(np.float32)
    if loss.labels != "indices":
        y_true = y_true.astype(np.float32)
    w = None if w is None else w.astype(np.float32)
    chunk = Chunk(
        y_pred.astype(np.float64),
        y_true if loss.labels == "indices" else y_true.astype(np.float64),
        None if w is None else w.astype(np.float64),
        dtype="float32",
    )
    return y_pred, y_true, w, chunk


@pytest.mark.parametrize("name", list(LOSSES))
def test_framework_calls_on_float32_files_match_the_real_frameworks(oracle, name):
    loss = LOSSES[name]
    for params, weighted, shape in itertools.product(_param_sets(loss), (False, True), SHAPES_32):
        if shape[1] < loss.min_outputs:
            continue
        params = _fit(params, shape[1])
        y_pred, y_true, w, chunk = _inputs32(loss, shape, params, weighted)
        # several chunks: the float32 emulation carries its state across them
        step = max(1, shape[0] // 3)
        chunks = [
            Chunk(
                chunk.y_pred[i : i + step],
                chunk.y_true[i : i + step],
                None if w is None else chunk.weights[i : i + step],
                i,
                dtype="float32",
            )
            for i in range(0, shape[0], step)
        ]
        try:
            report = compute(loss, chunks, params)
        except UsageError as e:  # a combination the loss refuses (--pos-weight without --logits)
            assert "--" in str(e), e
            continue
        entries = [fw for fw in loss.frameworks if fw.applies(params, weighted, shape[1])]
        for fw, r in zip(entries, report.frameworks, strict=True):
            where = f"{name} {shape} {params} weighted={weighted}: {r.call}"
            real = oracle(r.call, y_pred, y_true, w)
            rtol, atol = fw.tolerance("float32")
            assert_allclose(r.value, real, rtol=rtol, atol=atol, err_msg=where)
            declared = fw.declared(weighted, params)
            if r.convention is not None:
                assert r.convention == declared, where
                target = report.convention(declared).value
                if real != target and not fw.float32:
                    assert r.note and "float32" in r.note, where


def test_float32_accumulation_is_visible_and_reproduced(oracle):
    """scikit-learn's float32 column sums move mse/mae off the float64 mean; lossctl gives its number bit for bit."""
    rng = np.random.default_rng(5)
    n, k = 300_000, 4
    y_pred = rng.normal(size=(n, k)).astype(np.float32)
    y_true = (y_pred + rng.normal(scale=0.1, size=(n, k))).astype(np.float32)
    chunks = [
        Chunk(
            y_pred[i : i + 65536].astype(np.float64), y_true[i : i + 65536].astype(np.float64), None, i, dtype="float32"
        )
        for i in range(0, n, 65536)
    ]
    for name in ("mse", "mae"):
        report = compute(LOSSES[name], chunks, Params())
        mean = report.convention("mean").value
        row = next(r for r in report.frameworks if r.framework == "sklearn")
        real = oracle(row.call, y_pred, y_true)
        assert row.value == real  # bit for bit
        assert abs(real - mean) / mean > 1e-6  # the accumulation is visible: not a vacuous pass
        assert row.convention == "mean" and row.note.startswith("float32 accumulation: differs from mean by")
        torch_row = next(r for r in report.frameworks if r.framework == "pytorch")
        assert_allclose(torch_row.value, oracle(torch_row.call, y_pred, y_true), rtol=2e-6)
