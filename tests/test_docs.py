"""The README stays true: every quoted command output and every reading of one agrees with
what the code prints now (``scripts/readme_examples.py``, after sqlite-utils' test_docs).

The fast test runs the examples that need no batch and checks that a stale number is
caught; the slow one runs every example (a few batches, seconds on 2 cores)."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import ROOT

spec = importlib.util.spec_from_file_location(
    "readme_examples", ROOT / "scripts" / "readme_examples.py"
)
examples = importlib.util.module_from_spec(spec)
sys.modules["readme_examples"] = examples  # its dataclasses look their module up
spec.loader.exec_module(examples)
README = (ROOT / "README.md").read_text(encoding="utf-8")
CHEAP = [e.name for e in examples.EXAMPLES if e.cheap]


@pytest.fixture(scope="module")
def cheap():
    return examples.outputs(CHEAP)


def test_every_marked_block_is_an_example_and_every_example_is_quoted():
    assert set(examples.quoted(README)) == set(examples.BY_NAME)


def test_the_cheap_examples_and_readings_agree_with_the_code(cheap):
    made, said = cheap
    assert examples.stale(README, made, said) == []
    assert said["ranges"] in README  # the count of ranges the baseline declares


def test_a_planted_stale_number_fails(cheap):
    made, said = cheap
    planted = README.replace("above the limit of 20,000", "above the limit of 10,000", 1)
    planted = planted.replace(said["ranges"], "the baseline declares 26,", 1)
    problems = examples.stale(planted, made, said)
    assert len(problems) == 2
    assert problems[0].startswith("sweep-limit: the README's block is stale")
    assert "-error: scenarios/baseline.toml: sweep.samples" in problems[0]  # the diff
    assert "reading ranges: the README says 'the baseline declares 26,'" in problems[1]
    # --update writes the current text back
    assert examples.stale(examples.updated(planted, made, said), made, said) == []


def test_a_number_in_a_reading_that_the_output_no_longer_prints_fails():
    made = {"gamson": ["pooled fit: cabinet share = 1.265 x seat share - 0.049", "0.440"]}
    good = "Read: the bonus goes to 0.44 of it (slope 1.27, intercept -0.05), in 44%.\n\n"
    assert examples.unread(good, made) == []
    stale = good.replace("1.27", "1.31").replace("44%", "45%")
    assert examples.unread(stale, made) == [
        "reading gamson: 1.31 is not in the output now",
        "reading gamson: 45 is not in the output now",
    ]


@pytest.mark.slow  # every example: the batches behind them (about 10 s on 2 cores)
def test_every_readme_example_and_reading_is_current():
    made, said = examples.outputs([e.name for e in examples.EXAMPLES])
    assert examples.stale(README, made, said) + examples.unread(README, made) == []
    planted = README.replace("370 points x 10 replicates", "260 points x 10 replicates", 1)
    assert any(p.startswith("morris: the README's block is stale") for p in
               examples.stale(planted, made, said))  # fmt: skip
