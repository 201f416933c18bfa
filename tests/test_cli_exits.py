"""The CLI's exit codes for what is not a loss value: Ctrl-C, a closed pipe, a bug in lossctl, loss-name spelling.

Each failure is raised inside a command (by replacing :func:`lossctl.api.evaluate`,
which every loss command and ``check`` call), so the test exercises the CLI's
own handling, not the shell's.
"""

from __future__ import annotations

import json

import pytest

import lossctl.api


@pytest.fixture
def files(tmp_path):
    (tmp_path / "p.csv").write_text("0.5\n1.5\n")
    (tmp_path / "y.csv").write_text("0\n1\n")
    return str(tmp_path / "p.csv"), str(tmp_path / "y.csv")


def _raising(exc: BaseException):
    def evaluate(*args, **kw):
        raise exc

    return evaluate


def test_ctrl_c_inside_a_command_exits_130_without_a_traceback(cli, files, monkeypatch):
    monkeypatch.setattr(lossctl.api, "evaluate", _raising(KeyboardInterrupt()))
    result = cli("mse", *files)
    assert result.exit_code == 130
    assert result.stdout == "" and result.stderr.strip() == ""


def test_closed_pipe_inside_a_command_exits_0_quietly(cli, files, monkeypatch):
    monkeypatch.setattr(lossctl.api, "evaluate", _raising(BrokenPipeError()))
    result = cli("mse", *files)
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""


def test_a_bug_in_lossctl_is_one_internal_error_line_with_exit_2(cli, files, monkeypatch):
    monkeypatch.delenv("LOSSCTL_DEBUG", raising=False)
    monkeypatch.setattr(lossctl.api, "evaluate", _raising(ZeroDivisionError("boom")))
    result = cli("mse", *files)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        "error: internal error: ZeroDivisionError: boom (please report it; set LOSSCTL_DEBUG=1 for a traceback)\n"
    )


def test_a_bug_in_one_check_is_an_internal_error_row_and_the_others_still_run(cli, tmp_path, monkeypatch):
    for name, text in (("a.csv", "0.5\n1.5\n"), ("b.csv", "1\n1\n"), ("c.csv", "0\n1\n")):
        (tmp_path / name).write_text(text)
    (tmp_path / "y.csv").write_text("0\n1\n")
    real = lossctl.api.evaluate

    def evaluate(loss, predictions, *args, **kw):
        if predictions.endswith("b.csv"):
            raise ValueError("boom")
        return real(loss, predictions, *args, **kw)

    monkeypatch.setattr(lossctl.api, "evaluate", evaluate)
    files = [str(tmp_path / n) for n in ("a.csv", "b.csv", "c.csv")]
    result = cli("check", "mse", *files, "--labels", str(tmp_path / "y.csv"), "-f", "jsonl", "-j", "1")
    assert result.exit_code == 2
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["pass", "error", "pass"]
    assert [r["value"] for r in rows] == [0.25, None, 0.0]  # hand: ((p0 − 0)² + (p1 − 1)²) / 2
    assert rows[1]["message"] == "internal error: ValueError: boom (please report it)"
    assert result.stderr == "error: internal error: ValueError: boom (please report it)\n"


@pytest.mark.parametrize("spelling", ["MSE", "Mse", "MEAN_SQUARED_ERROR", "Mean-Squared-Error", "L2"])
def test_loss_names_are_case_insensitive_on_the_command_line(cli, files, spelling):
    expected = cli("mse", *files, "-f", "json")
    result = cli(spelling, *files, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected.stdout
    assert json.loads(result.stdout)["loss"] == "mse"


@pytest.mark.parametrize("spelling", ["MSE", "Mean_Squared_Error"])
def test_check_takes_any_spelling_of_the_loss(cli, files, spelling):
    result = cli("check", spelling, files[0], "--labels", files[1], "-f", "jsonl", "-j", "1")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["loss"] == "mse"


def test_ctrl_c_outside_typers_own_handling_also_exits_130(cli, monkeypatch):
    """typer turns an interrupt inside a command into exit 130 itself; lossctl's group catches the rest."""
    from typer.core import TyperGroup

    def interrupted(self, *args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(TyperGroup, "main", interrupted)
    result = cli("mse", "p.csv", "y.csv")
    assert result.exit_code == 130
    assert result.stdout == "" and result.stderr == "\n"
