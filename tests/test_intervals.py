"""lossctl.intervals through compute: coverage on synthetic data with a known true value (the wiring: s_i, scales)."""

from __future__ import annotations

import numpy as np

from lossctl.chunk import Chunk
from lossctl.compute import compute
from lossctl.intervals import CiSpec, IntervalObserver, with_intervals
from lossctl.losses import get_loss


def _report(y_pred, y_true, w=None, spec=None, rows=16):
    observer = IntervalObserver(spec or CiSpec())
    chunks = [
        Chunk(y_pred[i : i + rows], y_true[i : i + rows], None if w is None else w[i : i + rows], i)
        for i in range(0, len(y_pred), rows)
    ]
    report = compute(get_loss("mse"), chunks, keep_per_sample=False, observers=[observer])
    return with_intervals(report, observer)


def test_every_convention_covers_its_true_value_about_95_percent():
    """(ŷ − y) ~ N(0, 1): E[mean] = 1, E[batch_mean] = K, E[sum] = N·K, E[weighted_mean] = 1 (w independent)."""
    rng = np.random.default_rng(1313)
    n, k, trials = 40, 3, 400
    truth = {"mean": 1.0, "batch_mean": k, "sum": n * k, "half_sum": n * k / 2, "weighted_mean": 1.0}
    truth |= {"weighted_batch_mean": 2.0, "weighted_sum": 2.0 * n}  # E[w] = 2, E[w·l] = 2
    hits = dict.fromkeys(truth, 0)
    for _ in range(trials):
        y_pred, w = rng.normal(size=(n, k)), rng.uniform(1.0, 3.0, size=n)
        report = _report(y_pred, np.zeros((n, k)), w)
        for name, true in truth.items():
            ci = report.convention(name).ci
            hits[name] += ci.low <= true <= ci.high
    for name, count in hits.items():
        assert 0.91 <= count / trials <= 0.985, (name, count / trials)  # 95% ± 3.5 standard errors


def test_bootstrap_through_compute_is_chunking_independent_and_recorded():
    rng = np.random.default_rng(4)
    y_pred, y_true = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    spec = CiSpec("bootstrap", 0.9, 100, 5)
    a, b = _report(y_pred, y_true, spec=spec, rows=300), _report(y_pred, y_true, spec=spec, rows=7)
    assert [c.ci for c in a.conventions] == [c.ci for c in b.conventions]
    assert a.convention("mean").ci.level == 0.9
    assert "|ci:bs100|seed:5|level:90|" in a.signature
