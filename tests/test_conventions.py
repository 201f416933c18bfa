"""Each convention's divisor n, as a number, is the one its symbol names: for every loss, weighted or not.

The symbols (``N*K``, ``N``, ``K``, ``1``, ``2*N*K``, ``2*N``, ``2``, ``sum(w)``) are
read here independently of :mod:`lossctl.conventions`, and each scalar value is
checked to be the convention's own sum over that n.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from lossctl.losses import LOSSES
from tests.conftest import run

N, K = 6, 3
W = np.array([0.5, 2.0, 1.0, 0.0, 3.0, 1.5])  # Σw = 8, not N = 6: the two divisors cannot be confused


def _n(symbol: str) -> float:
    return {"N*K": N * K, "N": N, "K": K, "1": 1, "2*N*K": 2 * N * K, "2*N": 2 * N, "2": 2, "sum(w)": W.sum()}[symbol]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_every_convention_divides_by_the_n_its_symbol_names(name, weighted):
    loss = LOSSES[name]
    y_pred, y_true = loss.domain(np.random.default_rng(5), (N, K))
    report = run(name, y_pred, y_true, weights=W if weighted else None)
    per_sample = report.convention("per_sample").value
    finish = loss.finish or (lambda x: x)
    if loss.finish is not None:  # rmse: per_sample is each row's root, the sums are of its squares
        assert loss.finish is np.sqrt
        per_sample = per_sample**2
    total = float(np.sum(per_sample))  # Σ l_i
    weighted_total = float(np.dot(W, per_sample))  # Σ w_i·l_i
    element_total = total * K if loss.kind == "element" and loss.inner == "mean" else total  # Σ e[i,k]
    for c in report.conventions:
        if c.divisor is None:
            assert c.n is None, c.name
            continue
        assert c.n == _n(c.divisor), (c.name, c.divisor, c.n)
        numerator = weighted_total if c.name.startswith("weighted") else element_total
        assert_allclose(c.value, finish(numerator / c.n), rtol=1e-12, err_msg=c.name)
    if weighted:
        assert report.convention("weighted_batch_mean").n == N
        assert report.convention("weighted_mean").n == pytest.approx(8.0)
        assert report.convention("weighted_sum").n == 1
