"""Gates: ``--max``/``--min`` bounds on one number, and the words when a bound is crossed.

Pure: no printing, no exiting. Used by every loss command and by ``lossctl check``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import UsageError


def _shown(value: float, bound: float) -> str:
    """``value`` with the fewest digits (from 6) that keep it on the same side of ``bound``."""
    for digits in (6, 9, 12, 15):
        text = f"{value:.{digits}g}"
        shown = float(text)
        if (shown > bound) == (value > bound) and (shown < bound) == (value < bound):
            return text
    return repr(float(value))


@dataclass(frozen=True)
class Bounds:
    """Inclusive bounds on one number: ``min <= value <= max`` passes.

    >>> Bounds(max=0.02).crossed("preds.csv: mse mean", 0.0235)
    'preds.csv: mse mean = 0.0235 is above --max 0.02'
    >>> Bounds(min=0.1, max=0.5).crossed("preds.csv: mse mean", 0.25) is None
    True
    """

    max: float | None = None
    min: float | None = None

    def __post_init__(self) -> None:
        for name in ("max", "min"):
            value = getattr(self, name)
            if value is not None and math.isnan(value):
                raise UsageError(f"--{name} must be a number, not nan")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise UsageError(f"--min {self.min:g} is above --max {self.max:g}; no value could pass")

    def __bool__(self) -> bool:
        return self.max is not None or self.min is not None

    def describe(self) -> str:
        """``≤ 0.1``, ``≥ 0.05`` or ``0.05 … 0.1``; empty without bounds."""
        if self.max is not None and self.min is not None:
            return f"{self.min:g} … {self.max:g}"
        if self.max is not None:
            return f"≤ {self.max:g}"
        if self.min is not None:
            return f"≥ {self.min:g}"
        return ""

    def crossed(self, subject: str, value: float | None, note: str | None = None) -> str | None:
        """The failure message when ``value`` lies outside the bounds, else None.

        ``subject`` names the value (``"preds.csv: mse mean"``). An undefined
        value (None, e.g. an infinite loss) fails every bound.
        """
        if not self:
            return None
        if value is None or math.isnan(value):
            flags = " and ".join(
                f"--{name} {bound:g}" for name, bound in (("min", self.min), ("max", self.max)) if bound is not None
            )
            why = f" ({note.removeprefix('undefined: ')})" if note else ""
            return f"{subject} is undefined{why}, so it cannot meet {flags}"
        if self.max is not None and value > self.max:
            return f"{subject} = {_shown(value, self.max)} is above --max {self.max:g}"
        if self.min is not None and value < self.min:
            return f"{subject} = {_shown(value, self.min)} is below --min {self.min:g}"
        return None


def scalar_convention(name: str) -> str:
    """The canonical name of a convention that can be gated (a single number)."""
    from .conventions import get_convention

    conv = get_convention(name)
    if conv.vector:
        raise UsageError(
            f"--max/--min gate one number but {conv.name} is a vector; choose a scalar convention such as mean "
            "(see 'lossctl explain LOSS')"
        )
    return conv.name
