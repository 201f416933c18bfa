"""Paired comparison of models on the same labels (``lossctl compare``): pure, one aligned pass.

Every model's per-row value x_i is the row's share of the chosen convention (``s_i``, the row's
sum over its K terms; ``w_i·l_i`` for ``weighted_batch_mean``/``weighted_sum``; ``l_i`` with the
weights as a ratio for ``weighted_mean``), so the convention is ``scale × mean(x)``
(:func:`~lossctl.stats.convention_scale`) and rows are paired across models. Per candidate:

* ``t`` (default): the paired t test on the differences d_i = x_i(candidate) − x_i(baseline)
  (``weighted_mean``: the delta method on Σw·d / Σw), streamed as moments;
* ``bootstrap``: one Poisson bootstrap whose columns hold every model's x (the same resamples for
  all); the replicate differences give the percentile interval and the p-value;
* ``permutation``: a sign-flip test on the d_i (kept in memory: at most :data:`PERMUTATION_MAX_ROWS`).

With several candidates the p-values are Holm-adjusted (``p_adjusted``) and the verdicts use them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._version import __version__
from .chunk import Chunk
from .conventions import BY_NAME, applicable, get_convention
from .errors import InputError, UsageError
from .intervals import percent
from .losses import DomainError, Loss, get_loss
from .params import Params
from .stats import (
    Interval,
    Moments,
    PairedResult,
    PoissonBootstrap,
    RatioMoments,
    bootstrap_result,
    convention_replicates,
    convention_scale,
    holm,
    paired_ratio,
    paired_t,
    sign_flip_test,
    verdict,
)

TESTS = ("t", "bootstrap", "permutation")
#: the permutation test keeps every difference in memory and flips signs 1,000 patterns at a
#: time as a (1000, N) matrix: 160 MB at this N
PERMUTATION_MAX_ROWS = 20_000


@dataclass(frozen=True)
class CandidateResult:
    file: str
    value: float
    delta: float
    ci: Interval
    p_value: float
    test: str
    verdict: str
    p_adjusted: float | None = None


@dataclass(frozen=True)
class Comparison:
    loss: str
    convention: str
    divisor: str
    labels: str
    baseline: str
    baseline_value: float
    results: tuple[CandidateResult, ...]
    shape: tuple[int, int]
    weighted: bool
    alpha: float
    signature: str
    version: str = __version__


@dataclass(frozen=True)
class Settings:
    """How to compare: ``-c``, ``--test``, ``--alpha``, ``--ci-level``, ``--ci-method``, ``--resamples``, ``--seed``."""

    convention: str | None = None
    test: str = "t"
    alpha: float = 0.05
    level: float = 0.95
    ci_method: str | None = None  # None: bootstrap for --test bootstrap, else t
    resamples: int = 1000
    seed: int = 12345

    def check(self) -> None:
        if self.test not in TESTS:
            raise UsageError(f"--test must be t, bootstrap or permutation, not {self.test!r}")
        if self.ci_method not in (None, "t", "bootstrap"):
            raise UsageError(f"--ci-method must be t or bootstrap, not {self.ci_method!r}")
        for flag, v in (("--alpha", self.alpha), ("--ci-level", self.level)):
            if not 0.0 < v < 1.0:
                raise UsageError(f"{flag} must be strictly between 0 and 1, not {v:g}")
        if self.resamples < 1:
            raise UsageError(f"--resamples must be at least 1, not {self.resamples}")

    @property
    def interval_method(self) -> str:
        return self.ci_method or ("bootstrap" if self.test == "bootstrap" else "t")


def row_values(loss: Loss, chunk: Chunk, params: Params, names: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``s_i`` (sum over its K terms) and ``l_i`` (per-sample loss), after the loss's domain check."""
    try:
        if loss.validate is not None:
            loss.validate(chunk, params)
    except DomainError as e:
        raise InputError(e.template.format(**names)) from None
    with np.errstate(all="ignore"):
        terms = np.asarray(loss.terms(chunk, params), dtype=np.float64)
        if loss.kind != "element":
            return terms, terms
        s = terms @ np.ones(terms.shape[1])
        return s, (s / terms.shape[1] if loss.inner == "mean" else s)


