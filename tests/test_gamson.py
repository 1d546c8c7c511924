"""Gamson's law: the per-list table and the pooled line on frames whose means are known by
hand, ``sim compare --gamson`` / ``--gamson-csv`` on synthetic batches, and the report's
section (a table and an embedded figure per batch).

Batches are synthetic (written as the simulator writes them: map columns in Parquet), so
the tests are exact and independent of the model's calibration."""

from __future__ import annotations

import base64
import importlib.util

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from test_compare import synthetic_runs, write_batch

import sim
from sim.analysis.compare import load_batches
from sim.analysis.gamson import format_gamson, gamson_fit, gamson_table, member_pairs
from sim.cli.main import main
from sim.report.gamson import CSV_COLUMNS

SHARES = pa.map_(pa.string(), pa.float64())
SEATS = {"sadrists": 73, "taqaddum": 37, "kdp": 31, "fatah": 17, "azm": 14, "puk": 17}
BONUS = 0.1


def hand_frame() -> pd.DataFrame:
    """Four runs: two governments (the formateur first, bonus 0.1), one without, one empty.

    Run 0: sadrists 0.6 and kdp 0.4 of the coalition's seats, the sadrists formateur:
    cabinet 0.9 * 0.6 + 0.1 = 0.64 and 0.9 * 0.4 = 0.36. Run 1: sadrists and fatah 0.5
    each, fatah formateur: 0.45 and 0.55. Cells as Parquet returns a map (a list of
    (key, value) tuples) and as dicts, mixed."""
    return pd.DataFrame(
        {
            "portfolios": [
                [("sadrists", 0.64), ("kdp", 0.36)],
                {"sadrists": 0.45, "fatah": 0.55},
                None,
                [],
            ],
            "seat_shares": [
                {"sadrists": 0.6, "kdp": 0.4},
                [("sadrists", 0.5), ("fatah", 0.5)],
                None,
                [],
            ],
        }
    )


def test_table_holds_each_lists_means_over_its_governments():
    table = gamson_table(hand_frame()).set_index("list")
    assert list(table.index) == ["sadrists", "fatah", "kdp"]  # most governments, then seats
    sadrists, fatah, kdp = (table.loc[n] for n in ("sadrists", "fatah", "kdp"))
    assert sadrists["governments"] == 2 and fatah["governments"] == kdp["governments"] == 1
    assert sadrists["seat_share"] == pytest.approx((0.6 + 0.5) / 2)
    assert sadrists["cabinet_share"] == pytest.approx((0.64 + 0.45) / 2)
    assert sadrists["difference"] == pytest.approx(0.545 - 0.55)
    assert sadrists["ratio"] == pytest.approx(0.545 / 0.55)
    assert sadrists["formateur"] == pytest.approx(0.5)  # formateur in run 0, not in run 1
    assert fatah["formateur"] == 1.0 and kdp["formateur"] == 0.0
    assert kdp["cabinet_share"] == pytest.approx(0.36) and kdp["ratio"] == pytest.approx(0.9)


def test_pooled_line_is_least_squares_over_every_member():
    x = np.array([0.6, 0.4, 0.5, 0.5])  # the four (run, list) pairs of hand_frame
    y = np.array([0.64, 0.36, 0.45, 0.55])
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    fit = gamson_fit(hand_frame())
    assert fit.pairs == 4 and fit.governments == 2
    assert fit.slope == pytest.approx(slope)
    assert fit.intercept == pytest.approx(y.mean() - slope * x.mean())
    residual = y - (slope * x + y.mean() - slope * x.mean())
    r2 = 1 - (residual**2).sum() / ((y - y.mean()) ** 2).sum()
    assert fit.r_squared == pytest.approx(r2)
    assert sim.gamson_fit(hand_frame()) == fit  # the same functions from the package


def test_exact_gamson_shares_give_slope_one_and_no_formateur():
    seats = [{"a": 0.7, "b": 0.3}, {"a": 0.2, "c": 0.5, "d": 0.3}]
    frame = pd.DataFrame({"portfolios": seats, "seat_shares": seats})
    fit = gamson_fit(frame)
    assert fit.slope == pytest.approx(1) and fit.intercept == pytest.approx(0, abs=1e-12)
    assert fit.r_squared == pytest.approx(1)
    table = gamson_table(frame)
    assert (table["formateur"] == 0).all() and np.allclose(table["ratio"], 1)
    assert not member_pairs(frame)["formateur"].any()


def test_no_government_is_an_empty_table_and_one_line():
    frame = pd.DataFrame({"portfolios": [None, []], "seat_shares": [None, []]})
    table = gamson_table(frame)
    assert table.empty and "governments" in table.columns
    assert np.isnan(gamson_fit(frame).slope)
    assert format_gamson(frame, "quiet") == "quiet: no government formed in any of its 2 runs"
    old = format_gamson(frame.drop(columns="seat_shares"), "old")
    assert old.startswith("old: its run table has no seat shares") and "\n" not in old


