"""One run, explained: replay it from its seed, check it against its batch, and tell its story.

``explain(source, run_id)`` takes a batch directory and a run id; ``explain(scenario,
seed=S)`` a scenario file and a seed. It re-runs the run with its event log on
(``FormationModel``, the batch's own compiled week), compares the new row with the stored
one, and returns an ``Explanation``: the events, each faction's weekly grievance and rung,
a week-by-week timeline of what mattered, and a short "why" built from the events.
The scenario comes from the batch's manifest (the merged scenario the batch ran, and the
run's sweep point), so a run can be explained after its file has changed.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis.labels import actor_labels, words_for_ids
from sim.engine.assembly import Scenario
from sim.engine.enums import EscalationLevel, PMFStatus, Stage
from sim.engine.events import ACCEPTS, MARGIN_TERMS, REFUSES, STAYS_AWAY, Event, rung_name
from sim.scenario.loading import ScenarioError, load_scenario, validate


class ExplainError(ValueError):
    """A run that cannot be explained: no such run id, or not a batch directory."""


@dataclass
class Explanation:
    """A replayed run: its events, weekly series, rows, and whether it matches its batch."""

    scenario: str
    seed: int
    run_id: int | None
    row: dict[str, Any]
    stored: dict[str, Any] | None  # the batch's row (None without a batch)
    mismatches: list[str]  # columns where the replay differs from the stored row
    events: list[Event]
    series: dict[str, Any]
    lists: list[str] = field(default_factory=list)
    #: what a reader calls each faction and bloc (the events keep the ids)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        run = f", run {self.run_id}" if self.run_id is not None else ""
        return f"{self.scenario}, seed {self.seed}{run}"

    @property
    def matches_table(self) -> bool | None:
        return None if self.stored is None else not self.mismatches

    def timeline(self) -> str:
        return timeline(self)

    def why(self) -> str:
        return why(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "seed": self.seed,
            "scenario": self.scenario,
            "matches_table": self.matches_table,
            "mismatches": self.mismatches,
            "why": self.why(),
            "events": [e.to_json() for e in self.events],
            "series": self.series,
            "row": _plain(self.row),
        }

    def plot(self, path: str | Path) -> Path:
        from sim.analysis.explanation_plot import plot_run

        check_plot_path(path)
        return plot_run(self, Path(path))


def check_plot_path(path: str | Path) -> None:
    """``--plot``: a PNG file we can write (checked before the replay, so a bad path never
    fails after the timeline has printed). The name must end in .png: matplotlib picks the
    format from it, and a name without one (a folder) would become NAME.png."""
    from sim.batch.outputs import check_file_writable

    if Path(path).suffix.lower() != ".png":
        raise ExplainError(f"--plot {path}: the plot is a PNG image (name it *.png)")
    check_file_writable(path, "--plot", ExplainError, make_parents=True)


# --------------------------------------------------------------------------- replaying
def _scenario_of_batch(out: Path, run_id: int) -> tuple[Scenario, int, dict[str, Any]]:
    """The scenario a batch's run ran (its sweep point applied), its seed and stored row."""
    import pyarrow.dataset as ds

    from sim.batch.outputs import ResultsError
    from sim.batch.results import dataset, load_manifest
    from sim.scenario.sweep import build_points

    try:
        manifest = load_manifest(out)
        table = dataset(out).to_table(filter=ds.field("run_id") == run_id)
    except ResultsError as exc:
        raise ExplainError(str(exc)) from None
    if table.num_rows == 0:
        raise ExplainError(f"{out}: no run with run_id {run_id} in the batch")
    stored = table.slice(0, 1).to_pylist()[0]
    if not isinstance(manifest.get("scenario"), dict):
        raise ExplainError(f"{out}/manifest.json: no 'scenario' snapshot to replay the run from")
    raw, file = manifest["scenario"], manifest.get("scenario_path") or str(out)
    point = stored.get("point")
    values = (manifest.get("sweep") or {}).get("points") or []
    if point is not None and values:
        scenario = build_points(raw, [values[point]], {}, file)[0].scenario
    else:
        scenario = validate(raw, {}, file)
    return scenario, int(stored["seed"]), stored


