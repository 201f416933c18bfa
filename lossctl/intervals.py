"""Confidence intervals (``--ci``) and training-loop conventions (``--batch-size``) in the one pass.

Both are :class:`~lossctl.compute.Observer` s: :func:`~lossctl.compute.compute` shows them each
chunk's per-row values (``s_i``, row i's sum over its K terms; ``l_i``, its per-sample loss;
``w_i``) and they fold them into the mergeable states of :mod:`lossctl.stats`. Rows are the
resampling unit, never elements. After the pass, :func:`with_intervals` and
:func:`with_loop` return the report with a ``ci`` on each scalar convention, or with the two
loop conventions added, and the signature parts that record how.

* ``t`` (default): each unweighted convention is a fixed multiple of mean(s)
  (:func:`~lossctl.stats.convention_scale`), so its interval is that multiple of the t interval
  of the s_i; ``weighted_batch_mean``/``weighted_sum`` likewise over w_i·l_i; ``weighted_mean``
  = Σw·l/Σw is a ratio: delta method (:meth:`~lossctl.stats.RatioMoments.delta_interval`).
* ``bootstrap``: one Poisson bootstrap over rows fed the columns (s, w·l, w), each row's counts
  fixed by (seed, B, row index), so the interval does not depend on ``--chunk-rows``; every
  convention is recomputed on the same resamples (the ratio too) and the interval is the
  percentile interval.

>>> spec = CiSpec("bootstrap", 0.9, 200, 7)
>>> spec.signature()
('ci:bs200', 'seed:7', 'level:90')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .errors import UsageError
from .report import ConventionResult, Report
from .stats import (
    Interval,
    LoopSimulator,
    Moments,
    PoissonBootstrap,
    RatioMoments,
    convention_replicates,
    convention_scale,
    percentile_interval,
)

METHODS = ("t", "bootstrap")

#: ``lossctl explain``'s statistics section: (heading, bullets)
EXPLAIN = (
    (
        "Confidence intervals (--ci): rows are the resampling unit, never elements",
        (
            "--ci-method t (default): each unweighted convention is a fixed multiple of the mean over rows of "
            "s_i, row i's sum of its K terms (mean = mean(s)/K, sum = N·mean(s), ...), so its interval is that "
            "multiple of the Student t interval of the s_i, from count, mean and M2 streamed in the one pass.",
            "weighted_batch_mean and weighted_sum: the same over w_i·l_i. weighted_mean = Σw·l/Σw is a ratio "
            'estimator: the delta method, R ± t·√(Σ(w_i·l_i − R·w_i)² / (n(n−1))) / mean(w) (method "delta").',
            "--ci-method bootstrap: a Poisson percentile bootstrap over rows (each row drawn Poisson(1) times "
            "per resample, its counts fixed by --seed and its row number, so any --chunk-rows gives the same "
            "interval); every convention, the ratio Σc·w·l/Σc·w included, is recomputed on the same resamples.",
        ),
    ),
    (
        "What a training loop logs (--batch-size B, --drop-last, --world-size W, --accum-steps A)",
        (
            "mean_of_batch_means (÷ batches): a plain PyTorch loop that averages loss.item() over its batches; "
            "with gradient accumulation one logged value per optimizer step, the mean of its micro-batch means. "
            "A short last batch weighs as much as a full one, so it differs from the true mean.",
            "batch_weighted_mean (÷ N_seen): Keras 3 fit/evaluate, whose loss tracker is a Mean updated with "
            "sample_weight = the batch size (keras/src/backend/*/trainer.py: _loss_tracker.update_state(loss, "
            "sample_weight=...shape[0]), Keras 3.15), and PyTorch Lightning's self.log(..., on_epoch=True), whose "
            "epoch mean weights each batch by batch_size (LightningModule.log docs): the true mean unless rows "
            "are dropped (--drop-last) or repeated.",
            "DistributedSampler(num_replicas=W, shuffle=False) pads the data to a multiple of W by repeating "
            "rows from the start: both values count the copies (N_seen > N). Each row shows how far it is from "
            "the true value of the primary convention; intervals (with --ci) use the delta method.",
        ),
    ),
)


def one_blas_thread():
    """A context keeping BLAS on one thread for a pass with observers: the row sums they need are thin
    matrix-vector products, 3-4× slower when BLAS threads spin against the reader thread."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def percent(level: float) -> str:
    """A level as the signature writes it: 0.95 -> ``95``, 0.975 -> ``97.5``."""
    return f"{round(level * 100, 9):g}"


