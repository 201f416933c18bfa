"""Exceptions raised by lossctl's core and I/O layers.

Only :mod:`lossctl.cli` turns them into an ``error:`` line and an exit code.
"""

from __future__ import annotations


class LossctlError(Exception):
    """Base class: a message meant for the user, ready to print after ``error:``."""


class InputError(LossctlError):
    """A file could not be read, or its contents do not fit the loss (exit code 2)."""


class UsageError(LossctlError):
    """The command line asks for something that does not exist (exit code 2)."""


# --------------------------------------------------------------------------- untrusted text in messages
#
# File names, .npz keys, header and manifest cells come from files and folders lossctl does not
# control. Every message that shows one goes through these helpers, so a name holding a newline
# cannot make a second ``error:`` line, an escape sequence never reaches the terminal, and a huge
# list or cell never becomes a huge line.

#: the longest name shown whole; longer ones are cut in the middle
NAME_LIMIT = 160
#: the longest cell (header or manifest cell, a value that is not a number) shown
CELL_LIMIT = 40
#: how many items of a list are shown before "… and N more"
LIST_LIMIT = 20


def escape(text: str) -> str:
    r"""``text`` with every control or unprintable character escaped, as ``repr`` writes it.

    >>> escape("a\nb\x1b[31m.csv")
    'a\\nb\\x1b[31m.csv'
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def name(text: str, limit: int = NAME_LIMIT) -> str:
    """A file name, key or column name as safe to show: escaped, and cut in the middle when very long."""
    text = escape(str(text))
    if len(text) > limit:
        half = limit // 2
        return f"{text[:half]}…{text[-half:]}"
    return text


def column(text: str) -> str:
    """A column name (a header cell) shown unquoted in a list: escaped, at most about :data:`CELL_LIMIT` long."""
    return name(text, CELL_LIMIT)


def cell(text: str) -> str:
    """A cell's contents quoted (``repr``-style), at most :data:`CELL_LIMIT` characters of it.

    >>> cell("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (100 characters)"
    """
    text = str(text)
    if len(text) <= CELL_LIMIT:
        return repr(text)
    return f"{text[:CELL_LIMIT] + '…'!r} ({len(text):,} characters)"


def listing(items, limit: int = LIST_LIMIT, show=name) -> str:
    """``a, b, c`` of at most ``limit`` items, each shown safely, then ``… and 19,990 more``.

    >>> listing([str(i) for i in range(25)], limit=3)
    '0, 1, 2 … and 22 more'
    """
    items = list(items)
    shown = ", ".join(show(i) for i in items[:limit])
    return shown if len(items) <= limit else f"{shown} … and {len(items) - limit:,} more"


def one_line(message: str) -> str:
    """``message`` with any control character escaped: whatever it quotes, it stays one line."""
    return escape(message)
