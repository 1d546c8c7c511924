"""The ``sim`` command: a thin layer over the library (one function per command).

Every bad input ends in one line on stderr naming the file, the key and what is allowed,
and exit status 2; nothing is written before the input has been checked.

Each command imports what it needs when it runs (the model, Mesa, pandas, matplotlib are
seconds of imports), so ``sim --help``, ``sim --version`` and a bad flag answer at once.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from sim.cli.option_types import one_line
from sim.cli.options import build_parser

if TYPE_CHECKING:
    from sim.batch.runner import BatchResult
    from sim.engine.outcomes import OutcomeTally

#: The errors that are the user's input, not a bug: (module, class), exit 2. A module that
#: was never imported cannot have raised its error, so the check imports nothing.
USER_ERRORS = (
    ("sim.scenario.loading", "ScenarioError"),
    ("sim.batch.outputs", "BatchError"),
    ("sim.batch.outputs", "ResultsError"),
    ("sim.analysis.compare", "CompareError"),
    ("sim.analysis.explanation", "ExplainError"),
    ("sim.analysis.storylines", "StorylineError"),
)
#: The batch began, then could not go on (workers kept dying, the disk filled up): exit 1.
BATCH_FAILURES = (("sim.batch.pool", "WorkerLost"), ("sim.batch.outputs", "OutputError"))
INTERRUPTED = "finished parts are kept; run the same command to resume"


def _is_one_of(exc: BaseException, classes: tuple[tuple[str, str], ...]) -> bool:
    for module, name in classes:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


def is_user_error(exc: BaseException) -> bool:
    return _is_one_of(exc, USER_ERRORS)


def format_summary(tally: OutcomeTally, title: str, looks=None, drawn: bool = False) -> str:
    """The outcome table, in words (the outcome registry's labels, rungs by name, yes/no);
    after adaptive replication (``looks``), with the intervals the stopping rule used
    (confidence sequences) and why it stopped."""
    from sim.analysis.labels import value_label
    from sim.engine.outcomes import label

    lines_ = looks[-1].lines if looks else tally.lines()
    kind = "95% interval (anytime-valid)" if looks else "95% interval"
    if drawn:  # runs sharing a parameter draw are not independent
        kind = "95% interval (runs as if independent: see the table over the parameters)"
    rows = [(label(key), value_label(key, value), p, ci) for key, value, p, ci in lines_]
    width = max([len(name) for name, *_ in rows] + [7]) + 2
    values = max([len(value) for _, value, *_ in rows] + [5]) + 2
    lines = [title, f"{'outcome':<{width}}{'value':<{values}}{'P':>7}   {kind}"]
    for name, value, p, (lo, hi) in rows:
        lines.append(f"{name:<{width}}{value:<{values}}{p:>7.3f}   [{lo:.3f}, {hi:.3f}]")
    median = tally.median_weeks()
    lines.append(
        "median weeks to government (from election day, over all runs; no government "
        "by the horizon counts as never): " + _weeks(median)
    )
    if tally.n:
        lines.append(f"mean casualties per run: {tally.casualties / tally.n:.1f}")
    return "\n".join(lines)


def _weeks(median: float | None) -> str:
    return "no runs" if median is None else "never" if median == float("inf") else f"{median:g}"


#: sweep points the terminal lists one by one (the run table holds every one)
SWEEP_POINTS_SHOWN = 50


def format_points(out: Path, manifest: dict) -> str:
    """A sweep's outcomes point by point, one line each: what the pooled summary hides
    (it pools every point under the base scenario's name)."""
    import numpy as np
    import pyarrow.compute as pc

    from sim.batch.results import dataset
    from sim.engine.enums import EscalationLevel
    from sim.engine.outcomes import OutcomeTally

    severe_rung = int(EscalationLevel.TARGETED_ATTACKS)  # the violence the article is about

    sweep = manifest.get("sweep") or {}
    params, points = list(sweep.get("parameters") or []), list(sweep.get("points") or [])
    table = dataset(out).to_table(columns=[*OutcomeTally.COLUMNS, "point"])
    found = sorted(set(table["point"].to_pylist()))
    heads = ["majority", "consensus", "none", f"rung {severe_rung}+", "formed", "median wks"]
    lines = [
        "by sweep point (P of each; median weeks to government over all runs):",
        "  point  " + "  ".join(params) + "  runs  " + "  ".join(heads),
    ]
    for point in found[:SWEEP_POINTS_SHOWN]:
        tally = OutcomeTally()
        tally.add_table(table.filter(pc.equal(table["point"], point)))
        n = max(tally.n, 1)
        government = tally.counts["government_type"]
        severe = sum(
            k for level, k in tally.counts["max_escalation"].items() if int(level) >= severe_rung
        )
        values = points[point] if point < len(points) else {}
        shown = [
            f"{values.get(k, np.nan):<{len(k)}.4g}" if isinstance(values, dict) else "?"
            for k in params
        ]
        cells = [government["majority"] / n, government["consensus"] / n, government["none"] / n]
        cells += [severe / n, tally.formed / n]
        lines.append(
            f"  {point:>5}  " + "  ".join(shown) + f"  {tally.n:>4}  "
            + "  ".join(f"{c:>{len(h)}.3f}" for c, h in zip(cells, heads, strict=False))
            + f"  {_weeks(tally.median_weeks()):>10}"
        )  # fmt: skip
    if len(found) > SWEEP_POINTS_SHOWN:
        lines.append(f"  ... first {SWEEP_POINTS_SHOWN} of {len(found)} points; all in {out}")
    return "\n".join(lines)


def _report_batch(result: BatchResult) -> int:
    m = result.manifest
    session = m["sessions"][-1]
    title = (
        f"{m['scenario_name']}: {result.total} runs ({result.completed_now} now, "
        f"{result.resumed} resumed), {result.failed} failed; {session['seconds']:.1f} s on "
        f"{session['workers']} worker(s) [{session['backend']}]; results in {result.out}"
    )
    if m.get("sweep"):
        title += f" (all {len(m['sweep'].get('points') or [])} sweep points pooled)"
    print(format_summary(result.tally, title, result.looks, bool(m.get("parameter_draws"))))
    if m.get("sweep"):
        print(format_points(Path(result.out), m))
    adaptive = m.get("adaptive")
    if adaptive:
        widest = adaptive["widest"]
        print(
            f"adaptive replication: {adaptive['stopped']} after {len(adaptive['looks'])} "
            f"look(s) at {adaptive['runs']} runs; widest interval ±{widest['half_width']:.4f} "
            f"({widest['outcome']} = {widest['value']}; target ±{adaptive['precision']:g})"
        )
    if result.failed:
        print(
            f"{result.failed} run(s) failed: see the 'error' column of the run table",
            file=sys.stderr,
        )
        return 1
    return 0


def _default_out(name: str, path: str) -> Path:
    """``results/<name>``, the scenario's (or case's) ``name`` as ``--help`` says, made a
    safe folder name (a name that is no folder name, such as "..", falls back to the
    file's stem)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")
    if not safe or safe.startswith("."):
        safe = Path(path).stem
    return Path("results") / safe


def _run_and_report(
    exp, out: Path, args: argparse.Namespace, precision: float | None = None,
    max_runs: int | None = None,
) -> int:  # fmt: skip
    """Run a prepared experiment with the command line's batch options; print the summary."""
    from sim.batch.runner import run_batch

    result = run_batch(
        exp,
        out,
        workers=args.workers,
        backend=args.backend,
        scheduler=args.scheduler,
        chunk_size=args.chunk_size,
        overwrite=args.overwrite,
        quiet=args.quiet,
        precision=precision,
        max_runs=max_runs,
    )
    return _report_batch(result)


def check_file(path: str) -> tuple:
    """The scenario and its experiment tables, ``[sweep]`` and ``[ranges]``, checked whole
    (the scenario first: a range's ends are validated as scenarios), whether the command
    uses the tables or not: every command agrees with `sim validate` on which files are
    good. Returns the scenario and its ranges."""
    from sim.scenario.loading import resolve_raw, validate
    from sim.scenario.ranges import parse_ranges
    from sim.scenario.sweep import parse_sweep

    raw, origin = resolve_raw(path)
    scenario = validate(raw, origin, str(path))
    parse_sweep(raw, str(path), origin)
    return scenario, parse_ranges(raw, origin, str(path))


def _parameter_draws(args: argparse.Namespace, ranges: list):
    """The run's parameter draws (--priors, --posterior), or None at fixed values."""
    from sim.scenario import draws as parameter_draws
    from sim.scenario.loading import ScenarioError, resolve_raw
    from sim.scenario.settings import DEFAULT_RUNS_PER_DRAW

    per_draw = args.runs_per_draw or DEFAULT_RUNS_PER_DRAW
    if not (args.priors or args.posterior):
        if args.runs_per_draw is not None:
            raise ScenarioError(args.scenario, "--runs-per-draw", "needs --priors or --posterior")
        return None
    if args.precision is not None:
        raise ScenarioError(
            args.scenario, "--precision", "applies at fixed values, not with parameter draws"
        )
    if args.priors:
        return parameter_draws.prior_draws(ranges, args.scenario, per_draw)
    raw, _ = resolve_raw(args.scenario)
    return parameter_draws.posterior_draws(args.posterior, raw, args.scenario, per_draw)


def _report_spread(out: Path) -> None:
    """After a batch with parameter draws: the spread over parameters, apart from chance."""
    from sim.analysis.spread import format_spread, parameter_spread
    from sim.batch.results import load_manifest, load_results
    from sim.engine.outcomes import OutcomeTally

    drawn = load_manifest(out)["parameter_draws"]
    frame = load_results(out, columns=["point", *OutcomeTally.COLUMNS])
    frame = frame[frame["error"].isna()]
    print(
        format_spread(
            parameter_spread(frame), drawn["draws"], drawn["runs_per_draw"], drawn["source"]
        )
    )


def cmd_run(args: argparse.Namespace) -> int:
    from sim.batch.experiment import prepare

    scenario, ranges = check_file(args.scenario)
    draws = _parameter_draws(args, ranges)
    exp = prepare(args.scenario, runs=args.runs, seed=args.seed, draws=draws)
    out = Path(args.out or _default_out(scenario.name, args.scenario))
    status = _run_and_report(exp, out, args, args.precision, args.max_runs)
    if draws is not None:
        _report_spread(out)
    return status


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.batch.experiment import prepare
    from sim.scenario.sweep import cli_parameters

    scenario, _ = check_file(args.scenario)
    params = cli_parameters(args.param, args.method, args.scenario)
    sweep = {"method": args.method, "parameters": params}
    if args.method == "lhs":
        sweep["samples"] = args.samples
    exp = prepare(args.scenario, runs=args.replicates, seed=args.seed, sweep=sweep)
    default = _default_out(scenario.name, args.scenario)
    return _run_and_report(exp, Path(args.out or default.with_name(default.name + "_sweep")), args)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from sim.analysis.sensitivity import format_summary as format_sensitivity
    from sim.analysis.sensitivity import run_sensitivity
    from sim.analysis.settings import DEFAULT_SAMPLES

    scenario, _ = check_file(args.scenario)
    default = _default_out(scenario.name, args.scenario)
    out = Path(args.out) if args.out else default.with_name(default.name + "_sensitivity")
    samples = args.samples if args.samples is not None else DEFAULT_SAMPLES[args.method]
    result = run_sensitivity(
        args.scenario,
        out,
        method=args.method,
        samples=samples,
        replicates=args.replicates,
        seed=args.seed,
        params=args.param,
        levels=args.levels,
        workers=args.workers,
        backend=args.backend,
        scheduler=args.scheduler,
        overwrite=args.overwrite,
        quiet=args.quiet,
    )
    print(format_sensitivity(result.summary))
    session = result.batch.manifest["sessions"][-1]
    print(
        f"{result.batch.total} runs ({result.batch.completed_now} now, {result.batch.resumed} "
        f"resumed), {result.batch.failed} failed; {session['seconds']:.1f} s on "
        f"{session['workers']} worker(s); indices, plot and summary in {out / 'sensitivity'}"
    )
    return 1 if result.batch.failed else 0


def cmd_discover(args: argparse.Namespace) -> int:
    from sim.analysis.discovery import discover, format_discovery

    found = discover(
        args.directory,
        args.outcome,
        alpha=args.alpha,
        mass_min=args.mass_min,
        min_coverage=args.min_coverage,
        step=args.step,
        csv=args.csv,
    )
    print(format_discovery(found))
    print(f"box, trajectory, plot and summary in {found.folder}")
    return 0


def _compare_options(args: argparse.Namespace) -> dict:
    return {
        "paired": not args.unpaired,
        "correction": args.correction,
        "alpha": args.alpha,
        "numeric_test": args.numeric_test,
    }


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.analysis.compare import CompareError, compare, load_batches
    from sim.analysis.gamson import format_gamson
    from sim.batch.outputs import check_file_writable
    from sim.report.document import format_table, write_csv

    gamson = args.gamson or args.gamson_csv is not None
    # before any work: a place we cannot write fails now, not at the end
    for path, flag in ((args.csv, "--csv"), (args.gamson_csv, "--gamson-csv")):
        if path:
            check_file_writable(path, flag, CompareError)
    if args.csv and args.gamson_csv and Path(args.csv).resolve() == Path(args.gamson_csv).resolve():
        raise CompareError(f"--gamson-csv {args.gamson_csv}: the same file as --csv")
    batches = load_batches(args.dirs, by=args.by, minimum=2, shares=gamson)
    table = compare(batches, **_compare_options(args))
    written = [("table", write_csv(table, args.csv))] if args.csv else []
    if args.gamson_csv:  # matplotlib comes with the report's module: only when asked
        from sim.report.gamson import write_gamson_csv

        written.append(("Gamson table", write_gamson_csv(batches, args.gamson_csv)))
    print(format_table(table))
    from sim.analysis.spread import batch_spread

    for b in batches:  # a batch with parameter draws: its spread over them, apart from chance
        found = batch_spread(b.manifest, b.runs)
        if found is not None:
            intro, frame = found
            print(f"\n{b.label}, over the parameters: {intro}")
            print(frame.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    from sim.analysis.compare import events_fired

    fired = events_fired(batches)
    if not fired.empty:
        print("\nscenario events: the share of runs each fired in [95% interval], its median week")
        for row in fired.itertuples(index=False):
            print(f"  {row.scenario}: {row.event} {row.fired:.3f} [{row.low:.3f}, {row.high:.3f}]"
                  f", week {row.median_week:g}")  # fmt: skip
    for b in batches if gamson else []:
        print("\n" + format_gamson(b.runs, b.label))
    for what, path in written:
        print(f"{what} written to {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sim.report.document import build_report

    out = build_report(args.dirs, args.out, by=args.by, **_compare_options(args))
    print(f"report written to {out} ({out.stat().st_size / 1e6:.1f} MB, self-contained)")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    import json
    import logging

    from sim.analysis import calibration as cal
    from sim.batch.outputs import check_directory_writable, write_atomic, write_json
    from sim.scenario.loading import ScenarioError, resolve_raw, validate
    from sim.scenario.settings import DEFAULT_RUNS_PER_DRAW

    cal.require_extra()
    cases = cal.load_calibration_cases(args.cases, args.runs, args.seed)
    ranges = cal.behavioural_ranges(cases)
    if args.cross_validate and len(cases) < 2:
        raise ScenarioError(args.cases[0], "--cross-validate", "needs at least two cases")
    base = Path(args.base)
    if not base.is_file():
        raise ScenarioError(base, "--base", "file not found")
    resolve_raw(base)
    out = Path(args.out or "results/calibration")
    check_directory_writable(out, "--out")
    logging.getLogger("ABC").setLevel(logging.INFO if not args.quiet else logging.WARNING)
    say = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    say(f"calibrating {len(ranges)} behavioural parameters to {len(cases)} case(s)")
    out.mkdir(parents=True, exist_ok=True)
    from sim.batch.runner import default_workers

    workers = default_workers() if args.workers is None else args.workers
    chosen = cal.Settings(args.method, args.candidates, args.population, args.generations,
                          args.runs, args.seed, workers)  # fmt: skip
    fitted = cal.fit(cases, ranges, chosen, out / "fit.db", say)
    settings = chosen.as_dict()
    text = cal.calibrated_toml(fitted, base, out, cases, settings)
    write_atomic(out / cal.CALIBRATED, text)
    raw, origin = resolve_raw(out / cal.CALIBRATED)
    validate(raw, origin, str(out / cal.CALIBRATED))  # the file written is a good scenario
    buffer = fitted.sample.to_parquet(index=False)
    write_atomic(out / cal.POSTERIOR, buffer)
    summary = {
        "cases": [str(c.prepared.path) for c in cases],
        **settings,
        "seconds": round(fitted.seconds, 2),
        "candidates_run": fitted.evaluations,
        "generations_run": list(fitted.generations),
        "parameters": fitted.shrinkage().to_dict(orient="records"),
        "point": fitted.point(),
    }
    print(cal.format_fit(fitted))
    print(f"posterior in {out / cal.POSTERIOR}; point values in {out / cal.CALIBRATED}")
    fresh = args.seed + 1_000_003  # the checks run on seeds no candidate ran on
    draws = fitted.draws(DEFAULT_RUNS_PER_DRAW)
    checks = [cal.score_left_out(c, draws, args.check_runs, fresh) for c in cases]
    summary["predictive_checks"] = [c.as_dict() for c in checks]
    rows = None
    if args.cross_validate:
        t0 = time.perf_counter()
        folds = cal.cross_validate(
            cases, ranges, chosen, out, args.check_runs, DEFAULT_RUNS_PER_DRAW, say
        )
        seconds = time.perf_counter() - t0
        rows = [left for left, _ in folds]
        print(cal.format_cross_validation(rows))
        print(f"cross-validation: {len(rows)} folds in {seconds:.1f} s")
        write_json(out / cal.CROSS_VALIDATION,
                   {"seconds": round(seconds, 2), **settings, "check_runs": args.check_runs,
                    "folds": [r.as_dict() for r in rows]})  # fmt: skip
        summary["cross_validation_seconds"] = round(seconds, 2)
    write_json(out / cal.SUMMARY, json.loads(json.dumps(summary, default=float)))
    from sim.report.calibration import calibration_html  # matplotlib: only now

    page = calibration_html(fitted, checks, rows, [c.name for c in cases],
                            {c.name: c.prepared.case.lacks for c in cases})  # fmt: skip
    write_atomic(out / cal.REPORT, page)
    print(f"report in {out / cal.REPORT}")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    import json

    from sim.analysis.backtest import as_json, format_score, load_case, run_case, score

    case = load_case(args.case, runs=args.runs, seed=args.seed)
    default = _default_out(case.name, args.case)
    out = Path(args.out) if args.out else default.with_name(default.name + "_backtest")
    result = run_case(case, out, workers=args.workers, overwrite=args.overwrite, quiet=args.quiet)
    if result.failed == result.total:
        print(f"error: every run failed: see the 'error' column in {out}", file=sys.stderr)
        return 1
    scored = score(case, out)
    if args.json:
        print(json.dumps(as_json(scored), indent=2))
    else:
        session = result.manifest["sessions"][-1]
        window = f"weeks {case.start_week}-{case.horizon}"
        header = (
            f"backtest {case.name}: {case.experiment.path}, {window}, {result.total} runs "
            f"(seed {case.experiment.seed}; {result.completed_now} now, {result.resumed} "
            f"resumed), {result.failed} failed; {session['seconds']:.1f} s on "
            f"{session['workers']} worker(s); results in {out}"
        )
        print(format_score(scored, header))
    if result.failed:
        print(f"{result.failed} run(s) failed: see the 'error' column of the run table",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.batch.experiment import prepare

    sc, ranges = check_file(args.scenario)
    exp = prepare(args.scenario)  # and every point of the [sweep], as a scenario
    seats = sum(f.seats for f in sc.factions.values())
    print(
        f"{args.scenario}: ok — scenario {sc.name!r}, {len(sc.factions)} factions "
        f"({seats} seats), {len(sc.patrons)} patrons, {len(sc.blocs)} blocs, "
        f"{len(exp.points)} point(s), {len(ranges)} range(s), hash {exp.scenario_hash[:12]}"
    )
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Exit 1 when the replay does not match the batch's stored row."""
    import json

    from sim.analysis.explanation import check_plot_path, explain

    if args.plot:  # before the replay: a bad path fails before anything is printed
        check_plot_path(args.plot)
    ex = explain(args.source, args.run_id, args.seed)
    if args.json:
        print(json.dumps(ex.to_json(), default=str))
    else:
        print(ex.timeline())
        print()
        print("why: " + ex.why())
        if ex.matches_table is not None:
            verdict = "matches" if ex.matches_table else "DOES NOT match"
            differs = f" (differs in {', '.join(ex.mismatches)})" if ex.mismatches else ""
            print(f"\nreplayed from seed {ex.seed}: {verdict} the batch's row{differs}")
    if args.plot:
        print(f"plot written to {ex.plot(args.plot)}", file=sys.stderr if args.json else sys.stdout)
    return 1 if ex.matches_table is False else 0


def cmd_storylines(args: argparse.Namespace) -> int:
    import json

    from sim.analysis.storylines import batch_storylines, format_storylines

    paths, manifest = batch_storylines(args.directory, args.paths)
    if args.json:
        print(json.dumps([p.to_json() for p in paths], indent=2))
        return 0
    runs = sum(p.runs for p in paths)
    header = (
        f"{manifest.get('scenario_name', args.directory)}: {runs} runs in {len(paths)} path(s) "
        "(Ward's hierarchical clustering of each run's key events; sim explain "
        f"{args.directory} RUN_ID replays an example)"
    )
    print(
        format_storylines(paths, header).replace("sim explain DIR", f"sim explain {args.directory}")
    )
    return 0


def cmd_processes(args: argparse.Namespace) -> int:
    from sim.engine.assembly import describe

    print(describe())
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from sim.view.serve import ViewError, serve

    check_file(args.scenario)
    try:
        return serve(args.scenario, args.host, args.port, args.seed)
    except ViewError as exc:
        print(f"error: sim view: {one_line(str(exc))}", file=sys.stderr)
        return 2


#: What each command does; the command line's grammar is in sim.options.
COMMANDS = {
    "run": cmd_run,
    "calibrate": cmd_calibrate,
    "explain": cmd_explain,
    "sweep": cmd_sweep,
    "sensitivity": cmd_sensitivity,
    "discover": cmd_discover,
    "compare": cmd_compare,
    "report": cmd_report,
    "backtest": cmd_backtest,
    "validate": cmd_validate,
    "storylines": cmd_storylines,
    "processes": cmd_processes,
    "view": cmd_view,
}


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (a part set aside, a stray file, a dead worker) as one line each."""
    print(f"warning: {one_line(str(message))}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad command line (one line printed)
        return exc.code if isinstance(exc.code, int) else 2
    # a command runs: its modules are imported now (the pool's are standard library only)
    from sim.batch.outputs import BatchWarning
    from sim.batch.pool import Interrupted, stop_signals_raise

    # SIGTERM and SIGHUP end a batch as Ctrl-C does; warnings are one line each
    with stop_signals_raise(), warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        warnings.simplefilter("always", BatchWarning)  # each dead worker, each stray file
        try:
            return COMMANDS[args.command](args)
        except KeyboardInterrupt:
            print(f"interrupted: {INTERRUPTED}", file=sys.stderr)
            return 130
        except Interrupted as exc:
            name = signal.Signals(exc.signum).name
            print(f"stopped by {name}: {INTERRUPTED}", file=sys.stderr)
            return 128 + exc.signum
        except BrokenPipeError:  # e.g. `sim run ... | head`: the reader left, not ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        except Exception as exc:
            if is_user_error(exc):
                print(f"error: {one_line(str(exc))}", file=sys.stderr)
                return 2
            if _is_one_of(exc, BATCH_FAILURES):
                print(f"error: {one_line(str(exc))}", file=sys.stderr)
                return 1
            raise


if __name__ == "__main__":
    sys.exit(main())
