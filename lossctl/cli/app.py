"""The Typer app, its error and signal policy, and :func:`main` (the only place that exits).

The commands register themselves on :data:`app` from :mod:`.loss` (one per registered
loss), :mod:`.info` (list, explain), :mod:`.check` and :mod:`.compare`; importing
:mod:`lossctl.cli` imports them all, in the order ``--help`` lists them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import types
import warnings
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

try:  # typer >= 0.20 vendors its own copy of click
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exc

from .. import __version__
from ..errors import LossctlError, UsageError, one_line
from ..losses import get_loss

EXIT_OK, EXIT_THRESHOLD, EXIT_INPUT = 0, 1, 2


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _diagnostic(kind: str, message: str) -> None:
    """One line on stderr; control characters escaped (it stays one line); a closed stderr is not an error."""
    try:
        sys.stderr.write(f"{kind}: {one_line(message)}\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):  # stderr closed (2>&-) or gone: the exit code still tells
        pass


def error(message: str) -> None:
    """Write one ``error:`` line to stderr."""
    _diagnostic("error", message)


def warn(message: str) -> None:
    _diagnostic("warning", message)


def fail(message: str) -> None:
    """Write one ``fail:`` line to stderr: a --max/--min bound was crossed (exit code 1)."""
    _diagnostic("fail", message)


# --------------------------------------------------------------------------- signals and output streams


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived: unwinds like Ctrl-C (removing temporary files), exits 128 + n."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: the signals that end lossctl cleanly: the per-sample temporary file removed, exit code 128 + n
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


#: the stop signal received, if any (typer turns the exception into a plain exit code 130 on its way out)
_received: list[int] = []


def _on_signal(signum: int, frame) -> None:
    for s in STOP_SIGNALS:  # a second signal must not interrupt the clean-up of the first
        signal.signal(s, signal.SIG_IGN)
    _received.append(signum)
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    """One policy for INT, TERM and HUP: raise :class:`Interrupted`, so ``finally`` blocks run."""
    for s in STOP_SIGNALS:
        signal.signal(s, _on_signal)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `lossctl ... | head` ends quietly


def _interrupted() -> NoReturn:
    from ..output import remove_temporary_files

    remove_temporary_files()  # in case the signal came between creating a temporary file and its cleanup
    sys.exit(128 + (_received[0] if _received else int(signal.SIGINT)))


def _silence_stdout() -> None:
    """Point the stdout descriptor at /dev/null, so the exit-time flush cannot fail a second time."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _output_failed(e: OSError) -> NoReturn:
    _silence_stdout()
    if isinstance(e, BrokenPipeError):  # the reader went away (`| head`): not an error
        sys.exit(EXIT_OK)
    error(f"cannot write the output to standard output ({e.strerror or e}); check the disk or the redirection")
    sys.exit(EXIT_INPUT)


def _finish(code: int) -> NoReturn:
    """Flush stdout (a full disk or a closed pipe shows here, not in Python's exit-time flush) and exit."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as e:
        _output_failed(e)
    sys.exit(code)


def _usage_message(e: click_exc.UsageError) -> str:
    from ..suggest import unknown

    message = e.format_message().rstrip(".")
    if message.startswith("No such command"):
        name = message.split("'")[1] if "'" in message else message
        root = e.ctx.find_root().command if e.ctx is not None else None
        names = [*(getattr(root, "commands", None) or {}), *_loss_aliases()]
        return unknown(
            "loss or command", name, names, "see 'lossctl list' for losses and 'lossctl --help' for commands"
        )
    if isinstance(e, click_exc.NoSuchOption) and e.ctx is not None:
        return _unknown_option(e.option_name, e.ctx)
    if e.ctx is not None and e.ctx.info_name and e.ctx.parent is not None:
        return f"{message} (see 'lossctl {e.ctx.info_name} --help')"
    return f"{message} (see 'lossctl --help')"


def _loss_aliases() -> list[str]:
    from ..losses import LOSSES

    return [alias for spec in LOSSES.values() for alias in spec.aliases]


def _unknown_option(option: str, ctx) -> str:
    """``--delta applies to huber only``, or the closest option this command has."""
    from ..losses import LOSSES
    from ..suggest import did_you_mean

    sub = ctx.parent is not None  # a command's option, not lossctl's own
    command = ctx.info_name if sub else "lossctl"
    see = f"see 'lossctl {command} --help'" if sub else "see 'lossctl --help'"
    elsewhere = [
        n for n, spec in LOSSES.items() if option.lstrip("-").replace("-", "_") in {o.name for o in spec.options}
    ]
    if elsewhere and sub:
        return f"{option} applies to {', '.join(elsewhere)} only, not {command} ({see})"
    here = [o for p in ctx.command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")]
    return f"unknown option {option!r} for {command}{did_you_mean(option, here) or ';'} {see}"


#: usage lines Typer cannot express: check's LOSS and PREDICTIONS are required unless --manifest is given
USAGE = {"check": ["[OPTIONS]", "LOSS PREDICTIONS... --labels LABELS"]}


def _usage_pieces(command, ctx) -> list[str]:
    """A command's usage: required arguments bare (``PREDICTIONS``), optional ones in brackets."""
    if command.name in USAGE:
        return list(USAGE[command.name])
    pieces = type(command).collect_usage_pieces(command, ctx)
    return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]  # Typer writes {REQUIRED}


