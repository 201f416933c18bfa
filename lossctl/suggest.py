"""\"Did you mean\": the closest valid name to a misspelt one, for error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice most like ``name`` (case-, ``-``/``_``-insensitive), or None if none is close.

    >>> closest("mes", ["mse", "mae", "huber"])
    'mse'
    >>> closest("zzz", ["mse"]) is None
    True
    """
    options = list(dict.fromkeys(choices))
    keys = {_key(c): c for c in reversed(options)}  # the first spelling of a key wins
    match = difflib.get_close_matches(_key(name), list(keys), n=1, cutoff=cutoff)
    return keys[match[0]] if match else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'mse'?"`` for the closest choice, or ``""``.

    >>> "unknown loss 'mes'" + did_you_mean("mes", ["mse", "mae"])
    "unknown loss 'mes'; did you mean 'mse'?"
    """
    match = closest(name, choices)
    return f"; did you mean {match!r}?" if match else ""


def unknown(what: str, name: str, choices: Iterable[str], tail: str = "") -> str:
    """``unknown loss 'mes'; did you mean 'mse'?`` then ``tail`` as a sentence of its own.

    >>> unknown("format", "jsn", ["json", "csv"], "choose one of: json, csv")
    "unknown format 'jsn'; did you mean 'json'? choose one of: json, csv"
    >>> unknown("format", "x", ["json"], "choose one of: json")
    "unknown format 'x'; choose one of: json"
    """
    hint = did_you_mean(name, choices)
    return f"unknown {what} {name!r}" + (f"{hint} {tail}" if hint else f"; {tail}").rstrip("; ")


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")
