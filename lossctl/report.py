"""What a computation returns: a :class:`Report`, immutable once computed, and its :class:`Signature`.

The signature (sacreBLEU's model) pins how the numbers were made. It is derived
from the report in one place, :meth:`Signature.of`; the string form is
``str(report.sig)``, also available as ``report.signature``. To change a
report (hide a row, count dropped samples), make a new one with
:func:`dataclasses.replace`: its signature follows.
"""

from __future__ import annotations

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
    #: the confidence interval (``--ci``): a :class:`lossctl.stats.Interval` with low, high, level, method
    ci: Interval | None = None

    @property
    def vector(self) -> bool:
        return self.divisor is None


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
        every = [c.name for c in applicable(loss.kind, loss.squared, report.weighted)]
        return cls(
            loss=report.loss,
            n=str(BY_NAME[report.primary].divisor),
            conventions="all" if shown == every else ",".join(shown),
            shape=report.shape,
            dtype=report.dtype,
            weighted=report.weighted,
            options=tuple((o.name, o.signature_value(report.params)) for o in loss.options),
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
