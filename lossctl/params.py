"""Options that change a loss's value: the :class:`Params` of one computation, and the
:class:`Option` records that declare them, once per loss (a leaf module: imports nothing of lossctl).

A loss lists its options in ``register(..., options=(DELTA,))``; the CLI builds
its flags from them, the signature names them, and the registry tests try their
``examples``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Params:
    """Options that change a loss's value."""

    logits: bool = False
    delta: float = 1.0


@dataclass(frozen=True)
class Option:
    """One option of a loss: the :class:`Params` field it sets and how the CLI, signature and tests see it."""

    name: str  #: the Params field
    flag: str  #: the command-line flag
    help: str
    metavar: str | None = None
    #: values the registry-wide tests compute with (the default first)
    examples: tuple = ()
    #: a number that must be > 0 (checked by the CLI)
    positive: bool = False

    @property
    def default(self):
        return getattr(Params(), self.name)

    def value(self, params: Params):
        return getattr(params, self.name)

    def signature_value(self, params: Params) -> str:
        """``1.5`` or ``yes``: this option's value as the signature shows it (``delta:1.5``, ``logits:yes``)."""
        value = self.value(params)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return f"{value:g}"


DELTA = Option(
    "delta",
    "--delta",
    "Huber's threshold between the quadratic and linear parts.",
    metavar="δ",
    examples=(1.0, 0.4, 2.5),
    positive=True,
)
LOGITS = Option(
    "logits",
    "--logits",
    "Predictions are raw scores (softmax/sigmoid applied stably).",
    examples=(False, True),
)