class LossctlGroup(TyperGroup):
    """Translate every failure into one ``error:`` line and an exit code, never a traceback."""

    def get_command(self, ctx, cmd_name: str):  # type: ignore[override]
        command = super().get_command(ctx, cmd_name)
        if command is None:  # an alias or another spelling of a loss: `lossctl MAE`, `lossctl l1`
            try:
                command = super().get_command(ctx, get_loss(cmd_name).name)
            except UsageError:
                return None
        command.collect_usage_pieces = types.MethodType(_usage_pieces, command)
        return command

    def format_commands(self, ctx, formatter) -> None:  # type: ignore[override]
        """The commands (list, explain, check) first, then the losses."""
        from ..losses import LOSSES

        width = formatter.width - 6 - max(len(n) for n in self.commands)
        rows = {True: [], False: []}
        for name in self.list_commands(ctx):
            command = self.commands[name]
            if not command.hidden:
                rows[name in LOSSES].append((name, command.get_short_help_str(width)))
        with formatter.section("Commands"):
            formatter.write_dl(rows[False])
        with formatter.section("Losses (lossctl LOSS PREDICTIONS [LABELS]; aliases too, see 'lossctl list')"):
            formatter.write_dl(rows[True])

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        try:
            rv = super().main(args, prog_name or "lossctl", complete_var, standalone_mode=False, **extra)
        except click_exc.NoArgsIsHelpError as e:
            print(e.ctx.get_help() if e.ctx else "")
            _finish(EXIT_OK)
        except click_exc.UsageError as e:
            error(_usage_message(e))
            sys.exit(EXIT_INPUT)
        except click_exc.ClickException as e:
            error(e.format_message())
            sys.exit(EXIT_INPUT)
        except LossctlError as e:
            error(str(e))
            sys.exit(EXIT_INPUT)
        except (typer.Abort, KeyboardInterrupt):  # typer turns KeyboardInterrupt into Abort or exit code 130
            _interrupted()
        except OSError as e:
            if e.errno in _OUTPUT_ERRNOS or isinstance(e, BrokenPipeError):
                _output_failed(e)
            self._internal(e)
        except MemoryError:
            error(
                "ran out of memory; give a smaller --chunk-rows, raise the memory limit, "
                "or split the input into smaller files"
            )
            sys.exit(EXIT_INPUT)
        except Exception as e:  # a bug in lossctl: still one line, unless debugging
            self._internal(e)
        if _received:
            _interrupted()
        _finish(rv if isinstance(rv, int) else EXIT_OK)

    @staticmethod
    def _internal(e: Exception) -> NoReturn:
        if os.environ.get("LOSSCTL_DEBUG"):
            raise e
        error(f"internal error: {type(e).__name__}: {e} (please report it; set LOSSCTL_DEBUG=1 for a traceback)")
        sys.exit(EXIT_INPUT)


#: errno values of a write to standard output that failed for reasons outside lossctl
_OUTPUT_ERRNOS = {
    getattr(errno, n) for n in ("ENOSPC", "EPIPE", "EBADF", "EIO", "EFBIG", "EDQUOT") if hasattr(errno, n)
}


app = typer.Typer(
    cls=LossctlGroup,
    name="lossctl",
    help=(
        "Compute a loss under every averaging convention, side by side, and show what "
        "PyTorch, Keras and scikit-learn would report on the same arrays.\n\n"
        "Example: lossctl mse preds.csv labels.csv"
    ),
    no_args_is_help=True,
    subcommand_metavar="LOSS|COMMAND [ARGS]...",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        print(f"lossctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Compute a loss under every averaging convention, side by side."""


def default_format() -> str:
    """``table`` on a terminal, ``tsv`` when piped; ``LOSSCTL_FORMAT`` overrides both."""
    env = os.environ.get("LOSSCTL_FORMAT")
    if env:
        return env
    return "table" if sys.stdout.isatty() else "tsv"


def main() -> None:
    """Console-script entry point: the signal policy, closed streams, warnings kept off stderr."""
    install_signal_handlers()
    if sys.stdout is None:  # started with stdout closed (>&-)
        error("standard output is closed; redirect it to a file or to /dev/null instead of closing it")
        sys.exit(EXIT_INPUT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy's: never a source path on the user's stderr
            import numpy as np

            with np.errstate(all="ignore"):
                app()
    except KeyboardInterrupt:  # a signal outside the commands (importing numpy, Typer's set-up): quietly 128 + n
        _interrupted()