@dataclass(frozen=True)
class CiSpec:
    """How the intervals are made: ``--ci-method``, ``--ci-level``, ``--resamples``, ``--seed``."""

    method: str = "t"
    level: float = 0.95
    resamples: int = 1000
    seed: int = 12345

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"--ci-method must be t or bootstrap, not {self.method!r}")
        if not 0.0 < self.level < 1.0:
            raise UsageError(f"--ci-level must be strictly between 0 and 1 (e.g. 0.95), not {self.level:g}")
        if self.resamples < 1:
            raise UsageError(f"--resamples must be at least 1, not {self.resamples}")
        if self.seed < 0:
            raise UsageError(f"--seed must be ≥ 0, not {self.seed}")

    def signature(self) -> tuple[str, ...]:
        if self.method == "t":
            return (f"ci:t{percent(self.level)}",)
        level = () if self.level == 0.95 else (f"level:{percent(self.level)}",)
        return (f"ci:bs{self.resamples}", f"seed:{self.seed}", *level)


class IntervalObserver:
    """Accumulates, per chunk, what every scalar convention's interval needs (constant memory)."""

    def __init__(self, spec: CiSpec) -> None:
        self.spec = spec
        self.weighted: bool | None = None
        self.rows = Moments()  # of s_i
        self.weighted_rows = Moments()  # of w_i·l_i
        self.ratio = RatioMoments()  # of (w_i·l_i, w_i)
        self.bootstrap: PoissonBootstrap | None = None
        self.seen = 0

    def observe(self, start: int, s: np.ndarray, l: np.ndarray, w: np.ndarray | None) -> None:  # noqa: E741
        if self.weighted is None:
            self.weighted = w is not None
            if self.spec.method == "bootstrap":
                columns = 3 if self.weighted else 1
                self.bootstrap = PoissonBootstrap(self.spec.resamples, self.spec.seed, columns=columns)
        wl = w * l if w is not None else None
        if self.bootstrap is not None:
            values = s if wl is None else np.column_stack([s, wl, w])
            # rows numbered as they arrive, not by ``start``: with --nan omit the kept rows stay numbered
            # 0, 1, 2, ... whatever the chunking, so the resamples still do not depend on --chunk-rows
            self.bootstrap.update(values, start=self.seen)
            self.seen += len(s)
            return
        self.rows = self.rows.merge(Moments.of(s))
        if wl is not None:
            self.weighted_rows = self.weighted_rows.merge(Moments.of(wl))
            self.ratio = self.ratio.merge(RatioMoments.weighted(l, w))

    def interval(self, name: str, n_samples: int, n_outputs: int) -> Interval | None:
        """The interval of scalar convention ``name``; None for a convention with no interval rule."""
        try:
            scale = convention_scale(name, n_samples, n_outputs)
        except UsageError:
            return None
        level = self.spec.level
        if self.bootstrap is not None:
            weighted = (1, 2) if self.weighted else (None, None)
            reps = convention_replicates(self.bootstrap, name, n_samples, n_outputs, 0, *weighted)
            return percentile_interval(reps, level)
        if name == "weighted_mean":
            return self.ratio.delta_interval(level)
        moments = self.weighted_rows if name.startswith("weighted_") else self.rows
        return moments.t_interval(level).scaled(scale)


def with_intervals(report: Report, observer: IntervalObserver) -> Report:
    """``report`` with a ``ci`` on every defined scalar convention, and ``ci:`` in its signature."""
    n, k = report.shape
    conventions = []
    for c in report.conventions:
        if c.value is not None and not c.vector and c.ci is None:
            c = replace(c, ci=observer.interval(c.name, n, k))
        conventions.append(c)
    return replace(report, conventions=tuple(conventions), stats=(*report.stats, *observer.spec.signature()))


# --------------------------------------------------------------------------- training-loop conventions

