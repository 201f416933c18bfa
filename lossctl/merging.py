"""How the fields of a pass's state (:class:`lossctl.compute._Pass`) merge: one line per field.

A field holding an accumulator (anything with a ``merge`` method: the Neumaier
sums, the framework sums) merges itself; every other field is listed in
:data:`MERGE` with the function that merges two values of it (the earlier
rows' first), or None for what is set up once and the same in every state.
``_Pass.merge`` refuses a field in neither, so a new field cannot be forgotten.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

import numpy as np

from .frameworks import Framework
from .losses import Loss


def _either(mine, theirs):
    """A fact set by the first chunk (the same in every state that has seen one)."""
    return theirs if mine is None else mine


def _first(mine: int | None, theirs: int | None) -> int | None:
    return theirs if mine is None else mine if theirs is None else min(mine, theirs)


def _first_rows(mine: dict, theirs: dict) -> dict:
    """``run`` entries are first rows (see ``losses.margin``): the smaller one of each key."""
    return {**theirs, **mine} | {k: min(v, theirs[k]) for k, v in mine.items() if k in theirs}


#: how each non-accumulator field of :class:`_Pass` merges; None: set up once, the same in every state
MERGE: dict[str, Callable | None] = {
    **dict.fromkeys(("loss", "params", "names", "need_vector", "need_columns", "selected"), None),
    "frameworks": lambda mine, theirs: mine or theirs,
    "fw_sums": _either,  # both set: merged as an accumulator
    "columns": _either,
    "n_rows": operator.add,
    "n_outputs": _either,
    "weighted": _either,
    "first_bad": _first,
    "warned": lambda mine, theirs: {**mine, **theirs},  # ordered union
    "per_sample": operator.add,  # (start row, values) pieces, put in row order by in_row_order
    "run": _first_rows,
    **dict.fromkeys(("sink", "need_rows", "keep_rows", "summarize"), None),
    "observers": None,  # --ci/--batch-size observers run in one process (the CLI refuses them with --scheduler)
    "extremes": _either,  # both set: merged as an accumulator
    "ignored": operator.add,  # rows labelled --ignore-index
    "class_weights": None,
    "run_flags": lambda mine, theirs: mine | theirs,  # warnings said once per pass
}


def in_row_order(pieces: list[tuple[int, np.ndarray]]) -> np.ndarray:
    return np.concatenate([values for _, values in sorted(pieces, key=lambda piece: piece[0])])


def positions(loss: Loss, frameworks: Sequence[Framework]) -> list[int]:
    """Where each of ``frameworks`` is in ``loss.frameworks`` (what a pickled state keeps of them)."""
    return [next(i for i, fw in enumerate(loss.frameworks) if fw is entry) for entry in frameworks]
