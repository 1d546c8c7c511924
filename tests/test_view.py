"""`sim view`: what the page shows (sim.view.watch, without a browser), the command's refusals,
and the page itself in headless Chromium (stepped by its Step button)."""

from __future__ import annotations

import enum
import os
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import BASELINE, run_cli

from sim.cli.main import main
from sim.scenario.loading import resolve_raw
from sim.scenario.ranges import parse_ranges
from sim.view.watch import (
    STREET,
    WatchedRun,
    event_lines,
    grievance_by_week,
    model_events,
    parse_seed,
    records_events,
    rungs_by_week,
    seats_by_bloc,
    slider_specs,
    status_line,
)


# --------------------------------------------------------------------------- the event log
class Kind(enum.IntEnum):
    SESSION_HELD = 1
    RUNG_CHANGE = 2


@dataclass(frozen=True)
class StubEvent:
    """What sim.engine.events.Event will hold (the log is being added in parallel)."""

    week: int
    process: str
    kind: Kind
    text: str
    actors: tuple[str, ...] = ()
    values: dict[str, float] = field(default_factory=dict)


LOG = [
    StubEvent(5, "sessions", Kind.SESSION_HELD, "speaker session: 230 present"),
    StubEvent(6, "escalation", Kind.RUNG_CHANGE, "fatah climbs to clashes"),
    StubEvent(6, "escalation", Kind.RUNG_CHANGE, "the street climbs to protests"),
    StubEvent(9, "sessions", Kind.SESSION_HELD, "president session: 210 present"),
    StubEvent(10, "sessions", Kind.SESSION_HELD, "next week's session (not yet)"),
]


def test_event_lines_show_this_week_and_the_three_before_newest_first():
    lines = event_lines(LOG, week=9)
    assert lines == [
        "week 9  sessions  session held: president session: 210 present",
        "week 6  escalation  rung change: fatah climbs to clashes",
        "week 6  escalation  rung change: the street climbs to protests",
    ]  # weeks 6-9: week 5 is too old, week 10 has not happened


def test_event_lines_say_how_many_were_left_out():
    lines = event_lines(LOG, week=6, limit=2)
    assert lines[:2] == [
        "week 6  escalation  rung change: fatah climbs to clashes",
        "week 6  escalation  rung change: the street climbs to protests",
    ]
    assert lines[2] == "... and 1 earlier event(s) of these weeks"
    assert event_lines(LOG, week=30) == []


def test_a_model_without_an_event_log_has_an_empty_one():
    assert model_events(object()) == []

    class Logged:
        events = LOG

    assert model_events(Logged()) == LOG


# --------------------------------------------------------------------------- the run and controls
@pytest.fixture(scope="module")
def watched() -> WatchedRun:
    model = WatchedRun(str(BASELINE), seed="7")
    model.step()
    model.step()
    return model


def test_the_seed_box_text_is_a_seed_or_nothing():
    assert parse_seed(" 42 ") == 42
    assert parse_seed(str(2**63 - 1)) == 2**63 - 1
    for bad in ("", "abc", "-1", str(2**63), "1.5"):
        assert parse_seed(bad) is None


def test_a_bad_seed_or_slider_runs_the_fallback_and_says_so():
    model = WatchedRun(str(BASELINE), seed="abc", default_seed=3)
    assert model.seed == 3 and "seed 'abc' ignored" in model.notice
    model = WatchedRun(str(BASELINE), seed="5", **{"bargaining.no_such_value": 1.0})
    assert model.seed == 5 and model.overrides == {}
    assert "slider values refused" in model.notice and "bargaining.no_such_value" in model.notice


def test_only_the_sliders_that_moved_override_the_scenario():
    raw, _ = resolve_raw(BASELINE)
    office = raw["bargaining"]["office_value"]
    model = WatchedRun(
        str(BASELINE), seed="1", **{"bargaining.office_value": office, "grievance.decay": 0.07}
    )
    assert model.overrides == {"grievance.decay": 0.07} and model.notice == ""
    assert model.world.grievance.decay == pytest.approx(0.07)


def test_one_slider_a_range_starting_at_the_scenario_value():
    raw, origin = resolve_raw(BASELINE)
    ranges = parse_ranges(raw, origin, str(BASELINE))
    specs = slider_specs(ranges, raw)
    assert [s.key for s in specs] == [r.key for r in ranges]
    for spec in specs:
        assert spec.low <= spec.value <= spec.high
        assert 50 <= (spec.high - spec.low) / spec.step <= 500


def test_the_charts_data_are_by_week_not_by_step(watched):
    start = watched.scenario.clock.start_week
    assert watched.week == start + 2 and watched.steps == 2
    rungs = rungs_by_week(watched)
    assert list(rungs.columns) == [start, start + 1, start + 2]
    assert rungs.index[-1] == STREET and rungs.isin(range(6)).all().all()
    grievance = grievance_by_week(watched)
    assert list(grievance.index) == [start, start + 1, start + 2]
    assert list(grievance.columns) == [f.name for f in watched.factions]


