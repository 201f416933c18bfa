"""Statistics for issue 13: intervals, bootstrap, paired comparison, training-loop logs.

Pure numpy and Python (scipy is used only by the tests). Every state is fed one value
per row (sample) per chunk and merges associatively, so compute can fold chunks and
workers in any grouping:

* :mod:`~lossctl.stats.moments`: :class:`Moments` (t interval), :class:`RatioMoments`
  (delta-method interval for Σw·l/Σw), :func:`convention_scale`;
* :mod:`~lossctl.stats.bootstrap`: :class:`PoissonBootstrap`, :func:`percentile_interval`;
* :mod:`~lossctl.stats.paired`: :func:`paired_t`, :func:`paired_ratio`, :func:`paired_bootstrap`, :func:`bootstrap_result`,
  :func:`sign_flip_test`, :func:`holm`, :func:`verdict`;
* :mod:`~lossctl.stats.loop`: :class:`LoopSimulator`, :func:`simulate_loop`;
* :mod:`~lossctl.stats.tdist`: Student t ``t_cdf``, ``t_sf``, ``t_ppf``.
"""

from lossctl.stats.bootstrap import PoissonBootstrap, convention_replicates, percentile_interval
from lossctl.stats.loop import LoopResult, LoopSimulator, simulate_loop
from lossctl.stats.moments import Interval, Moments, RatioMoments, convention_scale
from lossctl.stats.paired import (
    PairedResult,
    bootstrap_result,
    holm,
    paired_bootstrap,
    paired_ratio,
    paired_t,
    sign_flip_test,
    verdict,
)

__all__ = [
    "Interval",
    "LoopResult",
    "LoopSimulator",
    "Moments",
    "PairedResult",
    "PoissonBootstrap",
    "RatioMoments",
    "bootstrap_result",
    "convention_replicates",
    "convention_scale",
    "holm",
    "paired_bootstrap",
    "paired_ratio",
    "paired_t",
    "percentile_interval",
    "sign_flip_test",
    "simulate_loop",
    "verdict",
]
