"""Docs are tested: every loss and command is documented in the README and has help text."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lossctl.cli import app
from lossctl.losses import LOSSES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
COMMANDS = sorted({c.name for c in app.registered_commands if c.name and not c.hidden} - set(LOSSES))


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


VENV = "python3 -m venv .venv && . .venv/bin/activate && "  # PEP 668: a system Python may refuse pip install


def test_readme_gives_exactly_two_quick_start_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    install_and_run, test = commands
    assert install_and_run == VENV + "pip install . && lossctl mse sample_data/preds.csv sample_data/labels.csv"
    assert test == VENV + 'pip install ".[test]" && python -m pytest'


def test_ci_runs_the_readme_test_command_verbatim():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert quick_start_commands()[1] in lines
    assert lines[-1] == quick_start_commands()[1]  # the last command, so its exit code is CI's


def test_ci_keeps_torch_to_the_local_cpu_wheel_and_the_pin_loose():
    ci = (ROOT / ".ci" / "run").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"torch>=2.3"' in pyproject and "torch==" not in pyproject
    assert ci.index('pip install "torch==2.13.0"') < ci.index(quick_start_commands()[1])


def test_quick_start_run_command_works():
    run_part = quick_start_commands()[0].rsplit("&&", 1)[1].strip()
    assert run_part.startswith("lossctl ")
    proc = subprocess.run(run_part, shell=True, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "0.0235" in proc.stdout


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_is_in_the_readme_and_documented(name):
    loss = LOSSES[name]
    assert f"`{name}`" in README, f"README does not mention `{name}`"
    assert loss.summary and loss.formula, "the docstring needs a summary line and a formula"
    assert ">>>" in (loss.terms.__doc__ or ""), "the docstring needs a doctest with a hand-checked value"
    assert loss.pitfalls, "list the classic pitfalls for `lossctl explain`"
    help_text = CliRunner().invoke(app, [name, "--help"]).stdout
    assert loss.summary.split(":")[0] in help_text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme_and_has_help(command):
    assert f"lossctl {command}" in README
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Example: lossctl" in result.stdout


def test_every_convention_is_in_the_readme():
    from lossctl.conventions import CONVENTIONS

    for c in CONVENTIONS:
        assert f"`{c.name}`" in README, c.name
