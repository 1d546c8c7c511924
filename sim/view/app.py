"""The page ``sim view SCENARIO`` serves: one run, watched week by week (Mesa's SolaraViz).

``solara run sim.app`` serves ``Page``; the scenario comes from the environment variable
``SIM_VIEW_SCENARIO`` (``sim view`` sets it; the baseline otherwise). Mesa's SolaraViz gives
the controls (reset, play, step), the seed box and one slider for each parameter of the
scenario's ``[ranges]``; Reset builds a new run from them. The main area shows, by week:
the parliament's blocs, each actor's rung on the escalation ladder, each faction's
grievance, and the event log. What is drawn is computed in ``sim.watch``; this module only
draws it, and only the ``viz`` extra's packages (solara, altair, networkx) need it. The
model never imports it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import solara
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mesa.visualization import Slider, SolaraViz, solara_viz
from mesa.visualization.utils import update_counter

from sim.mesa.model import DEFAULT_SCENARIO
from sim.view.serve import SCENARIO_VARIABLE, SEED_VARIABLE
from sim.view.watch import (
    RUNG_NAMES,
    WatchedRun,
    event_lines,
    grievance_by_week,
    model_events,
    records_events,
    rungs_by_week,
    seats_by_bloc,
    slider_specs,
    status_line,
)

#: The ladder's colours, politics (white) to armed conflict (dark red).
RUNG_COLOURS = ("#f7f7f7", "#fee08b", "#fdae61", "#f46d43", "#d73027", "#7f0000")
DPI = 80


def scenario_path() -> str:
    return os.environ.get(SCENARIO_VARIABLE) or str(DEFAULT_SCENARIO)


def model_params(path: str) -> dict[str, Any]:
    """SolaraViz's controls for a scenario: fixed values, the seed box, the sliders."""
    from sim.scenario.loading import resolve_raw, validate
    from sim.scenario.ranges import parse_ranges

    raw, origin = resolve_raw(path)
    scenario = validate(raw, origin, path)
    seed = os.environ.get(SEED_VARIABLE) or str(scenario.seed)  # `sim view --seed`
    params: dict[str, Any] = {
        "scenario": path,
        "default_seed": scenario.seed,  # what a seed box that holds no seed falls back to
        "seed": {"type": "InputText", "value": seed, "label": "seed (then Reset)"},
    }
    for spec in slider_specs(parse_ranges(raw, origin, path), raw):
        dtype = int if spec.integer else float
        params[spec.key] = LabelledSlider(
            spec.label, spec.value, spec.low, spec.high, spec.step, dtype, spec=spec
        )
    return params


