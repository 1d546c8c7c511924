"""What the interactive view (``sim view``, ``sim.app``) shows of one run, as plain data.

The page itself (``sim.app``) needs Solara; everything it draws is computed here, from a
``FormationModel`` and its weekly series, with nothing but the model's own dependencies,
so the fast suite tests it without the ``viz`` extra: the run the page builds from its seed
box and sliders (``WatchedRun``), the sliders of the scenario's ``[ranges]``, the seats of
each bloc, each actor's rung and grievance by week, and the event log's recent lines.

Every series is indexed by *week* (weeks since election day, as in the run table), never
by Mesa's step: a scenario starts some weeks after the election.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.engine.enums import EscalationLevel, Stage
from sim.mesa.agents import Faction
from sim.mesa.model import DEFAULT_SCENARIO, FormationModel
from sim.scenario.loading import ScenarioError, with_overrides
from sim.scenario.ranges import Range

#: How many weeks of events the log shows: this week and the three before it.
RECENT_WEEKS = 4
#: At most this many event lines (a week of offers can hold dozens of answers).
MAX_EVENT_LINES = 60
#: The ladder's rungs in the domain's words, for legends and labels.
RUNG_NAMES = tuple(level.name.lower().replace("_", " ") for level in EscalationLevel)
STREET = "the street"
SEED_RULE = "must be an integer from 0 to 2**63 - 1"


# --------------------------------------------------------------------------- the run
def parse_seed(text: Any) -> int | None:
    """The seed box's text as a seed, or None if it is not one."""
    try:
        value = int(str(text).strip())
    except ValueError:
        return None
    return value if 0 <= value < 2**63 else None


def records_events() -> bool:
    """Whether this version of the model can keep an event log (``record_events``)."""
    return "record_events" in inspect.signature(FormationModel.__init__).parameters


class WatchedRun(FormationModel):
    """The run the view shows: a ``FormationModel`` built from the page's controls.

    Mesa's SolaraViz rebuilds the model from its controls on Reset, passing each control by
    name: the seed box as text and each slider under its dotted key. A value the page
    cannot use (a seed that is not one, a combination of slider values the scenario refuses)
    does not break the page: the run falls back (to the scenario's seed, to the file's
    values) and ``notice`` says what was refused and why.
    """

    def __init__(
        self,
        scenario: str | Path = DEFAULT_SCENARIO,
        seed: Any = None,
        default_seed: int = 1,
        **kwargs: Any,  # the sliders' dotted keys; Mesa's SolaraViz checks for "kwargs"
    ):
        notices = []
        chosen = default_seed if seed is None or str(seed).strip() == "" else parse_seed(seed)
        if chosen is None:
            notices.append(f"seed {str(seed)!r} ignored ({SEED_RULE}); ran seed {default_seed}")
            chosen = default_seed
        changed = changed_values(scenario, kwargs)
        if changed:
            try:
                with_overrides(scenario, changed)
            except ScenarioError as exc:
                notices.append(
                    f"slider values refused ({exc.key}: {exc.message}); ran the file's values"
                )
                changed = {}
        extra = {"record_events": True} if records_events() else {}
        super().__init__(scenario, seed=chosen, record_series=True, **extra, **changed)
        self.overrides = changed
        self.notice = "; ".join(notices)


def changed_values(scenario: str | Path, values: dict[str, Any]) -> dict[str, Any]:
    """The slider values that differ from the scenario's own (the others change nothing,
    and leaving them out keeps the overridden scenario's cache key short)."""
    from sim.engine.dotted import get_dotted
    from sim.scenario.loading import resolve_raw

    raw, _ = resolve_raw(scenario)

    def same(key: str, value: Any) -> bool:
        try:
            return math.isclose(get_dotted(raw, key), value)
        except (KeyError, TypeError):  # not a number of the scenario: with_overrides says why
            return False

    return {k: v for k, v in values.items() if not same(k, v)}


# --------------------------------------------------------------------------- controls
@dataclass(frozen=True)
class SliderSpec:
    """A slider for one ``[ranges]`` parameter, starting at the scenario's value."""

    key: str
    value: float
    low: float
    high: float
    step: float
    integer: bool
    label: str = ""  # in words: "Iran: mediation" for patrons.iran.mediation

    def text(self, value: float) -> str:
        """What the slider says, with the value it is at: "Iran: mediation = 0.73"."""
        shown = f"{int(value)}" if self.integer else f"{value:g}"
        return f"{self.label or self.key} = {shown}"


def slider_label(key: str, raw: dict) -> str:
    """A parameter's dotted key in words: an actor by its label ("Fatah Alliance: armed",
    "Iran: guarantee"), a section's field with spaces ("bargaining: safety value"), an
    array element by its place ("escalation: thresholds [3]")."""
    parts = key.split(".")
    if parts[0] in ("factions", "patrons") and len(parts) >= 3:
        table = (raw.get(parts[0]) or {}).get(parts[1]) or {}
        who = table.get("label") or parts[1]
        return f"{who}: " + " ".join(p.replace("_", " ") for p in parts[2:])
    if len(parts) == 1:
        return key.replace("_", " ")
    return f"{parts[0].replace('_', ' ')}: " + " ".join(p.replace("_", " ") for p in parts[1:])


