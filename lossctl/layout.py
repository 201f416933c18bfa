"""Width-aware building blocks for the human views: text that never splits an identifier.

Rich wraps prose at spaces but folds a word longer than its column, which cuts
calls such as ``torch.from_numpy(y_pred)`` in two. :class:`Wrapped` breaks only
after a space, a comma or a ``|`` and keeps every token whole; :class:`FirstFit`
picks, at render time, the first layout whose narrowest form fits the width.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

_TOKENS = {",": re.compile(r"[^ ,]*,* *"), ",|": re.compile(r"[^ ,|]*[,|]* *")}


def group_digits(n: float | None) -> str:
    """A count with thousands separators (``10,000,000``); a non-integer keeps 6 significant digits."""
    if n is None:
        return ""
    return f"{int(n):,}" if float(n).is_integer() else f"{n:.6g}"


def plural(n: float, word: str, words: str | None = None) -> str:
    """``1 sample``, ``2 samples``, ``10,000,000 samples``."""
    return f"{group_digits(n)} {word if n == 1 else (words or word + 's')}"


def tokens(text: str, breaks: str = ",") -> list[str]:
    """``text`` cut after each space and comma (and ``|`` if ``breaks=",|"``): where a line may break."""
    return [t for t in _TOKENS[breaks].findall(text) if t]


def wrap(text: str, width: int, first: str = "", rest: str = "", breaks: str = ",") -> list[str]:
    """Greedy lines of at most ``width`` cells, prefixed ``first`` then ``rest``; tokens stay whole.

    A token that does not fit after its prefix goes on a full-width line of its own, unindented,
    and one wider than ``width`` stays whole (the line is longer than ``width``).

    >>> wrap("f(a, b)|g(c)", 6, breaks=",|")
    ['f(a,', 'b)|', 'g(c)']
    """
    lines: list[str] = []
    line, empty = first, True
    for tok in tokens(text.strip(), breaks):
        if not empty and cell_len(line + tok.rstrip()) > width:
            lines.append(line.rstrip())
            line, empty = rest, True
        if empty and cell_len(line + tok.rstrip()) > width:
            line = line.strip()  # a long token claims the whole line rather than overflow its indent
        line += tok
        empty = False
    lines.append(line.rstrip())
    return lines


class Wrapped:
    """A Rich renderable: :func:`wrap` at the width it is given, with a hanging indent."""

    def __init__(self, text: str, first: str = "", rest: str = "", style: str = "", breaks: str = ",") -> None:
        self.text, self.first, self.rest, self.style, self.breaks = text, first, rest, style, breaks

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in wrap(self.text, options.max_width, self.first, self.rest, self.breaks):
            yield Text(line, style=self.style, no_wrap=True, overflow="ignore")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        toks = [t.rstrip() for t in tokens(self.text.strip(), self.breaks)] or [""]
        narrow = max(cell_len(self.first + toks[0]), *(cell_len(self.rest + t) for t in toks))
        return Measurement(narrow, max(narrow, cell_len(self.first + self.text.strip())))


class FirstFit:
    """The first of ``layouts`` whose minimum width fits the console (else the last one)."""

    def __init__(self, *layouts) -> None:
        self.layouts = layouts

    def pick(self, console: Console, options: ConsoleOptions):
        unbounded = options.update(width=10_000)  # Measurement.get clamps to the width it is given
        for layout in self.layouts:
            if Measurement.get(console, unbounded, layout).minimum <= options.max_width and not _cut(
                console, options, layout
            ):
                return layout
        return self.layouts[-1]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.pick(console, options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.pick(console, options))


_ELLIPSIZED = re.compile(r"[^\s…]…")


def _cut(console: Console, options: ConsoleOptions, layout) -> bool:
    """Whether Rich had to ellipsize a no-wrap cell (a number) to render ``layout`` at this width."""
    lines = console.render_lines(layout, options, pad=False)
    return any(_ELLIPSIZED.search("".join(seg.text for seg in line)) for line in lines)