class LabelledSlider(Slider):
    """Mesa's slider, keeping our spec: its label in words and how it shows its value."""

    def __init__(self, *args: Any, spec: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec


@solara.component
def ShownSlider(name: str, options: LabelledSlider, on_change: Any) -> None:
    """A slider whose label says what it sets and the value it is at now (Mesa's own
    shows a fixed label and the value only while dragged)."""
    value, set_value = solara.use_state(options.value)

    def changed(new: Any) -> None:
        set_value(new)
        on_change(name, new)

    slider = solara.SliderFloat if options.is_float_slider else solara.SliderInt
    slider(
        options.spec.text(value), value=value, on_value=changed, min=options.min,
        max=options.max, step=options.step, thumb_label="always",
    )  # fmt: skip


_MESA_INPUTS = solara_viz.UserInputs


@solara.component
def Inputs(user_params: dict, on_change: Any = None) -> None:
    """The sidebar's inputs: ours for the sliders, Mesa's for the rest (the seed box)."""
    ours = {k: v for k, v in user_params.items() if isinstance(v, LabelledSlider)}
    _MESA_INPUTS({k: v for k, v in user_params.items() if k not in ours}, on_change=on_change)
    for name, options in ours.items():
        ShownSlider(name, options, on_change)


# SolaraViz's ModelCreator draws the inputs with the module-level UserInputs (Mesa 3.3)
solara_viz.UserInputs = Inputs


def first_run(params: dict[str, Any]) -> WatchedRun:
    """The run the page opens on: the controls' starting values, as Reset would pass them."""
    values = {k: v.get("value") if hasattr(v, "get") else v for k, v in params.items()}
    return WatchedRun(**values)


# --------------------------------------------------------------------------- the charts
def _figure(width: float, height: float) -> Figure:
    # the object-oriented API, not pyplot: the page steps the model in a worker thread
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _weeks_axis(ax: Any) -> None:
    """Whole weeks on the x axis, even while the run is one week old."""
    ax.set_xlabel("week")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _show(figure: Figure, model: WatchedRun) -> None:
    solara.FigureMatplotlib(figure, format="png", dependencies=[id(model), model.steps])


def Parliament(model: WatchedRun) -> None:
    """Seats by bloc this week, against the majority and the president's quorum."""
    rows = seats_by_bloc(model)[::-1]  # largest at the top
    figure = _figure(6.4, 3.7)  # the status line sits above it in the same cell
    ax = figure.subplots()
    # a bloc keeps its colour from week to week; a list outside every bloc is grey
    colours = [f"C{b % 10}" if b >= 0 else "#b0b0b0" for _, _, b in rows]
    ax.barh([name for name, _, _ in rows], [seats for _, seats, _ in rows], color=colours)
    parliament = model.scenario.parliament
    for seats, style, what in (
        (parliament.speaker_majority, "--", "absolute majority"),
        (parliament.president_quorum, ":", "president's quorum"),
    ):
        ax.axvline(seats, color="black", linestyle=style, linewidth=1, label=f"{what} ({seats})")
    ax.legend(loc="lower right", fontsize=9)
    ax.set_xlim(0, parliament.size)
    ax.set_xlabel("seats (grey: a list outside every bloc)")
    ax.tick_params(axis="y", labelsize=9)
    ax.set_title(f"Parliament in week {model.week}: seats by bloc", loc="left")
    # where the run stands, above the first chart (the sidebar's card is below the sliders)
    solara.Text(status_line(model), style={"font-weight": "bold", "padding": "4px 8px"})
    _show(figure, model)


def Ladder(model: WatchedRun) -> None:
    """Each armed faction's rung, and the street's, week by week."""
    table = rungs_by_week(model)
    weeks = table.columns.to_numpy()
    figure = _figure(6.4, 4.2)
    ax = figure.subplots()
    bounds = [x - 0.5 for x in range(len(RUNG_NAMES) + 1)]
    cmap = ListedColormap(RUNG_COLOURS)
    image = ax.imshow(
        table.to_numpy(),
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        norm=BoundaryNorm(bounds, cmap.N),
        extent=(weeks[0] - 0.5, weeks[-1] + 0.5, len(table) - 0.5, -0.5),
    )
    ax.set_yticks(range(len(table)), table.index, fontsize=9)
    _weeks_axis(ax)
    bar = figure.colorbar(image, ax=ax, ticks=range(len(RUNG_NAMES)))
    bar.ax.set_yticklabels([f"{i} {name}" for i, name in enumerate(RUNG_NAMES)], fontsize=9)
    ax.set_title("Escalation ladder: each actor's rung by week", loc="left")
    _show(figure, model)


def Grievance(model: WatchedRun) -> None:
    """Each faction's grievance, week by week."""
    table = grievance_by_week(model)
    figure = _figure(6.4, 4.2)
    ax = figure.subplots()
    colours = [f"tab:{c}" for c in ("blue", "orange", "green", "red", "purple", "brown")]
    styles = ("-", "--", ":")
    for i, name in enumerate(table.columns):
        style = styles[(i // len(colours)) % len(styles)]
        marker = "o" if len(table) == 1 else ""  # a line needs two weeks
        ax.plot(
            table.index,
            table[name],
            style,
            marker=marker,
            color=colours[i % len(colours)],
            label=name,
        )
    ax.set_ylabel("grievance")
    _weeks_axis(ax)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    ax.set_title("Grievance by faction", loc="left")
    _show(figure, model)


def EventLog(model: WatchedRun) -> None:
    """The event log's lines for this week and the weeks just before it."""
    # a week of offers holds dozens of answers: the log scrolls within its cell
    with solara.Column(
        gap="2px", style={"padding": "8px", "max-height": "330px", "overflow-y": "auto"}
    ):
        solara.Text(
            f"Event log, week {model.week} and the weeks before", style={"font-weight": "bold"}
        )
        if not records_events():
            solara.Text("This version of the model keeps no event log.")
            return
        lines = event_lines(model_events(model), model.week)
        if not lines:
            solara.Text("No events in these weeks.")
        for line in lines:
            solara.Text(line, style={"font-family": "monospace", "font-size": "12px"})


@solara.component
def Week(model: WatchedRun) -> None:
    """Where the run stands (in Mesa's "Information" card, in place of its step count:
    the scenario starts weeks after the election, so the step is not the week)."""
    update_counter.get()  # redrawn after each step, as Mesa's own card is
    solara.Text(status_line(model))
    if model.overrides:
        changed = ", ".join(f"{k} = {v:g}" for k, v in model.overrides.items())
        solara.Text(f"changed from the file: {changed}")
    if model.notice:
        solara.Warning(model.notice)


# SolaraViz draws its card with the module-level ShowSteps (Mesa 3.3): ours shows the week.
solara_viz.ShowSteps = Week


def _warm_up() -> None:
    """Load the compiled weekly processes (or compile them, about a minute after an install
    or an edit of ``sim``) while the page opens, so that the first Step does not wait."""
    try:
        WatchedRun(scenario_path(), seed="1").step()
    except Exception:  # the page's own run meets the same error and shows it
        return


threading.Thread(target=_warm_up, name="sim-view-warm-up", daemon=True).start()


@solara.component
def Page() -> None:
    """One session's page: its own run, rebuilt by Reset from the controls."""
    path = scenario_path()
    params = solara.use_memo(lambda: model_params(path), [path])
    model = solara.use_memo(lambda: first_run(params), [path])
    SolaraViz(
        model,
        components=[Parliament, Ladder, Grievance, EventLog],
        model_params=params,
        name=f"sim view: {model.scenario.name} ({Path(path).name})",
    )
