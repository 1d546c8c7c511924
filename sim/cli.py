"""The ``sim`` command: a thin layer over the library (one function per command).

Every bad input ends in one line on stderr naming the file, the key and what is allowed,
and exit status 2; nothing is written before the input has been checked.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from pathlib import Path

from sim.batch import BatchError, BatchResult, default_workers, prepare, run_batch
from sim.compare import CompareError
from sim.outcomes import OutcomeTally
from sim.outputs import OutputError, check_file_writable
from sim.parts import BatchWarning
from sim.pool import Interrupted, WorkerLost, stop_signals_raise
from sim.results import ResultsError
from sim.scenario import ScenarioError, load_scenario, resolve_raw
from sim.sweep import cli_parameters

USER_ERRORS = (ScenarioError, BatchError, ResultsError, CompareError)
BATCH_FAILURES = (WorkerLost, OutputError)  # the batch began, then could not go on: exit 1
INTERRUPTED = "finished parts are kept; run the same command to resume"


def format_summary(tally: OutcomeTally, title: str, looks=None) -> str:
    """The outcome table; after adaptive replication (``looks``), with the intervals the
    stopping rule used (confidence sequences) and why it stopped."""
    lines_ = looks[-1].lines if looks else tally.lines()
    kind = "95% interval (anytime-valid)" if looks else "95% interval"
    lines = [title, f"{'outcome':<20}{'value':<14}{'P':>7}   {kind}"]
    for key, value, p, (lo, hi) in lines_:
        lines.append(f"{key:<20}{value:<14}{p:>7.3f}   [{lo:.3f}, {hi:.3f}]")
    median = tally.median_weeks()
    lines.append(
        "median weeks to government (from election day, over all runs; no government "
        "by the horizon counts as never): "
        + ("no runs" if median is None else "never" if median == float("inf") else f"{median:g}")
    )
    if tally.n:
        lines.append(f"mean casualties per run: {tally.casualties / tally.n:.1f}")
    return "\n".join(lines)


def _report_batch(result: BatchResult) -> int:
    m = result.manifest
    session = m["sessions"][-1]
    title = (
        f"{m['scenario_name']}: {result.total} runs ({result.completed_now} now, "
        f"{result.resumed} resumed), {result.failed} failed; {session['seconds']:.1f} s on "
        f"{session['workers']} worker(s) [{session['backend']}]; results in {result.out}"
    )
    print(format_summary(result.tally, title, result.looks))
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


def _default_out(scenario_path: str) -> Path:
    return Path("results") / Path(scenario_path).stem


def _run_and_report(exp, out: Path, args: argparse.Namespace) -> int:
    """Run a prepared experiment with the command line's batch options; print the summary."""
    result = run_batch(
        exp,
        out,
        workers=args.workers,
        backend=args.backend,
        scheduler=args.scheduler,
        chunk_size=args.chunk_size,
        overwrite=args.overwrite,
        quiet=args.quiet,
        precision=getattr(args, "precision", None),
        max_runs=getattr(args, "max_runs", None),
    )
    return _report_batch(result)


def cmd_run(args: argparse.Namespace) -> int:
    if args.precision is not None and args.runs is not None:
        raise BatchError("give --runs or --precision, not both")
    exp = prepare(args.scenario, runs=args.runs, seed=args.seed)
    return _run_and_report(exp, Path(args.out or _default_out(args.scenario)), args)


def cmd_sweep(args: argparse.Namespace) -> int:
    params = cli_parameters(args.param, args.method, args.scenario)
    sweep = {"method": args.method, "parameters": params}
    if args.method == "lhs":
        sweep["samples"] = args.samples
    exp = prepare(args.scenario, runs=args.replicates, seed=args.seed, sweep=sweep)
    default = _default_out(args.scenario)
    return _run_and_report(exp, Path(args.out or default.with_name(default.name + "_sweep")), args)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from sim.sensitivity import format_summary as format_sensitivity
    from sim.sensitivity import run_sensitivity

    default = _default_out(args.scenario)
    out = Path(args.out) if args.out else default.with_name(default.name + "_sensitivity")
    samples = args.samples or (10 if args.method == "morris" else 64)
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
    from sim.discovery import discover, format_discovery

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
    print(f"box, trajectory, plot and summary in {found.out / 'discovery'}")
    return 0