def explain(source: str | Path, run_id: int | None = None, seed: int | None = None) -> Explanation:
    """Replay one run with its event log: ``explain(DIR, RUN_ID)`` for a batch's run,
    ``explain(SCENARIO, seed=S)`` for a scenario file and a seed."""
    from sim.mesa.model import FormationModel

    source = Path(source)
    stored = None
    if source.is_dir():
        if run_id is None:
            raise ExplainError(f"{source}: a batch directory needs a run id")
        scenario, seed, stored = _scenario_of_batch(source, int(run_id))
    else:
        if seed is None:
            raise ExplainError(f"{source}: a scenario file needs --seed")
        scenario = load_scenario(source)
    model = FormationModel(scenario, seed=seed, record_series=False)
    weeks = [model.week]
    grievance = [model.state.grievance.copy()]
    rungs = [model.state.levels.copy()]
    while model.running:
        model.step()
        weeks.append(model.week)
        grievance.append(model.state.grievance.copy())
        rungs.append(model.state.levels.copy())
    names = list(model.compiled.names)
    series: dict[str, Any] = {
        "week": weeks,
        "grievance": {n: [round(float(g[i]), 4) for g in grievance] for i, n in enumerate(names)},
        "rung": {n: [int(r[i]) for r in rungs] for i, n in enumerate(names)},
        "street_rung": [int(r[-1]) for r in rungs],
    }
    row = model.outcome()
    mismatches = [] if stored is None else _differences(row, stored)
    return Explanation(
        scenario=scenario.name, seed=int(seed), run_id=run_id, row=row, stored=stored,
        mismatches=mismatches, events=model.events, series=series, lists=names,
        labels=actor_labels(scenario, patrons=False),
    )  # fmt: skip


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _differences(row: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """Outcome columns where the replay's row differs from the batch's."""
    return [k for k, v in row.items() if k in stored and not _same(v, stored[k])]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


# --------------------------------------------------------------------------- the story
#: Events the timeline shows as they are; answers and casualties are summarised per week.
_SHOWN = {
    "parliament_sits", "offer_planned", "session",
    "president_elected", "nominee_charged", "confidence_vote",
    "nominee_failed", "government_formed", "rung_change",
    "attack", "pmf_move", "walk_out", "walk_back", "scenario_event",
}  # fmt: skip


def _by_week(events: list[Event]) -> dict[int, list[Event]]:
    weeks: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        weeks[e.week].append(e)
    return weeks


def _refusals(week: list[Event]) -> list[Event]:
    """The week's answers that went against the package: stays-away at a session, or
    refusals in the cabinet talks."""
    return [
        e for e in week
        if e.kind == "answer" and e.values["answer"] in (STAYS_AWAY, REFUSES)
    ]  # fmt: skip


def _main_term(e: Event) -> str:
    term = min(MARGIN_TERMS, key=lambda t: e.values[t])  # the most negative term
    return term.replace("_", " ")


def _best_term(e: Event) -> str:
    return max(MARGIN_TERMS, key=lambda t: e.values[t])  # the most positive term


def timeline(ex: Explanation) -> str:
    """Week by week, the events that mattered (answers summarised at sessions and votes)."""
    lines = [
        f"{ex.scenario}, seed {ex.seed}" + (f", run {ex.run_id}" if ex.run_id is not None else "")
    ]
    for week, events in sorted(_by_week(ex.events).items()):
        shown = [e.text for e in events if e.kind in _SHOWN]
        kinds = {e.kind for e in events}
        if kinds & {"session", "confidence_vote", "nominee_failed"}:
            against = _refusals(events)
            if against:
                names = ", ".join(f"{e.actors[0]} ({_main_term(e)})" for e in against[:6])
                more = f" and {len(against) - 6} more" if len(against) > 6 else ""
                verb = "stayed away" if "session" in kinds else "refused"
                shown.append(f"{verb}: {names}{more}")
        switches = [e for e in events if e.kind == "bloc_switch"]
        if switches:
            shown.append(
                f"{len(switches)} bloc move(s): " + "; ".join(e.text for e in switches[:3])
            )
        dead = sum(e.values["dead"] for e in events if e.kind == "casualties")
        if dead:
            shown.append(f"{dead:.0f} killed in the week's violence")
        if shown:
            lines.append(f"week {week:>3}: " + shown[0])
            lines += [f"          {s}" for s in shown[1:]]
    return words_for_ids("\n".join(lines), ex.labels)


def _government_story(ex: Explanation) -> str:
    row, events = ex.row, ex.events
    if not row.get("formed"):
        failed = [e for e in events if e.kind == "session" and not e.values["quorum_met"]]
        stage = "the speaker's or president's sessions" if failed else "the cabinet talks"
        reasons = Counter(_main_term(e) for e in events if e in _refusals(events))
        cause = f", mostly on {reasons.most_common(1)[0][0]}" if reasons else ""
        end = row.get("final_week")
        return f"No government formed by week {end}: the contest stalled at {stage}{cause}."
    formed = next(e for e in events if e.kind == "government_formed")
    vote = [e for e in events if e.kind == "confidence_vote" and e.week == formed.week]
    answers = [e for e in events if e.kind == "answer" and e.week == formed.week]
    yes = [e for e in answers if e.values["answer"] == ACCEPTS]
    pulled = Counter(_best_term(e) for e in yes)
    no = [e for e in answers if e.values["answer"] == REFUSES]
    held = Counter(_main_term(e) for e in no)
    held_sessions = [
        e for e in events if e.kind == "session" and e.values["stage"] == Stage.PRESIDENT
    ]
    sessions = len(held_sessions)
    failures = sum(1 for e in held_sessions if not e.values["quorum_met"])
    nominees = sum(1 for e in events if e.kind == "nominee_charged")
    text = f"{formed.text[0].upper()}{formed.text[1:]} in week {formed.week}"
    if vote:
        text += f", with {vote[-1].values['yes']:.0f} votes"
    text += (
        f". The president's election took {sessions} session(s) ({failures} without a quorum)"
        f"; {nominees} nominee(s) were charged."
    )
    if pulled:
        term, k = pulled.most_common(1)[0]
        text += (
            f" Its {len(yes)} partners were won mostly by {term.replace('_', ' ')} ({k} of them)"
        )
        if held:
            t2, k2 = held.most_common(1)[0]
            text += f"; the {len(no)} who refused were held back mostly by {t2} ({k2})"
        text += "."
    return text


def _escalation_story(ex: Explanation) -> str:
    top = int(ex.row.get("max_escalation") or 0)
    climbs = [
        e for e in ex.events
        if e.kind == "rung_change"
        and e.values["to_rung"] == top and e.values["from_rung"] < top
    ]  # fmt: skip
    name = f"{top} ({rung_name(top)})"
    if not climbs:
        return f"The highest rung was {name}, held from the start: no actor climbed to it."
    first = climbs[0]
    v = first.values
    drivers = {
        "grievance": v["grievance"],
        "armed capability": v["capability"],
        "its resolve in this run": v.get("resolve", 0.0),
    }
    main = max(drivers, key=lambda k: drivers[k])
    at = ex.events.index(first)
    before = [
        e for e in ex.events[:at]  # what happened in the two weeks before, up to the climb
        if e.week >= first.week - 2 and e.kind in _CONTEXT
    ]  # fmt: skip
    context = f" It followed: {before[-1].text} (week {before[-1].week})." if before else ""
    reached = (
        f"{len({e.actors[0] for e in climbs})} actor(s)" if len(climbs) > 1 else first.actors[0]
    )
    text = (
        f"The highest rung was {name}, first reached by {first.actors[0]} in week {first.week}: "
        f"pressure {v['pressure']:+.2f}, driven by {main} ({drivers[main]:+.2f}), against "
        f"deterrence {v['deterrence']:.2f} and patrons' restraint {v['restraint']:.2f}."
    )
    if len(climbs) > 1:
        text += f" {reached} reached it in all."
    if top == EscalationLevel.ARMED_CONFLICT:
        led = [e for e in _key_events(ex.events) if e.week <= first.week and e is not first]
        led += [
            e for e in ex.events[:at]  # the armed camp on the other side, mobilised
            if e.kind == "rung_change" and e.values["to_rung"] >= 3
            and e.values["from_rung"] < e.values["to_rung"] and e.actors[0] != first.actors[0]
            and first.week - 4 <= e.week <= first.week
        ][-1:]  # fmt: skip
        if led:
            return (
                text
                + " It was led up to by "
                + "; ".join(
                    f"{_headline(e)} (week {e.week})" for e in sorted(led, key=ex.events.index)
                )
                + "."
            )
    return text + context


def _key_events(events: list[Event]) -> list[Event]:
    """The events that mattered most, as they happened: a strike on the incumbent (the
    killing, or the first failed one), each walk-out, each move against the PMF, and the
    first climb to armed conflict."""
    out, attacked, conflict = [], False, False
    for e in events:
        if e.kind == "attack" and (e.values["killed"] or not attacked):
            out.append(e)
            attacked = True
        elif e.kind in ("walk_out", "walk_back", "pmf_move", "scenario_event"):
            out.append(e)
        elif (
            e.kind == "rung_change" and not conflict
            and e.values["to_rung"] == EscalationLevel.ARMED_CONFLICT
            and e.values["from_rung"] < e.values["to_rung"]
        ):  # fmt: skip
            out.append(e)
            conflict = True
    return out


def _headline(e: Event) -> str:
    """A key event in a few words."""
    who = e.actors[0] if e.actors else ""
    if e.kind == "attack":
        return (
            f"{who} killing the incumbent"
            if e.values["killed"]
            else f"{who}'s failed strike on the incumbent"
        )
    if e.kind == "walk_out":
        return f"{who} walking out of parliament with its {e.values['seats']:.0f} seats"
    if e.kind == "pmf_move":
        status = PMFStatus(int(e.values["pmf_status"])).label
        return f"the government's crackdown on the PMF (now {status})"
    if e.kind == "rung_change":
        return f"{who} climbing to {rung_name(int(e.values['to_rung']))}"
    if e.kind == "scenario_event":
        return e.text.replace("event ", "the scenario's event ", 1)
    return e.text


def _key_story(ex: Explanation) -> str:
    """What mattered most, in order: killings, walk-outs, crackdowns, armed conflict."""
    key = _key_events(ex.events)
    attacks = sum(1 for e in ex.events if e.kind == "attack")
    if not key:
        return ""
    items = [f"week {e.week}, {_headline(e)}" for e in key]
    text = "What mattered most: " + "; ".join(items) + "."
    if attacks > 1:
        text += f" There were {attacks} attacks on the incumbent in all."
    return text


#: Events that can set off a climb, named as its context.
_CONTEXT = {
    "casualties", "session", "government_formed", "pmf_move",
    "nominee_failed", "attack", "confidence_vote", "walk_out",
    "rung_change", "scenario_event",
}  # fmt: skip


def why(ex: Explanation) -> str:
    """A short paragraph from the events: what decided the government, the highest rung
    and its cause."""
    parts = [_key_story(ex), _government_story(ex), _escalation_story(ex)]
    return words_for_ids(" ".join(p for p in parts if p), ex.labels)


__all__ = ["ExplainError", "Explanation", "ScenarioError", "explain"]
