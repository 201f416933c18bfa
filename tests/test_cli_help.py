"""--help: commands before losses, required arguments bare, the same placeholders everywhere."""

from __future__ import annotations

import re

import pytest

from lossctl.losses import LOSSES

COMMANDS = ["list", "explain", "check"]


def help_of(cli, *command: str) -> str:
    result = cli(*command, "--help", env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_commands_come_before_the_losses(cli):
    lines = help_of(cli).splitlines()
    first = {name: next(i for i, line in enumerate(lines) if line.split()[:1] == [name]) for name in COMMANDS}
    losses = [next(i for i, line in enumerate(lines) if line.split()[:1] == [name]) for name in LOSSES]
    assert max(first.values()) < min(losses)
    assert lines.index("Commands:") < min(first.values())
    assert any(line.startswith("Losses (lossctl LOSS PREDICTIONS [LABELS]") for line in lines)
    assert len(losses) == 16


@pytest.mark.parametrize(
    "command, usage",
    [
        ((), "Usage: lossctl [OPTIONS] LOSS|COMMAND [ARGS]..."),
        (("mse",), "Usage: lossctl mse [OPTIONS] PREDICTIONS [LABELS]"),
        (("huber",), "Usage: lossctl huber [OPTIONS] PREDICTIONS [LABELS]"),
        (("l2",), "Usage: lossctl l2 [OPTIONS] PREDICTIONS [LABELS]"),
        (("explain",), "Usage: lossctl explain [OPTIONS] LOSS"),
        (("list",), "Usage: lossctl list [OPTIONS]"),
        (("check",), "Usage: lossctl check [OPTIONS] LOSS PREDICTIONS... --labels LABELS"),
    ],
)
def test_usage_shows_required_arguments_as_required(cli, command, usage):
    assert help_of(cli, *command).splitlines()[0] == usage


@pytest.mark.parametrize("command", [*COMMANDS, *LOSSES])
def test_the_same_placeholders_in_every_command(cli, command):
    text = help_of(cli, command)
    assert not re.search(r"\{\w+\}|<(str|float|int|path)[^>]*>", text), text  # Typer's defaults: {ARG}, <str>
    if command in LOSSES:
        assert "PREDICTIONS" in text and "[LABELS]" in text and "--weights FILE" in text and "--max X" in text
    if command == "check":
        assert "--labels LABELS" in text and "-c, --convention NAME" in text and "--max X" in text
        assert "-f, --format FORMAT" in text


def test_missing_required_argument_is_one_error_line(cli):
    result = cli("mse")
    assert result.exit_code == 2 and "PREDICTIONS" in result.stderr and len(result.stderr.splitlines()) == 1