class _State:
    """What one pass accumulates for every model and candidate."""

    def __init__(self, name: str, models: int, settings: Settings, weighted: bool) -> None:
        self.name, self.m, self.settings, self.weighted = name, models, settings, weighted
        self.ratio = name == "weighted_mean"
        self.values = [RatioMoments() if self.ratio else Moments() for _ in range(models)]
        self.diffs = [RatioMoments() if self.ratio else Moments() for _ in range(models - 1)]
        need_bs = settings.test == "bootstrap" or settings.interval_method == "bootstrap"
        columns = models + (1 if self.ratio else 0)
        self.bootstrap = PoissonBootstrap(settings.resamples, settings.seed, columns) if need_bs else None
        self.kept: list[list[np.ndarray]] = [[] for _ in range(models - 1)]
        self.rows = 0

    def add(self, start: int, per_model: list[tuple[np.ndarray, np.ndarray]], w: np.ndarray | None) -> None:
        losses = [loss for _, loss in per_model]
        if self.ratio:
            xs = [w * loss for loss in losses]
            self.values = [v.merge(RatioMoments.weighted(x, w)) for v, x in zip(self.values, losses, strict=True)]
            self.diffs = [
                d.merge(RatioMoments.weighted(losses[i + 1] - losses[0], w)) for i, d in enumerate(self.diffs)
            ]
        else:
            weighted = self.name.startswith("weighted_")
            xs = [w * loss if weighted else s for (s, _), loss in zip(per_model, losses, strict=True)]
            self.values = [v.merge(Moments.of(x)) for v, x in zip(self.values, xs, strict=True)]
            self.diffs = [d.merge(Moments.of(xs[i + 1] - xs[0])) for i, d in enumerate(self.diffs)]
        if self.bootstrap is not None:
            self.bootstrap.update(np.column_stack([*xs, w] if self.ratio else xs), start=start)
        if self.settings.test == "permutation":
            self.rows += len(xs[0])
            if self.rows > PERMUTATION_MAX_ROWS:
                raise UsageError(
                    f"--test permutation keeps every row's difference in memory and stops at "
                    f"{PERMUTATION_MAX_ROWS:,} rows (it is meant for small N); use --test t or --test bootstrap, "
                    "which stream in constant memory"
                )
            for i in range(self.m - 1):
                self.kept[i].append(xs[i + 1] - xs[0])

    def value(self, model: int, scale: float) -> float:
        v = self.values[model]
        return v.ratio if self.ratio else v.mean * scale


def _paired(state: _State, i: int, n: int, k: int, scale: float) -> PairedResult:
    """Candidate i's delta, interval and p-value under the chosen test and interval method."""
    s = state.settings
    moments = state.diffs[i]
    analytic = paired_ratio(moments, s.level) if state.ratio else paired_t(moments, s.level).scaled(scale)
    delta = analytic.delta
    boot = None
    if state.bootstrap is not None:

        def reps(j: int) -> np.ndarray:
            if state.ratio:
                return convention_replicates(state.bootstrap, state.name, n, k, 0, j, state.m)
            if state.name.startswith("weighted_"):
                return convention_replicates(state.bootstrap, state.name, n, k, 0, j)
            return convention_replicates(state.bootstrap, state.name, n, k, j)

        boot = bootstrap_result(reps(i + 1) - reps(0), delta, s.level)
    if s.test == "t":
        p, test = analytic.p_value, analytic.test
    elif s.test == "bootstrap":
        p, test = boot.p_value, boot.test
    else:
        d = np.concatenate(state.kept[i])
        p, test = (1.0 if not d.any() else sign_flip_test(d, s.resamples, s.seed)), "permutation"
    ci = boot.ci if s.interval_method == "bootstrap" else analytic.ci
    if delta == 0.0 and np.all([ci.low == 0.0 or math.isnan(ci.low), ci.high == 0.0 or math.isnan(ci.high)]):
        ci = Interval(0.0, 0.0, s.level, ci.method)
    return PairedResult(delta, ci, p, test)


def _convention(loss: Loss, name: str | None, weighted: bool) -> str:
    chosen = get_convention(name).name if name else loss.primary
    here = [c.name for c in applicable(loss.kind, loss.squared, weighted) if not c.vector]
    if chosen not in here:
        why = " without --weights" if BY_NAME[chosen].weighted and not weighted else ""
        raise UsageError(f"compare needs a scalar convention of {loss.name}{why}: one of {', '.join(here)}")
    return chosen


