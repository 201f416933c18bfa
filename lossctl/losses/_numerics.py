"""Numerics shared by the loss families: stable logs, one-hot rows, row checks, a generic domain.

Everything here is plain numpy on arrays; nothing registers a loss.
"""

from __future__ import annotations

import numpy as np

from ..params import Params


def safe_log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


def log1m(x: np.ndarray) -> np.ndarray:
    """log(1 − x), accurate for small x."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log1p(-x)


def xlog(y: np.ndarray, log_p: np.ndarray) -> np.ndarray:
    """−y·log p, with the term 0 wherever y = 0 (0·log 0 = 0)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(y != 0, -y * log_p, 0.0)


def log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - np.max(z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -z)


def onehot(indices: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(indices), k))
    out[np.arange(len(indices)), indices] = 1.0
    return out


def hard_rows(y: np.ndarray) -> np.ndarray:
    """Rows whose labels are all exactly 0 or 1."""
    return np.all((y == 0) | (y == 1), axis=1)


def rows_off(a: np.ndarray) -> bool:
    return bool(np.any(np.abs(np.sum(a, axis=1) - 1.0) > 1e-6))


def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x·log(y), taken as 0 where x = 0 (the limit), as scipy.special.xlogy."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(y))


DEFAULT = Params()


def normal_pairs(
    rng: np.random.Generator, shape: tuple[int, int], p: Params = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """Any real predictions and labels: errors of a few units, on both sides of every Huber threshold tested."""
    return rng.normal(scale=2.0, size=shape), rng.normal(scale=2.0, size=shape)
