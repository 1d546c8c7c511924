"""The variant scenarios drawn from the article: each extends the baseline, says what it asks,
overrides only what changes, loads, runs, and compares with the baseline run by run."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sim.batch.experiment import prepare
from sim.batch.results import load_results
from sim.batch.runner import run_batch
from sim.cli.main import main
from sim.scenario.loading import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
VARIANTS = [
    "iran_strong_guarantees",
    "us_withdraws_backing",
    "incumbent_killed",
    "sadrist_pm",
    "majority_ends_pmf",
    "turkey_steps_up",
]
IDENTITY = {"extends", "name", "description"}


def leaves(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out |= leaves(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_extends_baseline_and_overrides_only_what_changes(name):
    path = SCENARIOS / f"{name}.toml"
    text = path.read_text()
    assert text.startswith("# What if"), "the file opens with the question it asks"
    raw = tomllib.loads(text)
    assert raw["extends"] == "baseline.toml"
    baseline = leaves(tomllib.loads((SCENARIOS / "baseline.toml").read_text()))
    overrides = {k: v for k, v in leaves(raw).items() if k not in IDENTITY}
    assert overrides, "a variant changes something"
    for key, value in overrides.items():
        assert key in baseline, f"{key} is not a baseline parameter"
        assert baseline[key] != value, f"{key} repeats the baseline's value"
    scenario = load_scenario(path)
    assert scenario.name == name


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_runs(name, tmp_path):
    result = run_batch(prepare(SCENARIOS / f"{name}.toml", runs=8), tmp_path, workers=1, quiet=True)
    assert result.failed == 0
    runs = load_results(tmp_path)
    assert len(runs) == 8
    if name in ("incumbent_killed", "sadrist_pm"):  # he cannot be the prime minister
        assert not (runs["pm_kind"] == "incumbent").any()
    if name == "incumbent_killed":
        assert not runs["incumbent_survived"].any()


def test_variant_compares_with_baseline_on_common_random_numbers(tmp_path, capsys):
    dirs = []
    for name in ("baseline", "us_withdraws_backing"):
        out = tmp_path / name
        args = ["run", str(SCENARIOS / f"{name}.toml"), "--runs", "20", "--workers", "1"]
        assert main([*args, "--quiet", "--out", str(out)]) == 0
        dirs.append(str(out))
    capsys.readouterr()
    csv = tmp_path / "table.csv"
    assert main(["compare", *dirs, "--csv", str(csv)]) == 0
    printed = capsys.readouterr().out
    assert "us_withdraws_backing" in printed
    assert "paired: common random numbers (20 shared seeds)" in printed
    assert csv.is_file()