def slider_specs(ranges: Iterable[Range], raw: dict) -> list[SliderSpec]:
    """One slider a range, from its low to its high end (widened to the scenario's value
    if that lies outside), in steps of a round number giving 50 to 500 positions."""
    from sim.engine.dotted import get_dotted

    specs = []
    for r in ranges:
        value = get_dotted(raw, r.key)
        low, high = min(r.low, value), max(r.high, value)
        if r.integer:
            step: float = 1
        else:
            step = 10.0 ** math.floor(math.log10((high - low) / 50))
        label = slider_label(r.key, raw)
        specs.append(SliderSpec(r.key, value, low, high, step, r.integer, label))
    return specs


# --------------------------------------------------------------------------- series
def faction_series(model: FormationModel) -> pd.DataFrame:
    """One row a faction a week: week, faction, grievance, rung, bloc, in_government."""
    if model.datacollector is None:
        raise ValueError("the view needs a model built with record_series=True")
    frame = model.datacollector.get_agenttype_vars_dataframe(Faction)
    return frame.reset_index(drop=True)


def seats_by_bloc(model: FormationModel) -> list[tuple[str, int, int]]:
    """The parliament now: (name, seats, bloc number), largest first. A list outside every
    bloc stands alone, as the largest-bloc rule counts it, with bloc number -1."""
    seats: dict[str, int] = {}
    number: dict[str, int] = {}
    for faction in model.factions:
        b = int(model.state.bloc_of[faction.index])
        name = faction.name if b < 0 else model.compiled.bloc_names[b]
        seats[name] = seats.get(name, 0) + faction.seats
        number[name] = b
    return sorted(
        ((name, n, number[name]) for name, n in seats.items()), key=lambda t: (-t[1], t[0])
    )


def ladder_actors(model: FormationModel) -> list[str]:
    """The actors with a ladder: the armed factions, and the street."""
    armed = [f.name for f in model.factions if model.world.armed[f.index] > 0]
    return [*armed, STREET]


def rungs_by_week(model: FormationModel) -> pd.DataFrame:
    """Each ladder actor's rung (0-5), one row an actor, one column a week."""
    factions = faction_series(model).pivot(index="faction", columns="week", values="rung")
    series = model.datacollector.get_model_vars_dataframe()  # type: ignore[union-attr]
    street = series.set_index("week")["street_level"].rename(STREET)
    table = pd.concat([factions, street.to_frame().T])
    return table.loc[ladder_actors(model)].astype(int)


def grievance_by_week(model: FormationModel) -> pd.DataFrame:
    """Each faction's grievance, one row a week, one column a faction (in scenario order)."""
    table = faction_series(model).pivot(index="week", columns="faction", values="grievance")
    return table[[f.name for f in model.factions]]


def status_line(model: WatchedRun) -> str:
    """Where the run stands, in one line: week, stage, government, violence."""
    run = model.run_state
    stage = Stage(run.stage).name.lower().replace("_", " ")
    if model.formed:
        government = f"{model.outcome()['government_type']} government formed"
    else:
        government = "no government yet"
    top = EscalationLevel(int(model.state.levels.max()))
    parts = [
        f"Week {model.week} since election day",
        f"stage: {stage}",
        government,
        f"highest rung now: {int(top)} {RUNG_NAMES[top]}",
        f"casualties: {int(run.casualties)}",
    ]
    if not model.running:
        parts.append("run ended")
    return " · ".join(parts)


# --------------------------------------------------------------------------- events
def event_lines(
    events: Sequence[Any], week: int, recent: int = RECENT_WEEKS, limit: int = MAX_EVENT_LINES
) -> list[str]:
    """The log's lines for this week and the ``recent - 1`` before it, newest week first
    (in the order recorded within a week), at most ``limit`` of them; a last line says how
    many were left out. An event has ``week``, ``process``, ``kind`` (an enum) and ``text``
    (``sim.engine.events.Event``)."""
    shown = [e for e in events if week - recent < e.week <= week]
    shown.sort(key=lambda e: -e.week)  # stable: a week's events keep their order
    lines = [f"week {e.week}  {e.process}  {_kind(e.kind)}: {e.text}" for e in shown]
    if len(lines) > limit:
        left = len(lines) - limit
        lines = [*lines[:limit], f"... and {left} earlier event(s) of these weeks"]
    return lines


def _kind(kind: Any) -> str:
    return str(getattr(kind, "name", kind)).lower().replace("_", " ")


def model_events(model: Any) -> list[Any]:
    """The run's event log, or an empty one for a model that keeps none."""
    return list(getattr(model, "events", None) or [])
