"""What a computation returns: a :class:`Report`, immutable once computed, and its :class:`Signature`.

The signature (sacreBLEU's model) pins how the numbers were made. It is derived
from the report in one place, :meth:`Signature.of`; the string form is
``str(report.sig)``, also available as ``report.signature``. To change a
report (hide a row, count dropped samples), make a new one with
:func:`dataclasses.replace`: its signature follows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._version import __version__
from .conventions import BY_NAME, applicable
from .params import Params

if TYPE_CHECKING:
    from .stats import Interval

#: the training-loop conventions that ``--batch-size`` adds (not in the signature's ``conv:`` part:
#: the ``batch:`` part records them)
LOOP_CONVENTIONS = ("mean_of_batch_means", "batch_weighted_mean")


@dataclass(frozen=True)
class ConventionResult:
    name: str
    divisor: str | None
    n: float | None
    value: float | np.ndarray | None
    meaning: str
    users: str
    note: str | None = None
    short: str = ""
    #: a vector convention's fixed-size summary, when one was asked for (``compute(summarize=True)``)
    summary: VectorSummary | None = None
    #: the confidence interval (``--ci``): a :class:`lossctl.stats.Interval` with low, high, level, method
    ci: Interval | None = None

    @property
    def vector(self) -> bool:
        return self.divisor is None


@dataclass(frozen=True)
class VectorSummary:
    """A vector convention in a fixed size: its length, min, median, mean, max and where the max is.

    ``argmax`` is numbered the way the vector's entries are named: for ``per_sample`` the data row
    counted from 1 (``argmax_row``; None when ``--nan omit`` dropped rows, so rows no longer match
    the input's), for ``per_output`` the column counted from 0 (``argmax_column``, like
    ``--pred-cols``). NaN propagates as in numpy: one undefined value makes min, median, mean and
    max NaN and ``argmax`` its first position (where ``--worst`` puts it too).
    """

    count: int
    min: float
    median: float
    mean: float
    max: float
    argmax: int | None
    argmax_key: str = "argmax_row"

    def fields(self) -> dict[str, float | int | None]:
        """The summary as ``{"count", "min", "median", "mean", "max", "argmax_row"}`` (or ``argmax_column``)."""
        return {
            "count": self.count,
            "min": self.min,
            "median": self.median,
            "mean": self.mean,
            "max": self.max,
            self.argmax_key: self.argmax,
        }


def median_of(values: np.ndarray, *, overwrite: bool = False) -> float:
    """``np.median(values)`` by one ``partition`` (no full sort); ``overwrite=True`` reorders ``values`` in place.

    Numpy's semantics: the middle value, or the mean of the two middle values for an even count;
    NaN if any value is NaN. One selection at the upper middle; the lower middle of an even
    count is then the largest value left of it (one linear pass, half the cost of a second kth).

    >>> median_of(np.array([3.0, 1.0, 4.0, 1.5])), float(np.median([3.0, 1.0, 4.0, 1.5]))
    (2.25, 2.25)
    """
    n = len(values)
    if n == 0 or np.isnan(values).any():
        return math.nan
    half = n // 2
    part = values if overwrite else values.copy()
    part.partition(half)
    if n % 2:
        return float(part[half])
    with np.errstate(all="ignore"):  # inf and -inf in the middle give NaN, as np.median does
        return float(np.mean([np.max(part[:half]), part[half]]))


def summarize_vector(values: np.ndarray, *, first: int, argmax_key: str = "argmax_row") -> VectorSummary:
    """The :class:`VectorSummary` of a whole vector; ``first`` numbers its first entry (1 for rows, 0 for columns)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return VectorSummary(0, math.nan, math.nan, math.nan, math.nan, None, argmax_key)
    return VectorSummary(
        count=len(values),
        min=float(np.min(values)),
        median=median_of(values),
        mean=float(np.mean(values)),
        max=float(np.max(values)),
        argmax=int(np.argmax(values)) + first,
        argmax_key=argmax_key,
    )


@dataclass(frozen=True)
class FrameworkResult:
    framework: str
    api: str
    call: str
    value: float
    convention: str | None
    note: str | None = None


@dataclass(frozen=True)
class Report:
    loss: str
    shape: tuple[int, int]
    dtype: str
    params: Params
    weighted: bool
    conventions: tuple[ConventionResult, ...]
    frameworks: tuple[FrameworkResult, ...]
    primary: str
    notes: tuple[str, ...] = ()
    dropped: int = 0
    #: files read per side (predictions, labels[, weights]) when one is a glob or @list: signature ``files:11+3``
    files: tuple[int, ...] = ()
    #: signature parts of the statistics (``--ci``, ``--batch-size``), e.g. ``("ci:bs1000", "seed:12345")``
    stats: tuple[str, ...] = ()
    version: str = __version__

    def convention(self, name: str) -> ConventionResult:
        for c in self.conventions:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def sig(self) -> Signature:
        return Signature.of(self)

    @property
    def signature(self) -> str:
        return str(self.sig)


@dataclass(frozen=True)
class Signature:
    """How the numbers of a report were made, field by field; ``str()`` gives ``loss:mse|n:N*K|…``."""

    loss: str
    n: str  #: the divisor of the primary convention
    conventions: str  #: ``all``, or the shown conventions joined by commas
    shape: tuple[int, int]
    dtype: str
    weighted: bool
    #: the loss's declared options and their values as shown, e.g. ``(("delta", "1.5"),)``
    options: tuple[tuple[str, str], ...] = ()
    dropped: int = 0
    files: tuple[int, ...] = ()
    stats: tuple[str, ...] = ()
    version: str = __version__

    @classmethod
    def of(cls, report: Report) -> Signature:
        from .losses import get_loss

        loss = get_loss(report.loss)
        shown = [c.name for c in report.conventions if c.name not in LOOP_CONVENTIONS]
        every = [
            c.name
            for c in applicable(loss.kind, loss.squared, report.weighted, report.params.class_weights is not None)
        ]
        return cls(
            loss=report.loss,
            n=str(BY_NAME[report.primary].divisor),
            conventions="all" if shown == every else ",".join(shown),
            shape=report.shape,
            dtype=report.dtype,
            weighted=report.weighted,
            options=tuple((o.name, o.signature_value(report.params)) for o in loss.options if o.signed(report.params)),
            dropped=report.dropped,
            files=report.files,
            stats=report.stats,
            version=report.version,
        )

    def option(self, name: str) -> str | None:
        """The shown value of option ``name``, or None when the loss has no such option."""
        return dict(self.options).get(name)

    def __str__(self) -> str:
        parts = [
            f"loss:{self.loss}",
            f"n:{self.n}",
            f"conv:{self.conventions}",
            f"shape:{self.shape[0]}x{self.shape[1]}",
            f"dtype:{self.dtype}",
            "acc:float64",
            f"weights:{'yes' if self.weighted else 'no'}",
            *(f"{name}:{value}" for name, value in self.options),
        ]
        if self.dropped:
            parts.append(f"dropped:{self.dropped}")
        if any(n > 1 for n in self.files):
            parts.append("files:" + "+".join(map(str, self.files)))
        parts.extend(self.stats)
        parts.append(f"version:{self.version}")
        return "|".join(parts)
