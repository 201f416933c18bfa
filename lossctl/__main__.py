"""``python -m lossctl`` and the ``lossctl`` console script.

The signal guard is installed before the slow imports (typer, rich, numpy), so
Ctrl-C, SIGTERM or SIGHUP during start-up end lossctl quietly with 128 + n, never
with a traceback. Nothing is written before the commands run, so there is
nothing to clean up yet; :func:`lossctl.cli.main` then installs the policy that
unwinds (removing temporary files) for the rest of the run.
"""

import os
import signal

_STARTUP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _quit_during_startup(signum: int, frame) -> None:
    os._exit(128 + signum)


def main() -> None:
    """Guard start-up against signals, then run the command line."""
    for s in _STARTUP_SIGNALS:
        signal.signal(s, _quit_during_startup)
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # not when a spawned worker process imports this module
    main()