def test_seats_by_bloc_add_up_to_parliament(watched):
    rows = seats_by_bloc(watched)
    assert sum(seats for _, seats, _ in rows) == watched.scenario.parliament.size
    assert [seats for _, seats, _ in rows] == sorted((s for _, s, _ in rows), reverse=True)
    blocs = {name for name, _, number in rows if number >= 0}
    assert blocs <= set(watched.compiled.bloc_names)


def test_the_status_line_names_the_week(watched):
    assert status_line(watched).startswith(f"Week {watched.week} since election day")


def test_the_models_own_event_log_reads_as_lines(watched):
    if not records_events():
        pytest.skip("this version of FormationModel keeps no event log")
    events = model_events(watched)
    assert events and {e.week for e in events} <= set(range(watched.week + 1))
    lines = event_lines(events, watched.week)
    assert lines and all(line.startswith("week ") for line in lines)


# --------------------------------------------------------------------------- the command
@pytest.mark.slow  # a subprocess, about 1 s
def test_sim_view_refuses_a_bad_scenario_in_one_line(make_scenario):
    bad = make_scenario("[patrons.iran]\nmediation = 1.5")
    proc = run_cli("view", str(bad))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "patrons.iran.mediation" in proc.stderr
    proc = run_cli("view", "no_such_file.toml")
    assert proc.returncode == 2 and "no_such_file.toml" in proc.stderr


def test_sim_view_without_the_viz_extra_says_how_to_install_it(monkeypatch, capsys):
    import sim.view.serve

    monkeypatch.setattr(sim.view.serve, "missing_viz", lambda: ["solara"])
    assert main(["view", str(BASELINE)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sim view: needs the viz extra") and ".[viz]" in err


def test_sim_view_refuses_a_port_in_use(capsys):
    pytest.importorskip("solara", reason="the viz extra is not installed")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["view", str(BASELINE), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


# --------------------------------------------------------------------------- in a browser
def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Generous waits (the first page of a server loads the compiled model), never asserted on.
PAGE_WAIT_MS = 240_000
CHARTS = "() => [...document.querySelectorAll('img')].filter(i => i.naturalWidth > 0).length"


@pytest.mark.slow  # a Solara server and a browser: about 30 s
def test_the_view_renders_in_chromium_and_the_step_button_advances_the_week(tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (the dev extra has it)"
    )
    pytest.importorskip("solara", reason="the viz extra is not installed (pip install '.[viz]')")
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    command = ["view", str(BASELINE), "--port", str(port), "--seed", "7"]
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.cli.main", *command],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        text=True,
        # a test run from a background shell ignores SIGINT; the user's terminal would not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        url = _served_url(server, tmp_path)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(url)
            # the status line, above the charts and in Mesa's "Information" card
            page.get_by_text("Week 4 since election day").first.wait_for(timeout=PAGE_WAIT_MS)
            # the three charts are PNGs that loaded; the event log is there
            page.wait_for_function(f"({CHARTS})() >= 3", timeout=PAGE_WAIT_MS)
            page.get_by_text("Event log, week 4").wait_for()
            assert page.get_by_text("Week 4 since election day").count() == 2
            assert page.get_by_label("seed (then Reset)").input_value() == "7"
            page.get_by_role("button", name="Step").click()
            page.get_by_text("Week 5 since election day").first.wait_for(timeout=PAGE_WAIT_MS)
            page.get_by_text("Event log, week 5").wait_for(timeout=PAGE_WAIT_MS)
            _screenshot(page, tmp_path)
            browser.close()
        server.send_signal(signal.SIGINT)  # Ctrl-C
        out, _ = server.communicate(timeout=60)
        assert server.returncode == 0
        assert out.rstrip().endswith("sim view: stopped")
    finally:  # on a failure: SIGTERM, so that `sim view` stops its own server too
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()


def _served_url(server: subprocess.Popen, tmp_path: Path) -> str:
    """The URL `sim view` prints once its server answers."""
    assert server.stdout is not None
    for line in server.stdout:
        if line.startswith("sim view: "):
            return line.split(" at ", 1)[1].split()[0]
    server.wait()
    pytest.fail(f"sim view ended ({server.returncode}): {(tmp_path / 'server.log').read_text()}")


def _screenshot(page, tmp_path: Path) -> None:
    """Into tmp_path; with SIM_VIEW_SCREENSHOT=FILE, after 20 more weeks, into FILE (how the
    README's picture, docs/view.png, is taken)."""
    page.screenshot(path=str(tmp_path / "view.png"), full_page=True)
    target = os.environ.get("SIM_VIEW_SCREENSHOT")
    if not target:
        return
    for week in range(6, 26):
        page.get_by_role("button", name="Step").click()
        page.get_by_text(f"Week {week} since election day").first.wait_for(timeout=PAGE_WAIT_MS)
    page.wait_for_timeout(2000)  # the last PNGs to arrive
    page.screenshot(path=target)
