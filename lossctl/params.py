"""Options that change a loss's value: the :class:`Params` of one computation, and the
:class:`Option` records that declare them, once per loss (a leaf module: imports nothing of lossctl).

(It imports only :mod:`lossctl.errors`, to raise a :class:`UsageError` for a bad flag value.)

A loss lists its options in ``register(..., options=(DELTA,))``; the CLI builds
its flags from them, the signature names them, and the registry tests try their
``examples``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .errors import UsageError


@dataclass(frozen=True)
class Params:
    """Options that change a loss's value."""

    logits: bool = False
    delta: float = 1.0
    #: ε of label smoothing: targets y(1−ε) + ε/C (C = K classes; 2 for bce)
    label_smoothing: float = 0.0
    #: rows labelled with this class index are left out of every sum and every divisor (sparse-cce)
    ignore_index: int | None = None
    #: one weight per class (cce, sparse-cce) or per output column (bce)
    class_weights: tuple[float, ...] | None = None
    #: the weight of the positive term of each output column (bce with --logits)
    pos_weight: tuple[float, ...] | None = None
    #: kld: the labels are log-probabilities log P
    log_target: bool = False
    #: poisson: the predictions are log-rates (PyTorch's default)
    log_input: bool = False
    #: poisson: add the Stirling approximation of log(y!) where y > 1, as PyTorch's full=True
    full: bool = False


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
    #: whether the signature names the option at its default value (new options: only when given)
    signed_default: bool = True
    #: how the CLI reads the flag's text when the default does not say: "int" or "floats" (a list or a FILE)
    parse_as: str = ""

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
        if value is None:
            return "none"
        if isinstance(value, tuple):
            return ",".join(f"{v:g}" for v in value)
        return f"{value:g}" if isinstance(value, float) else str(value)

    def parse(self, text):
        """The option's value from its flag or manifest text: ``3``, ``0.5,2``, a FILE of one number per
        line, ``yes``/``no`` for a switch; a value already parsed is returned as is."""
        if text is None or not isinstance(text, str):
            return self._checked(text)
        text = text.strip()
        if isinstance(self.default, bool):
            if text.lower() in ("yes", "true", "1", "y"):
                return True
            if text.lower() in ("no", "false", "0", "n", ""):
                return False
            raise UsageError(f"{self.flag} is a switch: give yes or no, not {text!r}")
        try:
            if self.kind == "int":
                return self._checked(int(text))
            if self.kind == "floats":
                return self._checked(_floats(text, self.flag))
            return self._checked(float(text))
        except ValueError:
            raise UsageError(f"{self.flag} takes {self.metavar}, not {text!r}") from None

    @property
    def kind(self) -> str:
        return self.parse_as or ("bool" if isinstance(self.default, bool) else "float")

    def _checked(self, value):
        if self.positive and value is not None and not 0 < value < float("inf"):  # also refuses nan
            raise UsageError(f"{self.flag} must be a finite number > 0, not {value:g}")
        if self.name == "label_smoothing" and not 0.0 <= value <= 1.0:
            raise UsageError(f"{self.flag} must be in [0, 1], not {value:g}")
        if self.kind == "floats" and value is not None:
            if not value or any(not math.isfinite(v) or v < 0 for v in value):
                raise UsageError(f"{self.flag} takes finite numbers ≥ 0, not {','.join(map(str, value))}")
        return value

    def signed(self, params: Params) -> bool:
        """Whether the signature names this option for ``params``."""
        return self.signed_default or self.value(params) != self.default


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


def _floats(text: str, flag: str) -> tuple[float, ...]:
    """``0.5,2,1`` or a FILE of one number per line (blank lines and ``#`` comments skipped)."""
    if os.path.isfile(text):
        try:
            with open(text, encoding="utf-8") as f:
                lines = [line.split("#")[0].strip() for line in f]
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{flag}: cannot read {text}: {e}") from None
        values = []
        for number, line in enumerate(lines, 1):
            if line:
                try:
                    values.append(float(line))
                except ValueError:
                    raise UsageError(f"{flag}: {text} line {number} is {line!r}, not a number") from None
        if not values:
            raise UsageError(f"{flag}: {text} holds no numbers (one number per line)")
        return tuple(values)
    return tuple(float(part) for part in text.split(","))


LABEL_SMOOTHING = Option(
    "label_smoothing",
    "--label-smoothing",
    "Smooth the targets: y(1−ε) + ε/C (C classes; 2 for bce), as Keras and PyTorch's label_smoothing.",
    metavar="ε",
    examples=(0.0, 0.2),
    signed_default=False,
)
IGNORE_INDEX = Option(
    "ignore_index",
    "--ignore-index",
    "Leave rows labelled with this class index out of every sum and divisor (PyTorch ignore_index, "
    "Keras ignore_class); it may be any integer, e.g. -100.",
    metavar="I",
    examples=(None, 1, -100),
    signed_default=False,
    parse_as="int",
)
CLASS_WEIGHTS = Option(
    "class_weights",
    "--class-weights",
    "One weight per class (per output column for bce), comma-separated or a FILE of one number per line "
    "(PyTorch weight=).",
    metavar="W0,W1,...|FILE",
    examples=(None, (1.5, 2.0, 2.5, 3.0, 1.25, 1.75, 2.25, 2.75, 3.5, 4.0)),  # all > 1: Σ w[y] ≠ N
    signed_default=False,
    parse_as="floats",
)
POS_WEIGHT = Option(
    "pos_weight",
    "--pos-weight",
    "Weight of the positive term, one number or one per output column (bce with --logits; PyTorch pos_weight).",
    metavar="P[,P...]",
    examples=(None, (3.0,)),
    signed_default=False,
    parse_as="floats",
)
LOG_TARGET = Option(
    "log_target",
    "--log-target",
    "The labels are log-probabilities log P (PyTorch kl_div log_target=True).",
    examples=(False, True),
    signed_default=False,
)
LOG_INPUT = Option(
    "log_input",
    "--log-input",
    "The predictions are log-rates: exp(ŷ) − y·ŷ (PyTorch PoissonNLLLoss's default log_input=True).",
    examples=(False, True),
    signed_default=False,
)
FULL = Option(
    "full",
    "--full",
    "Add the Stirling term y·log y − y + ½·log(2πy) where y > 1 (PyTorch PoissonNLLLoss full=True).",
    examples=(False, True),
    signed_default=False,
)

#: every option of every loss, in the order ``lossctl check`` lists their flags and manifest columns
ALL_OPTIONS = (LOGITS, DELTA, LABEL_SMOOTHING, IGNORE_INDEX, CLASS_WEIGHTS, POS_WEIGHT, LOG_TARGET, LOG_INPUT, FULL)
