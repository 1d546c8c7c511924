"""The command line takes its choices, defaults and limits from the library (issue 16): each
option's choice list is the very tuple the library checks against, so the two cannot drift."""

from __future__ import annotations

import argparse

import pytest

from sim.analysis.settings import CORRECTIONS, DEFAULT_SAMPLES, NUMERIC_TESTS, SENSITIVITY_METHODS
from sim.batch.settings import BACKENDS, DEFAULT_MAX_RUNS, MAX_CHUNK
from sim.cli.options import build_parser
from sim.scenario.settings import DESIGNS


def actions() -> dict[tuple[str, str], argparse.Action]:
    """(command, option) -> its argparse action, for every command of ``sim``."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = {}
    for name, p in sub.choices.items():
        for action in p._actions:
            for flag in action.option_strings:
                out[(name, flag)] = action
    return out


SOURCES = [
    ("run", "--backend", BACKENDS),
    ("sweep", "--backend", BACKENDS),
    ("sensitivity", "--backend", BACKENDS),
    ("sweep", "--method", DESIGNS),
    ("sensitivity", "--method", SENSITIVITY_METHODS),
    ("compare", "--correction", CORRECTIONS),
    ("compare", "--numeric-test", NUMERIC_TESTS),
    ("report", "--correction", CORRECTIONS),
    ("report", "--numeric-test", NUMERIC_TESTS),
]


@pytest.mark.parametrize(("command", "flag", "source"), SOURCES)
def test_each_choice_list_is_the_librarys(command, flag, source):
    action = actions()[(command, flag)]
    assert tuple(action.choices) == tuple(source)
    assert action.default == source[0]


def test_every_choice_list_of_the_command_line_has_a_source():
    """A choice list added to the command line without a library source fails here."""
    with_choices = {k for k, a in actions().items() if a.choices and k[1] != "--help"}
    assert with_choices <= {(c, f) for c, f, _ in SOURCES}, sorted(
        with_choices - {(c, f) for c, f, _ in SOURCES}
    )


def test_help_quotes_the_librarys_limits_and_defaults():
    found = actions()
    assert f"at most {MAX_CHUNK}" in found[("run", "--chunk-size")].help
    assert f"default {DEFAULT_MAX_RUNS}" in found[("run", "--max-runs")].help
    samples = found[("sensitivity", "--samples")].help
    assert all(f"default {n}" in samples for n in DEFAULT_SAMPLES.values())


def test_the_library_refuses_what_the_command_line_does_not_offer():
    from sim.analysis.compare import CompareError, compare

    with pytest.raises(CompareError, match="allowed holm, bh"):
        compare("a", "b", correction="bonferroni")