def _compare_options(args: argparse.Namespace) -> dict:
    return {
        "paired": not args.unpaired,
        "correction": args.correction,
        "alpha": args.alpha,
        "numeric_test": args.numeric_test,
    }


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.compare import compare, load_batches
    from sim.report import format_table, write_csv

    if args.csv:  # before any work: a place we cannot write fails now, not at the end
        check_file_writable(args.csv, "--csv", CompareError)
    batches = load_batches(args.dirs, by=args.by, minimum=2)
    table = compare(batches, **_compare_options(args))
    written = write_csv(table, args.csv) if args.csv else None
    print(format_table(table))
    if written:
        print(f"table written to {written}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sim.report import build_report

    out = build_report(args.dirs, args.out, by=args.by, **_compare_options(args))
    print(f"report written to {out} ({out.stat().st_size / 1e6:.1f} MB, self-contained)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.ranges import parse_ranges

    sc = load_scenario(args.scenario)
    exp = prepare(args.scenario)  # checks the [sweep] too
    raw, origin = resolve_raw(args.scenario)
    ranges = parse_ranges(raw, origin, str(args.scenario))
    seats = sum(f.seats for f in sc.factions.values())
    print(
        f"{args.scenario}: ok — scenario {sc.name!r}, {len(sc.factions)} factions "
        f"({seats} seats), {len(sc.patrons)} patrons, {len(sc.blocs)} blocs, "
        f"{len(exp.points)} point(s), {len(ranges)} range(s), hash {exp.scenario_hash[:12]}"
    )
    return 0


def _batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed", type=int, default=None, help="batch seed (default: the scenario's seed)"
    )
    p.add_argument("--out", default=None, help="output directory (default: results/<name>)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"worker processes (default: all cores, {default_workers()} here)",
    )
    p.add_argument("--backend", choices=["local", "dask"], default="local")
    p.add_argument(
        "--scheduler",
        default=None,
        help="address of a running Dask scheduler (with --backend dask)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace whatever batch the output directory holds"
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _chunk_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="runs per chunk sent to a worker and per Parquet part (default: about 8 chunks "
        "per worker, at most 250); never changes the results",
    )


def _compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--by", default=None, help="compare the values of this swept parameter")
    p.add_argument(
        "--correction",
        choices=["holm", "bh"],
        default="holm",
        help="multiple-comparison correction: Holm (default) or Benjamini-Hochberg",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument(
        "--numeric-test",
        choices=["mannwhitney", "ks"],
        default="mannwhitney",
        help="test for weeks to government and casualties (default Mann-Whitney)",
    )
    p.add_argument(
        "--unpaired",
        action="store_true",
        help="independent-sample tests even when the batches share seeds",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sim",
        description="Agent-based simulator of government formation and "
        "escalation in Iraq after the 2021 election.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run replicates of a scenario and summarise the outcomes")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument(
        "--runs",
        type=int,
        default=None,
        help="replicates (per sweep point if the file has a [sweep]); default 100",
    )
    p.add_argument(
        "--precision",
        type=float,
        default=None,
        metavar="H",
        help="adaptive replication: add runs until every probability's 95%% interval "
        "(anytime-valid) is at most ±H wide, e.g. 0.01; instead of --runs",
    )
    p.add_argument(
        "--max-runs",
        type=int,
        default=None,
        help="with --precision: stop at this many runs even if not precise (default 100000)",
    )
    _batch_options(p)
    _chunk_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="vary parameters over a grid or a Latin hypercube")
    p.add_argument("scenario")
    p.add_argument(
        "--param",
        action="append",
        required=True,
        help="KEY=V1,V2,... (grid) or KEY=LOW:HIGH (lhs); dotted keys, repeatable",
    )
    p.add_argument("--method", choices=["grid", "lhs"], default="grid")
    p.add_argument("--samples", type=int, default=10, help="Latin hypercube points")
    p.add_argument("--replicates", type=int, default=None, help="runs per point (default 100)")
    _batch_options(p)
    _chunk_option(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "sensitivity", help="rank the parameters of the scenario's [ranges] by their influence"
    )
    p.add_argument("scenario")
    p.add_argument("--method", choices=["morris", "sobol"], default="morris")
    p.add_argument(
        "--samples",
        type=int,
        default=None,
        help="Morris trajectories (default 10) or Sobol' base samples, a power of 2 "
        "(default 64); points = N*(D+1) or N*(D+2) for D parameters",
    )
    p.add_argument(
        "--replicates",
        type=int,
        default=10,
        help="runs per design point, averaged to tame the model's noise (default 10)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=None,
        help="analyse only this parameter of [ranges] (dotted key, repeatable)",
    )
    p.add_argument("--levels", type=int, default=4, help="Morris grid levels (even; default 4)")
    _batch_options(p)
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser(
        "discover", help="find the parameter ranges that make an outcome likely (PRIM)"
    )
    p.add_argument("directory", help="a sweep or sensitivity batch directory")
    p.add_argument(
        "--outcome",
        required=True,
        help="condition on a run, e.g. 'max_escalation >= 4', 'pmf_status == dissolved', "
        "'not formed'; terms joined by and/or",
    )
    p.add_argument("--csv", default=None, help="also write the box table to this CSV file")
    p.add_argument("--alpha", type=float, default=0.05, help="share peeled per step")
    p.add_argument("--mass-min", type=float, default=0.05, help="smallest box, as a share of runs")
    p.add_argument(
        "--min-coverage",
        type=float,
        default=0.5,
        help="choose the densest box covering at least this share of the outcome runs",
    )
    p.add_argument("--step", type=int, default=None, help="choose this trajectory step instead")
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser(
        "compare", help="compare batches: probabilities, differences and tests, one table"
    )
    p.add_argument(
        "dirs", nargs="+", metavar="DIR", help="batch directories; the first is the reference"
    )
    p.add_argument("--csv", default=None, help="also write the table to this CSV file")
    _compare_arguments(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("report", help="write a self-contained HTML report comparing batches")
    p.add_argument(
        "dirs", nargs="+", metavar="DIR", help="batch directories; the first is the reference"
    )
    p.add_argument("--out", required=True, help="the HTML file to write")
    _compare_arguments(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("validate", help="check a scenario file and print what it holds")
    p.add_argument("scenario")
    p.set_defaults(func=cmd_validate)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (a part set aside, a stray file, a dead worker) as one line each."""
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM and SIGHUP end a batch as Ctrl-C does; warnings are one line each
    with stop_signals_raise(), warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        warnings.simplefilter("always", BatchWarning)  # each dead worker, each stray file
        try:
            return args.func(args)
        except USER_ERRORS as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except BATCH_FAILURES as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
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


if __name__ == "__main__":
    sys.exit(main())