# --------------------------------------------------------------------------- synthetic batches
def shares_of(formed: np.ndarray, rng: np.random.Generator) -> tuple[list, list]:
    """Each formed run's coalition (two to four lists), its seat shares and its cabinet
    shares as the model gives them: (1 - bonus) x seat share, plus the bonus to the
    formateur (a random member)."""
    names = list(SEATS)
    cabinets, seat_shares = [], []
    for formed_here in formed:
        if not formed_here:
            cabinets.append([])
            seat_shares.append([])
            continue
        members = list(rng.choice(names, size=rng.integers(2, 5), replace=False))
        held = sum(SEATS[m] for m in members)
        formateur = members[rng.integers(len(members))]
        seat = {m: SEATS[m] / held for m in members}
        seat_shares.append(list(seat.items()))
        cabinets.append([(m, (1 - BONUS) * s + BONUS * (m == formateur)) for m, s in seat.items()])
    return cabinets, seat_shares


def batch_with_shares(path, draw_seed: int, name: str, seed: int, p_formed: float = 0.85):
    frame = synthetic_runs(200, draw_seed, batch_seed=seed, p_formed=p_formed)
    # the report's grievance fan reads this series (the synthetic runs lack it)
    frame["grievance_by_week"] = [[0.1] * len(w) for w in frame["escalation_by_week"]]
    write_batch(path, frame, name, seed=seed)
    part = next((path / "runs").glob("*.parquet"))
    cabinets, seat_shares = shares_of(frame["formed"].to_numpy(), np.random.default_rng(draw_seed))
    table = pq.read_table(part)
    table = table.append_column("portfolios", pa.array(cabinets, type=SHARES))
    table = table.append_column("seat_shares", pa.array(seat_shares, type=SHARES))
    pq.write_table(table, part)
    return path


@pytest.fixture
def batches(tmp_path):
    return [
        batch_with_shares(tmp_path / "a", 1, "baseline", seed=7),
        batch_with_shares(tmp_path / "b", 2, "variant", seed=8),
    ]


def test_compare_prints_each_batchs_table_and_fit(batches, capsys):
    assert main(["compare", *map(str, batches)]) == 0
    assert "Gamson" not in capsys.readouterr().out  # only when asked
    assert main(["compare", *map(str, batches), "--gamson"]) == 0
    out = capsys.readouterr().out
    for b in load_batches(batches, shares=True):
        table, fit = gamson_table(b.runs), gamson_fit(b.runs)
        block = out.split(f"(Gamson's law): {b.label},")[1].split("Gamson's law: slope 1")[0]
        assert f"{fit.governments} of {len(b.runs)} runs formed a government" in block
        for r in table.itertuples():  # each list with its means, as computed from the runs
            assert f"{r.seat_share:.3f}" in block and f"{r.cabinet_share:.3f}" in block
            assert r.list in block
        sign = "-" if fit.intercept < 0 else "+"
        assert f"= {fit.slope:.3f} x seat share {sign} {abs(fit.intercept):.3f}" in block
        # one formateur per government, found from the bonus alone
        assert (table["governments"] * table["formateur"]).sum() == pytest.approx(fit.governments)


def test_compare_writes_the_table_as_csv_and_says_so(batches, tmp_path, capsys):
    out = tmp_path / "gamson.csv"
    assert main(["compare", *map(str, batches), "--gamson-csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"Gamson table written to {out}" in printed and "Gamson's law" in printed
    csv = pd.read_csv(out)
    assert list(csv.columns) == CSV_COLUMNS
    loaded = load_batches(batches, shares=True)
    assert set(csv["scenario"]) == {b.label for b in loaded}
    for b in loaded:
        mine = csv[csv["scenario"] == b.label].drop(columns="scenario").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, gamson_table(b.runs), check_dtype=False)


def test_batch_without_governments_or_shares_is_one_line(tmp_path, capsys):
    none = batch_with_shares(tmp_path / "none", 3, "deadlock", seed=7, p_formed=0.0)
    old = write_batch(tmp_path / "old", synthetic_runs(50, 4, batch_seed=9), "old", seed=9)
    assert main(["compare", str(none), str(old), "--gamson"]) == 0
    out = capsys.readouterr().out
    assert "deadlock: no government formed in any of its 200 runs" in out
    assert "old: its run table has no cabinet shares and seat shares" in out
    assert "pooled fit" not in out


def test_gamson_options_in_help_and_one_line_errors(batches, tmp_path, capsys):
    assert main(["compare", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "--gamson " in help_text and "--gamson-csv" in help_text
    same = str(tmp_path / "t.csv")
    assert main(["compare", *map(str, batches), "--csv", same, "--gamson-csv", same]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the same file as --csv" in err[0]
    missing = str(tmp_path / "nowhere" / "g.csv")
    assert main(["compare", *map(str, batches), "--gamson-csv", missing]) == 2
    assert "--gamson-csv" in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()


# --------------------------------------------------------------------------- the report
@pytest.mark.slow  # a report with figures, about 1.5 s
def test_report_has_the_section_with_a_table_and_a_figure_per_batch(batches, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", *map(str, batches), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    section = text.split('<section id="gamson">')[1].split("</section>")[0]
    assert "Cabinet shares against seat shares (Gamson&#x27;s law)" in section
    for b in load_batches(batches, shares=True):
        assert f"<h3>{b.label}</h3>" in section
        for name in gamson_table(b.runs)["list"]:
            assert f'<td class="l">{name}</td>' in section
        uri = section.split(f'id="fig-gamson-{b.label}"><img src="')[1].split('"')[0]
        png = base64.b64decode(uri.removeprefix("data:image/png;base64,"), validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    spec = importlib.util.spec_from_file_location("check", ROOT / "scripts" / "check_report.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    problems, images = check.static_check(text)
    assert problems == [] and {"fig-gamson-baseline", "fig-gamson-variant"} <= set(images)
