"""The human table at any width: the answer first, numbers whole, identifiers never split."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from lossctl.layout import group_digits, plural, tokens, wrap

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
CASES = {
    "mse": ("mse", SAMPLE / "preds.csv", SAMPLE / "labels.csv"),
    "cce": ("cce", SAMPLE / "class_probs.csv", SAMPLE / "class_onehot.csv"),
    "huber": ("huber", SAMPLE / "regression_preds.csv", SAMPLE / "regression_labels.csv"),
    "mae": ("mae", SAMPLE / "regression_preds.csv", SAMPLE / "regression_labels.csv"),
}
NUMBER_CUT = re.compile(r"[\d.]…|…[\d.]")  # an ellipsis touching a digit: a number was cut


def table_at(cli, width: int, case: str, *extra: str) -> str:
    result = cli(*CASES[case], "-f", "table", *extra, env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def as_json(cli, case: str) -> dict:
    return json.loads(cli(*CASES[case], "-f", "json").stdout)


def joined(text: str) -> str:
    """The output with every line break (and the indent around it) read as one space."""
    return re.sub(r"[ \t]*\n[ \t]*", " ", text)


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("precision", [6, 17])
def test_numbers_whole_and_identifiers_unsplit_at_every_width(cli, width, case, precision):
    out = table_at(cli, width, case, "-p", str(precision))
    doc = as_json(cli, case)
    lines = out.splitlines()
    primary = next(c for c in doc["conventions"] if c["name"] == doc["primary"])
    assert lines[0].startswith(f"{doc['loss']} = {primary['value']:.{precision}g}   ({doc['primary']}: ÷ ")
    assert not NUMBER_CUT.search(out), out
    assert max(len(line) for line in lines) <= width, out
    words = set(out.split())
    for c in doc["conventions"]:
        if "value" in c:  # a vector has a summary instead
            assert f"{c['value']:.{precision}g}" in words, (c, out)
    for fw in doc["frameworks"]:
        assert fw["call"] in joined(out), (fw["call"], out)
        assert f"{fw['value']:.{precision}g}" in words
    assert doc["signature"] in re.sub(r"\|[ \t]*\n[ \t]*", "|", out)


@pytest.mark.parametrize("case", ["mse", "cce", "huber"])
def test_sample_outputs_fit_one_80_by_30_screen(cli, case):
    lines = table_at(cli, 80, case).splitlines()
    assert len(lines) <= 30, "\n".join(lines)
    assert max(map(len, lines)) <= 80


def test_first_line_names_the_convention_its_n_and_the_frameworks(cli):
    first = table_at(cli, 120, "mse").splitlines()[0]
    assert first == "mse = 0.0235   (mean: ÷ N·K = 20 elements; what PyTorch, Keras, scikit-learn report)"
    first = table_at(cli, 120, "cce").splitlines()[0]
    # PyTorch too: cross_entropy(torch.log(p), y) on probability targets (issue 11 part 3)
    assert first == "cce = 0.619235   (batch_mean: ÷ N = 4 samples; what PyTorch, Keras, scikit-learn report)"


def test_first_line_without_the_primary_convention(cli):
    out = table_at(cli, 80, "mse", "-c", "sum")
    assert out.splitlines()[0] == "mse = 0.47   (sum: ÷ 1)"
    out = table_at(cli, 80, "mse", "-c", "per_sample")
    assert out.splitlines()[0] == "mse per_sample = 0.01 … 0.037   (2 values, median 0.0235)"


def test_plurals_and_digit_grouping(cli):
    out = table_at(cli, 100, "huber")
    assert "5 samples × 1 output ·" in out and "1 value, median" in out and "1 values" not in out
    assert plural(1, "sample") == "1 sample" and plural(2, "sample") == "2 samples"
    assert plural(10_000_000, "element") == "10,000,000 elements"
    assert group_digits(1234567.0) == "1,234,567" and group_digits(2.5) == "2.5"


def test_big_counts_are_grouped_in_the_table():
    from lossctl import evaluate
    from lossctl.render import table

    report = evaluate("mse", str(SAMPLE / "preds.csv"), str(SAMPLE / "labels.csv"))
    conventions = tuple(
        replace(c, n={"N*K": 100_000_000, "N": 10_000_000}.get(c.divisor or "", c.n)) for c in report.conventions
    )
    report = replace(report, shape=(10_000_000, 10), conventions=conventions)
    console = Console(width=80, no_color=True, file=io.StringIO(), record=True)
    console.print(table(report))
    out = console.export_text()
    assert "(mean: ÷ N·K = 100,000,000 elements;" in out
    assert "10,000,000 samples × 10 outputs" in out and re.search(r"\b100,000,000\b", out.split("\n", 3)[3])


@given(st.text(alphabet="ab,| ", max_size=60), st.integers(1, 30), st.sampled_from([",", ",|"]))
def test_wrap_breaks_only_after_spaces_commas_and_bars(text, width, breaks):
    lines = wrap(text, width, "", "  ", breaks)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for tok in tokens(text.strip(), breaks):
        assert any(tok.rstrip() in line for line in lines)
    for line in lines:
        assert len(line) <= width or len(tokens(line.strip(), breaks)) == 1


def test_prose_keeps_bars_together_and_the_signature_breaks_at_them():
    assert wrap("divides by |y|)", 12) == ["divides by", "|y|)"]
    assert wrap("loss:mse|n:N*K", 10, breaks=",|") == ["loss:mse|", "n:N*K"]
