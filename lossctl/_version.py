"""lossctl's version (a leaf module: the core reads it without importing the package).

A literal, kept equal to ``pyproject.toml``'s ``version`` (tests/test_cli_vectors.py checks it),
so a source tree reports its own version even where an older install's metadata says otherwise.
"""

from __future__ import annotations

__version__ = "0.2.0"
