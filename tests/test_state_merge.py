"""One mergeable state: accumulate() over any split of the rows, merged in any grouping, then finish().

The numbers must not depend on the chunk size, on how the rows are split among
states, or on how the states are grouped when merged: scalars to within a few
ulps (measured: at most 2.6 ulps here, hence the 8-ulp bound), the per-output
column sums to within a few tens (each chunk's column sum is one BLAS pass:
measured at most 19 ulps, bound 64), per-sample values to a few ulps (a row's sum
over its K outputs may take another BLAS kernel in another block size) and the
counts exactly.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossctl.chunk import Chunk
from lossctl.compute import _Pass, _Sum, accumulate, compute, finish
from lossctl.errors import InputError
from lossctl.losses import get_loss
from lossctl.merging import MERGE

EPS = np.finfo(np.float64).eps
SCALAR_ULPS, VECTOR_ULPS = 8, 64


def _chunks(p, y, w, start, stop, step):
    return [
        Chunk(
            p[i : min(i + step, stop)], y[i : min(i + step, stop)], None if w is None else w[i : min(i + step, stop)], i
        )
        for i in range(start, stop, step)
    ]


def _merged(states, grouping):
    """Merge ``states`` (in row order) as a tree whose shape ``grouping`` draws (a list of split points)."""
    if len(states) == 1:
        return states[0]
    cut = 1 + grouping[0] % (len(states) - 1) if grouping else len(states) // 2
    left, right = _merged(states[:cut], grouping[1:]), _merged(states[cut:], grouping[1:])
    return left.merge(right)


def assert_same(expected, got):
    """The same Report to within the documented ulps; counts, shapes and per-sample values exactly."""
    assert got.shape == expected.shape and got.signature == expected.signature
    assert [c.name for c in got.conventions] == [c.name for c in expected.conventions]
    for a, b in zip(expected.conventions, got.conventions, strict=True):
        assert a.divisor == b.divisor and a.note == b.note, a.name
        if not isinstance(a.n, float):  # counts (or None) exactly; Σw (weighted n) to the ulps
            assert type(b.n) is type(a.n) and a.n == b.n, a.name
        else:
            assert abs(b.n - a.n) <= SCALAR_ULPS * EPS * abs(a.n), (a.name, a.n, b.n)
        if a.value is None or b.value is None:
            assert a.value is None and b.value is None, a.name
        elif a.name == "per_sample":  # each row's own sum: a BLAS kernel that may differ with the block's size
            np.testing.assert_allclose(b.value, a.value, rtol=SCALAR_ULPS * EPS, atol=0)
        elif a.name == "per_output":
            np.testing.assert_allclose(b.value, a.value, rtol=VECTOR_ULPS * EPS, atol=0)
        else:
            assert abs(b.value - a.value) <= SCALAR_ULPS * EPS * abs(a.value), (a.name, a.value, b.value)
    for a, b in zip(expected.frameworks, got.frameworks, strict=True):
        assert (a.framework, a.convention, a.call) == (b.framework, b.convention, b.call)
        assert abs(b.value - a.value) <= SCALAR_ULPS * EPS * abs(a.value), (a.framework, a.value, b.value)
    assert got.notes == expected.notes


@settings(max_examples=60, deadline=None)
@given(
    loss=st.sampled_from(["mse", "mae", "huber", "logcosh", "cce", "bce"]),
    n=st.integers(1, 3000),
    k=st.integers(1, 4),
    weighted=st.booleans(),
    cuts=st.lists(st.integers(1, 2999), max_size=10),
    steps=st.lists(st.integers(1, 700), min_size=1, max_size=12),
    grouping=st.lists(st.integers(0, 50), max_size=12),
    seed=st.integers(0, 2**32 - 1),
    pickled=st.booleans(),
)
def test_any_split_and_grouping_gives_the_whole_pass(loss, n, k, weighted, cuts, steps, grouping, seed, pickled):
    rng = np.random.default_rng(seed)
    spec = get_loss(loss)
    if loss == "cce":
        p, y = rng.dirichlet(np.ones(k + 1), n), np.eye(k + 1)[rng.integers(0, k + 1, n)]
    elif loss == "bce":
        p, y = rng.uniform(0.01, 0.99, (n, k)), rng.integers(0, 2, (n, k)).astype(float)
    else:
        p, y = rng.normal(size=(n, k)) * 10.0 ** rng.uniform(-3, 3), rng.normal(size=(n, k))
    w = rng.uniform(0, 2, n) if weighted else None
    whole = compute(spec, _chunks(p, y, w, 0, n, n))
    bounds = [0, *sorted({c for c in cuts if c < n}), n]
    states = [
        accumulate(spec, _chunks(p, y, w, a, b, steps[i % len(steps)]))
        for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
    ]
    if pickled:  # what a Dask worker sends back
        states = [pickle.loads(pickle.dumps(s)) for s in states]
    assert_same(whole, finish(_merged(states, grouping)))


def test_chunk_size_alone_changes_nothing_beyond_the_ulps():
    rng = np.random.default_rng(3)
    p, y, w = rng.normal(size=(5000, 3)), rng.normal(size=(5000, 3)), rng.uniform(0, 1, 5000)
    spec = get_loss("mse")
    whole = compute(spec, _chunks(p, y, w, 0, 5000, 5000))
    for step in (1, 7, 999, 4096):
        assert_same(whole, compute(spec, _chunks(p, y, w, 0, 5000, step)))


def test_neumaier_merge_keeps_both_compensations():
    # hand: (1e16 + 1) + (-1e16 + 1) = 2; in plain float64 each 1 is lost next to 1e16 (spacing 2 there),
    # each half keeps its 1 in its compensation, and the merge must keep both
    a, b = _Sum(), _Sum()
    a.add(1e16), a.add(1.0)
    b.add(-1e16), b.add(1.0)
    assert (a.s, a.c, b.s, b.c) == (1e16, 1.0, -1e16, 1.0)
    a.merge(b)
    assert a.value == 2.0


def test_state_pickles_without_its_functions_and_merges_after():
    rng = np.random.default_rng(5)
    p, y = rng.dirichlet(np.ones(3), 200), np.eye(3)[rng.integers(0, 3, 200)]
    spec = get_loss("cce")
    state = accumulate(spec, _chunks(p, y, None, 0, 100, 30))
    blob = pickle.dumps(state)
    assert b"<lambda>" not in blob and b"cross_entropy" not in blob  # the loss travels by name
    back = pickle.loads(blob)
    assert back.loss is spec and [fw.framework for fw in back.frameworks] == [fw.framework for fw in state.frameworks]
    back.merge(accumulate(spec, _chunks(p, y, None, 100, 200, 64)))
    assert_same(compute(spec, _chunks(p, y, None, 0, 200, 200)), finish(back))


def test_every_field_of_the_state_merges():
    state = accumulate(get_loss("mse"), _chunks(np.ones((3, 2)), np.zeros((3, 2)), None, 0, 3, 2))
    unknown = [f for f, v in vars(state).items() if f not in MERGE and not hasattr(v, "merge")]
    assert unknown == []
    state.new_total = 0  # a new accumulator field nobody told merge() about fails loudly
    with pytest.raises(TypeError, match="new_total"):
        state.merge(state)


def test_undefined_row_warnings_and_empty_states_merge():
    spec = get_loss("mape")  # undefined where a label is 0; a warning names the labels file
    p = np.array([[1.0], [2.0], [3.0], [4.0]])
    y = np.array([[1.0], [1.0], [0.0], [0.0]])
    whole = compute(spec, _chunks(p, y, None, 0, 4, 4))
    empty = _Pass(spec, whole.params, {"predictions": "p", "labels": "l", "weights": "w"}, need_vector=True,
                  need_columns=True)  # fmt: skip
    empty.selected = None
    late, early = accumulate(spec, _chunks(p, y, None, 3, 4, 1)), accumulate(spec, _chunks(p, y, None, 0, 3, 2))
    early.warned, late.warned = {"first": None}, {"second": None, "first": None}
    merged = empty.merge(early).merge(late)
    assert merged.first_bad == 2  # row 3 counted from 1: the first undefined row, not the later state's
    assert list(merged.warned) == ["first", "second"]  # each warning once, in row order
    merged.warned = {}
    report = finish(merged)
    assert report.convention("mean").note == "undefined: division by a label of 0 (first at row 3)"
    assert_same(whole, report)


def test_a_check_that_spans_workers_still_fails_after_the_merge():
    spec = get_loss("hinge")  # 0 in one worker's rows and -1 in another's: mixed negative classes
    p = np.array([[0.5], [0.2], [-0.3], [0.1]])
    y = np.array([[1.0], [0.0], [1.0], [-1.0]])
    with pytest.raises(InputError, match="mix 0 and -1"):
        compute(spec, _chunks(p, y, None, 0, 4, 4))
    first, second = accumulate(spec, _chunks(p, y, None, 0, 2, 2)), accumulate(spec, _chunks(p, y, None, 2, 4, 2))
    with pytest.raises(InputError, match=r"row 2 has 0, row 4 has -1"):
        finish(first.merge(second))