LOOP_TEXT = {
    "mean_of_batch_means": (
        "batches",
        "the mean of the per-step losses a loop logs (averaging loss.item() over its batches)",
        "a plain PyTorch loop averaging loss.item(); Keras 2 / tf.keras progress bars per batch; "
        "with --accum-steps, each step logs the mean of its micro-batch means",
        "mean of the logged batch means",
    ),
    "batch_weighted_mean": (
        "N_seen",
        "each batch weighted by its size: Σ of every loss seen / the samples seen",
        "Keras 3 fit/evaluate (metrics weight each batch by its size); PyTorch Lightning self.log(on_epoch=True) "
        "(batch_size-weighted epoch mean); DistributedSampler's padding copies count as seen",
        "size-weighted mean of the batches",
    ),
}


class LoopObserver:
    """Feeds each row's primary per-row value (as ``s_i``; scaled at the end) to a :class:`LoopSimulator`."""

    def __init__(self, batch_size: int, drop_last: bool = False, world_size: int = 1, accum_steps: int = 1) -> None:
        self.simulator = LoopSimulator(batch_size, drop_last, world_size, accum_steps)
        self.options = (int(batch_size), bool(drop_last), int(world_size), int(accum_steps))

    def observe(self, start: int, s: np.ndarray, l: np.ndarray, w: np.ndarray | None) -> None:  # noqa: E741
        self.simulator.update(s)

    def signature(self) -> tuple[str, ...]:
        b, drop, world, accum = self.options
        parts = [f"batch:{b}"]
        parts += ["drop-last:yes"] if drop else []
        parts += [f"world:{world}"] if world > 1 else []
        parts += [f"accum:{accum}"] if accum > 1 else []
        return tuple(parts)


def with_loop(report: Report, observer: LoopObserver, level: float | None = None) -> Report:
    """``report`` with ``mean_of_batch_means`` and ``batch_weighted_mean`` of its primary convention added.

    The loop averages each row's value under the primary convention (``l_i`` for a mean over
    elements, ``s_i`` for a batch mean); ``level`` adds delta-method intervals (the logged values
    are ratios Σa·l/Σa over rows).
    """
    n, k = report.shape
    try:
        scale = convention_scale(report.primary, 1, k)
    except UsageError:
        raise UsageError(
            f"--batch-size needs a mean-type primary convention; {report.loss} has {report.primary}"
        ) from None
    result = observer.simulator.result()
    primary = report.convention(report.primary).value if _has(report, report.primary) else None
    added = []
    for name, value, count, moments in (
        ("mean_of_batch_means", result.mean_of_batch_means, result.steps, result.mean_of_batch_means_moments),
        ("batch_weighted_mean", result.batch_weighted_mean, result.n_seen, result.batch_weighted_mean_moments),
    ):
        divisor, meaning, users, short = LOOP_TEXT[name]
        value = value * scale if math.isfinite(value) else None
        ci = moments.delta_interval(level).scaled(scale) if level is not None and value is not None else None
        note = _distance(value, primary, report.primary)
        if name == "batch_weighted_mean" and value is not None:
            note += _seen(result)
        added.append(ConventionResult(name, divisor, float(count), value, meaning, users, note or None, short, ci=ci))
    stats = (*report.stats, *observer.signature())
    return replace(report, conventions=(*report.conventions, *added), stats=stats)


def _has(report: Report, name: str) -> bool:
    return any(c.name == name for c in report.conventions)


def _seen(result) -> str:
    """What batch_weighted_mean counted besides the rows: padding copies, dropped rows."""
    dropped = result.n_rows + result.padded - result.n_seen
    parts = [f"{result.padded:,} padding copies"] if result.padded else []
    parts += [f"{dropped:,} rows dropped"] if dropped else []
    return f"; {', '.join(parts)}" if parts else ""


def _distance(value: float | None, true: float | None, name: str) -> str:
    if value is None:
        return "no batch is formed (fewer rows than --batch-size with --drop-last)"
    if true is None or isinstance(true, np.ndarray):
        return ""
    diff = value - true
    rel = f" ({100 * diff / true:+.3g}%)" if true else ""
    return f"{diff:+.3g}{rel} from the true {name}" if diff else f"equals the true {name}"
