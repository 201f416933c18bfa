"""The loss registry: one decorated function per loss, plus the facts about it.

A loss function takes a :class:`Chunk` (a chunk of aligned rows) and the
:class:`Params`, and returns its *finest separable granularity*:

* ``kind="element"``: element terms ``e[i, k]`` of shape ``(n, K)``; every
  averaging convention is a different divisor of their sum.
* ``kind="sample"``: one value per sample, shape ``(n,)``, for losses that do
  not split into element terms (cosine, categorical hinge).

Everything else (the CLI commands, ``lossctl list``/``explain``, the JSON, the
parametrized tests) reads the registry, so adding a loss is one decorated
function in :mod:`lossctl.losses`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..chunk import Chunk
from ..errors import UsageError
from ..frameworks import Framework
from ..params import Option, Params

Kind = Literal["element", "sample"]
Inner = Literal["mean", "sum"]
Labels = Literal["values", "indices"]


@dataclass(frozen=True)
class Loss:
    name: str
    terms: Callable[[Chunk, Params], np.ndarray]
    kind: Kind
    inner: Inner
    aliases: tuple[str, ...] = ()
    squared: bool = False
    labels: Labels = "values"
    #: the loss to switch to when the labels arrive as one column of class indices (cce -> sparse-cce)
    index_labels: str | None = None
    frameworks: tuple[Framework, ...] = ()
    validate: Callable[[Chunk, Params], None] | None = None
    #: suspicious-but-valid input: returns messages (templates naming {predictions}/{labels}); each is
    #: reported once in Report.notes, which the CLI prints as warnings on stderr
    warnings: Callable[[Chunk, Params], list[str]] | None = None
    expects: str = "predictions and labels of the same shape (N, K)"
    undefined: str = "the formula is undefined for these values"
    pitfalls: tuple[str, ...] = ()
    #: the options that change this loss's value (``--delta``, ``--logits``), declared once here
    options: tuple[Option, ...] = ()
    zero_at_perfect: bool = True
    #: valid random inputs ``(y_pred, y_true)`` of a shape, for the given params: what the registry-wide
    #: tests (frameworks, streaming, properties) feed this loss
    domain: Callable[..., tuple[np.ndarray, np.ndarray]] | None = field(default=None, repr=False)
    #: the fewest outputs (columns) the loss accepts
    min_outputs: int = 1
    #: applied to every convention value and framework value (element-wise to vectors): ``np.sqrt`` for
    #: rmse, whose terms are the squared errors and whose every convention is a root of theirs
    finish: Callable | None = None
    #: per option name, what it changes in this loss's terms and divisor, framework by framework (explain)
    option_docs: tuple[tuple[str, str], ...] = ()
    #: with --class-weights, the class_weighted_mean convention (÷ Σ w[y]) applies (cce, sparse-cce)
    class_weighted: bool = False

    @property
    def summary(self) -> str:
        return (self.terms.__doc__ or "").strip().splitlines()[0]

    @property
    def formula(self) -> str:
        """The docstring paragraphs after the summary, up to the doctest."""
        doc = textwrap.dedent("\n".join((self.terms.__doc__ or "").splitlines()[1:]))
        return doc.split(">>>")[0].strip()

    @property
    def primary(self) -> str:
        """The convention a framework's default reports: the mean of per-sample losses."""
        if self.kind == "element" and self.inner == "mean":
            return "mean"
        return "batch_mean"


LOSSES: dict[str, Loss] = {}
_ALIASES: dict[str, str] = {}


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def register(name: str, **facts) -> Callable[[Callable], Callable]:
    """Register the decorated term function as loss ``name`` with ``facts``."""

    def deco(fn: Callable) -> Callable:
        loss = Loss(name=name, terms=fn, **facts)
        if name in LOSSES:
            raise ValueError(f"loss {name!r} registered twice")
        LOSSES[name] = loss
        for alias in (name, *loss.aliases):
            _ALIASES[_key(alias)] = name
        return fn

    return deco


def get_loss(name: str) -> Loss:
    """Look a loss up by canonical name or alias (case-, ``_``/``-``-insensitive)."""
    canonical = _ALIASES.get(_key(name))
    if canonical is None:
        from ..errors import cell
        from ..suggest import did_you_mean

        hint = did_you_mean(name, [*LOSSES, *_ALIASES]) or f"; known losses: {', '.join(LOSSES)}"
        raise UsageError(f"unknown loss {cell(name)}{hint} (see 'lossctl list')")
    return LOSSES[canonical]


class DomainError(Exception):
    """A value outside the loss's domain; ``template`` names files as ``{predictions}`` etc.

    :func:`lossctl.compute.compute` fills in the file names and re-raises it as
    an :class:`~lossctl.errors.InputError`.
    """

    def __init__(self, template: str):
        super().__init__(template)
        self.template = template


def check_domain(chunk: Chunk, role: str, bad: np.ndarray, expected: str, hint: str = "") -> None:
    """Raise :class:`DomainError` naming the first row where ``bad`` holds.

    ``role`` is ``"predictions"``, ``"labels"`` or ``"weights"``; ``bad`` is a
    boolean mask of shape ``(n,)`` or ``(n, K)`` over that array.
    """
    if not bad.any():
        return
    values = {"predictions": chunk.y_pred, "labels": chunk.y_true, "weights": chunk.weights}[role]
    flat = np.flatnonzero(bad)[0]
    if bad.ndim == 2:
        row, col = divmod(int(flat), bad.shape[1])
        where = f"row {chunk.start + row + 1} column {col + 1}"
        found = values[row, col]
    else:
        row = int(flat)
        where = f"row {chunk.start + row + 1}"
        found = values[row]
    found_text = f"{found:g}" if isinstance(found, float | np.floating) else str(found)
    tail = f" ({hint})" if hint else ""
    raise DomainError(f"{expected}; {{{role}}} {where} has {found_text}{tail}")
