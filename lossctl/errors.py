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
