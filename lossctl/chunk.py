"""A chunk of aligned rows, the unit every loss computes on (a leaf module: imports nothing of lossctl)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Chunk:
    """A chunk of aligned rows: predictions, labels and optional weights.

    ``y_pred`` is float64 ``(n, K)``; ``y_true`` is float64 ``(n, K)``, or int64
    ``(n,)`` class indices for losses with ``labels="indices"``; ``start`` is
    the 0-based row number of the chunk's first row (for error messages).
    ``run`` is a dict that lives for one pass over the data (the same object
    in every chunk of a pass), for checks that span chunks.
    ``dtype`` is the dtype the frameworks see: ``"float32"`` when predictions,
    value labels and weights were all float32 in their files (the float64 arrays
    here then hold float32 values exactly, and ``astype(np.float32)`` gives the
    file's arrays back), else ``"float64"``. Conventions never depend on it.
    ``file_arrays`` are the same ``(y_pred, y_true, weights)`` as read, in their
    float32 file dtype, when the reader has them (no cast needed for the
    frameworks' float32 arithmetic); a chunk made with other values must drop them
    (``replace(chunk, y_pred=..., file_arrays=None)``).
    """

    y_pred: np.ndarray
    y_true: np.ndarray
    weights: np.ndarray | None = None
    start: int = 0
    run: dict | None = field(default=None, compare=False, repr=False)
    dtype: str = "float64"
    file_arrays: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = field(
        default=None, compare=False, repr=False
    )
