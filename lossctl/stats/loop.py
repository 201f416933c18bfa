"""What a training or evaluation loop logs for the same per-row losses (the "which n?" of an epoch).

The loop modelled, for N rows in order (no shuffling):

* ``DistributedSampler(num_replicas=W, shuffle=False, drop_last=False)`` pads the index
  list to ``T = W·ceil(N/W)`` by repeating rows from the start (position j >= N holds
  row ``(j − N) mod N``), and rank r takes positions r, r+W, r+2W, ...: position j goes to
  rank ``j mod W`` at local index ``t = j // W``; each rank has ``M = T/W`` samples;
* each rank's ``DataLoader(batch_size=B, drop_last=...)`` makes batch ``b = t // B``;
  there are ``nb = M // B`` batches with drop_last, else ``ceil(M/B)`` (the last one short);
* with gradient accumulation over A micro-batches, optimizer step ``s = b // A`` logs the
  mean of its micro-batch means (the last step averages the ``nb − A·s`` it has).

``mean_of_batch_means`` is the mean of every logged value over ranks and steps (all ranks
have the same steps, so it is also the mean of the all-reduced step losses);
``batch_weighted_mean`` weights each batch by its size: Σ of every loss seen / N_seen,
padding repeats included, dropped rows excluded.

Streaming: only the tail depends on N. A row whose step is complete for any N >= the rows
seen so far contributes ``l / (A·B)`` to the sum of logged values; those rows are settled
as they arrive, and only the last ``W·A·B`` rows (plus the first ``W − 1`` for padding)
are kept. Memory is independent of N.

>>> r = simulate_loop([1.0, 2.0, 3.0, 4.0, 10.0], batch_size=2)
>>> r.mean_of_batch_means, r.batch_weighted_mean, r.batches, r.n_seen  # (1.5 + 3.5 + 10) / 3, 20 / 5
(5.0, 4.0, 3, 5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lossctl.errors import InputError, UsageError
from lossctl.stats.moments import Moments, RatioMoments


@dataclass(frozen=True)
class LoopResult:
    """What the loop logs: both conventions and their divisors."""

    mean_of_batch_means: float  # NaN when no batch is formed
    batch_weighted_mean: float
    batches: int  # micro-batches over all ranks: the divisor of mean_of_batch_means when A = 1
    steps: int  # logged values over all ranks (W · optimizer steps): its divisor in general
    n_seen: int  # samples seen over all ranks, padding included: the divisor of batch_weighted_mean
    n_rows: int
    padded: int  # rows repeated by the sampler
    # per-row pairs (a_i·l_i, a_i), a_i = the total weight of row i's copies in the logged value:
    # both values are ratio estimators Σa·l/Σa, so their intervals resample rows (delta method)
    mean_of_batch_means_moments: RatioMoments
    batch_weighted_mean_moments: RatioMoments


class LoopSimulator:
    """Streamed :func:`simulate_loop`: ``update(chunk)`` in row order, then ``result()``."""

    def __init__(self, batch_size: int, drop_last: bool = False, world_size: int = 1, accum_steps: int = 1):
        for name, v in (("--batch-size", batch_size), ("--world-size", world_size), ("--accum-steps", accum_steps)):
            if int(v) != v or v < 1:
                raise UsageError(f"{name} must be a positive integer, got {v}")
        self.b, self.w, self.a, self.drop_last = int(batch_size), int(world_size), int(accum_steps), bool(drop_last)
        self.n = 0
        self.settled = 0  # rows [0, settled) are folded into the sums below
        self.settled_steps_sum = 0.0  # Σ l / (A·B) over settled rows
        self.settled_total = 0.0  # Σ l over settled rows
        self.head = np.empty(0)  # the first W − 1 rows, for the sampler's padding
        self.settled_rows = Moments()  # settled rows past the head (those have no padding copy)
        self.tail: list[np.ndarray] = []  # rows [settled, n)

    def update(self, values) -> LoopSimulator:
        x = np.asarray(values, dtype=np.float64).reshape(-1)
        if self.head.size < self.w - 1:
            self.head = np.concatenate([self.head, x[: self.w - 1 - self.head.size]])
        self.tail.append(x)
        self.n += x.size
        span = self.w * self.a * self.b
        # rows in steps that are whole for any N >= n; never past the rows we have
        settle_to = min(span * (math.ceil(self.n / self.w) // (self.a * self.b)), self.n)
        if settle_to > self.settled:
            pending = np.concatenate(self.tail)
            done, rest = pending[: settle_to - self.settled], pending[settle_to - self.settled :]
            self.settled_total += float(done.sum())
            self.settled_steps_sum += float(done.sum()) / (self.a * self.b)
            self.settled_rows = self.settled_rows.update(done[max(self.w - 1 - self.settled, 0) :])
            self.tail, self.settled = [rest], settle_to
        return self

    def result(self) -> LoopResult:
        n, w, b, a = self.n, self.w, self.b, self.a
        if n == 0:
            raise InputError("no rows: a loop over an empty data set logs nothing")
        m = math.ceil(n / w)  # samples per rank
        nb = m // b if self.drop_last else math.ceil(m / b)
        steps = math.ceil(nb / a)
        pos = np.arange(self.settled, m * w)
        rows = np.where(pos < n, pos, (pos - n) % n)
        tail = np.concatenate(self.tail) if self.tail else np.empty(0)
        # padding repeats rows (j − n) mod n, all among the first min(n, W − 1) kept in head
        real = pos < n
        values = np.empty(pos.size)
        values[real] = tail[pos[real] - self.settled]
        values[~real] = self.head[rows[~real]]
        batch = (pos // w) // b
        keep = batch < nb
        batch, values = batch[keep], values[keep]
        size = np.minimum(b, m - batch * b)
        group = np.minimum(a, nb - (batch // a) * a)
        steps_sum = self.settled_steps_sum + float(np.sum(values / (size * group)))
        total = self.settled_total + float(values.sum())
        n_seen = w * min(m, nb * b)
        moments = self._row_moments(tail, rows[keep], 1.0 / (size * group))
        return LoopResult(
            mean_of_batch_means=steps_sum / (w * steps) if steps else math.nan,
            batch_weighted_mean=total / n_seen if n_seen else math.nan,
            batches=w * nb,
            steps=w * steps,
            n_seen=n_seen,
            n_rows=n,
            padded=m * w - n,
            mean_of_batch_means_moments=moments[0],
            batch_weighted_mean_moments=moments[1],
        )

    def _row_moments(self, tail: np.ndarray, rows: np.ndarray, step_weights: np.ndarray):
        """RatioMoments of (a·l, a) for both conventions: settled rows in bulk, the rest row by row.

        Local rows: the unsettled rows [settled, n), then the settled head rows (which may have
        padding copies); ``rows``/``step_weights`` are the kept unsettled positions' rows and weights.
        """
        n, settled = self.n, self.settled
        settled_head = min(self.w - 1, settled, n)
        local = np.where(rows >= settled, rows - settled, n - settled + rows)
        size = n - settled + settled_head
        values = np.concatenate([tail, self.head[:settled_head]])
        out = []
        for weights, own in ((step_weights, 1.0 / (self.a * self.b)), (np.ones(rows.size), 1.0)):
            a = np.bincount(local, weights=weights, minlength=size).astype(np.float64)
            a[n - settled :] += own  # the settled head rows' own (non-padding) positions
            bulk = self.settled_rows
            state = RatioMoments(bulk.count, own * bulk.mean, own, own * own * bulk.m2, 0.0, 0.0)
            out.append(state.merge(RatioMoments.of(a * values, a)))
        return out


def simulate_loop(
    values, batch_size: int, drop_last: bool = False, world_size: int = 1, accum_steps: int = 1
) -> LoopResult:
    """What the loop logs over per-row losses ``values`` (one chunk); see the module docstring."""
    return LoopSimulator(batch_size, drop_last, world_size, accum_steps).update(values).result()
