"""The command line: Typer commands, and the only place that prints or exits.

:mod:`.app` holds the app, its error and signal policy and :func:`main`; importing this
package registers the commands on it (:mod:`.loss`, :mod:`.info`, :mod:`.check`,
:mod:`.compare`), in the order ``--help`` lists them. The command modules import
:mod:`.app`, never this package, so there is no import cycle.
"""

from . import loss, info, check, compare  # noqa: F401,I001  (register the commands, in --help order)
from .app import EXIT_INPUT, EXIT_OK, EXIT_THRESHOLD, Interrupted, app, default_format, error, fail, main, warn

__all__ = [
    "EXIT_INPUT",
    "EXIT_OK",
    "EXIT_THRESHOLD",
    "Interrupted",
    "app",
    "default_format",
    "error",
    "fail",
    "main",
    "warn",
]
