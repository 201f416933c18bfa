"""`lossctl list` and `lossctl explain` at any width: names whole, bullets with hanging indents."""

from __future__ import annotations

import re

import pytest

from lossctl.losses import LOSSES


def run(cli, width: int, *args: str) -> str:
    result = cli(*args, env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def joined(text: str) -> str:
    return re.sub(r"[ \t]*\n[ \t]*", " ", text)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_list_keeps_every_alias_whole(cli, width):
    out = run(cli, width, "list")
    assert max(map(len, out.splitlines())) <= width
    words = joined(out).replace(",", " ").split()
    for loss in LOSSES.values():
        assert loss.name in words
        for alias in loss.aliases:
            assert alias in words, (alias, out)
    assert "(MAPE divides by |y|)" in joined(out)


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_explain_keeps_api_names_whole_and_indents_bullets(cli, width, name):
    out = run(cli, width, "explain", name)
    loss = LOSSES[name]
    flat = joined(out)
    for fw in loss.frameworks:
        assert fw.api in flat, (fw.api, out)
    for alias in loss.aliases:
        assert alias in flat
    lines = out.splitlines()
    longest = max(len(t) for fw in loss.frameworks for t in re.split(r"(?<=,) ", fw.api)) if loss.frameworks else 0
    assert all(len(line) <= max(width, longest + 2) for line in lines), out
    pitfalls = lines[lines.index("Pitfalls:") + 1 :]
    bullets = [i for i, line in enumerate(pitfalls) if line.startswith("  • ")]
    assert len(bullets) == len(loss.pitfalls)
    for i in range(bullets[0], bullets[-1]):  # every line of a bullet after its first hangs under its text
        assert pitfalls[i].startswith(("  • ", "    ")), pitfalls[i]