def compare(
    loss: str | Loss,
    baseline: str,
    candidates: Sequence[str],
    labels: str,
    weights: str | None = None,
    *,
    params: Params | None = None,
    settings: Settings | None = None,
    chunk_rows: int = 65536,
) -> Comparison:
    """Compare ``candidates`` with ``baseline`` (prediction files) on the same ``labels``, row by row."""
    from .io import open_source
    from .io.pairing import AlignedReader

    spec = get_loss(loss) if isinstance(loss, str) else loss
    params, settings = params or Params(), settings or Settings()
    settings.check()
    if not candidates:
        raise UsageError("give at least one CANDIDATE after BASELINE: lossctl compare LOSS BASELINE CANDIDATE...")
    files = [baseline, *candidates]
    sources = [open_source(f) for f in files]
    label_src = open_source(labels)
    weight_src = open_source(weights) if weights else None
    if spec.index_labels and label_src.columns() == 1 and sources[0].columns() > 1:
        spec = get_loss(spec.index_labels)
    name = _convention(spec, settings.convention, weight_src is not None)
    reader = AlignedReader(sources, label_src, weight_src, indices=spec.labels == "indices", chunk_rows=chunk_rows)
    state = _State(name, len(files), settings, weight_src is not None)
    n, k = 0, None
    for chunks in reader:
        per_model = []
        for src, chunk in zip(sources, chunks, strict=True):
            names = {"predictions": src.name, "labels": label_src.name, "weights": getattr(weight_src, "name", "")}
            if k is not None and chunk.y_pred.shape[1] != k:
                raise InputError(
                    f"{src.name} has {chunk.y_pred.shape[1]} columns but {sources[0].name} has {k}; "
                    "compared models need the same shape (N, K)"
                )
            k = chunk.y_pred.shape[1]
            per_model.append(row_values(spec, chunk, params, names))
        state.add(chunks[0].start, per_model, chunks[0].weights)
        n += len(chunks[0].y_pred)
    if n < 2 or k is None:
        raise InputError(f"{label_src.name} has {n} rows; a paired comparison needs at least 2")
    return _result(spec, state, settings, sources, label_src.name, (n, k), params)


def _result(spec, state: _State, settings: Settings, sources, labels: str, shape, params) -> Comparison:
    n, k = shape
    scale = convention_scale(state.name, n, k)
    paired = [_paired(state, i, n, k, scale) for i in range(state.m - 1)]
    adjusted = holm([r.p_value for r in paired]) if len(paired) > 1 else [None] * len(paired)
    results = []
    for src, r, adj in zip(sources[1:], paired, adjusted, strict=True):
        p_for_verdict = r.p_value if adj is None else adj
        results.append(
            CandidateResult(
                src.name,
                state.value(sources.index(src), scale),
                r.delta,
                r.ci,
                r.p_value,
                r.test,
                verdict(r.delta, p_for_verdict, settings.alpha),
                adj,
            )
        )
    signature = _signature(spec, state, settings, shape, sources[0].dtype, params, len(paired))
    return Comparison(
        loss=spec.name,
        convention=state.name,
        divisor=str(BY_NAME[state.name].divisor),
        labels=labels,
        baseline=sources[0].name,
        baseline_value=state.value(0, scale),
        results=tuple(results),
        shape=shape,
        weighted=state.weighted,
        alpha=settings.alpha,
        signature=signature,
    )


def _signature(spec: Loss, state: _State, settings: Settings, shape, dtype: str, params: Params, m: int) -> str:
    test = {"t": "paired-delta" if state.ratio else "paired-t", "bootstrap": "paired-bootstrap"}
    parts = [
        f"loss:{spec.name}",
        f"conv:{state.name}",
        f"test:{test.get(settings.test, settings.test)}",
        f"alpha:{settings.alpha:g}",
    ]
    if settings.interval_method == "t":
        parts.append(f"ci:t{percent(settings.level)}")
    else:
        parts += [f"ci:bs{settings.resamples}", f"seed:{settings.seed}"]
        parts += [] if settings.level == 0.95 else [f"level:{percent(settings.level)}"]
    if settings.test == "permutation":
        parts.append(f"perm:{settings.resamples}")
        parts += [] if settings.interval_method == "bootstrap" else [f"seed:{settings.seed}"]
    parts += [f"correction:{'holm' if m > 1 else 'none'}", f"candidates:{m}"]
    parts += [f"shape:{shape[0]}x{shape[1]}", f"dtype:{dtype}", "acc:float64"]
    parts += [f"weights:{'yes' if state.weighted else 'no'}"]
    parts += [f"{o.name}:{o.signature_value(params)}" for o in spec.options]
    parts.append(f"version:{__version__}")
    return "|".join(parts)


__all__ = ["CandidateResult", "Comparison", "Settings", "compare", "row_values"]
