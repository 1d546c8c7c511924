"""The ``sim`` command: a thin layer over the library (one function per command).

Every bad input ends in one line on stderr naming the file, the key and what is allowed,
and exit status 2; nothing is written before the input has been checked.

Each command imports what it needs when it runs (the model, Mesa, pandas, matplotlib are
seconds of imports), so ``sim --help``, ``sim --version`` and a bad flag answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sim.options import Parser, VersionAction, count, fraction, one_line, path_text, seed

if TYPE_CHECKING:
    from sim.batch import BatchResult
    from sim.outcomes import OutcomeTally

#: The errors that are the user's input, not a bug: (module, class). A module that was
#: never imported cannot have raised its error, so the check imports nothing.
USER_ERRORS = (
    ("sim.scenario", "ScenarioError"),
    ("sim.results", "BatchError"),
    ("sim.results", "ResultsError"),
    ("sim.compare", "CompareError"),
)


def is_user_error(exc: BaseException) -> bool:
    for module, name in USER_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


def cores() -> int:
    """All cores this process may use (as ``sim.batch.default_workers``, without importing
    the engine to print a help text)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def format_summary(tally: OutcomeTally, title: str) -> str:
    lines = [title, f"{'outcome':<20}{'value':<14}{'P':>7}   95% interval"]
    for key, value, p, (lo, hi) in tally.lines():
        lines.append(f"{key:<20}{value:<14}{p:>7.3f}   [{lo:.3f}, {hi:.3f}]")
    median = tally.median_weeks()
    lines.append(
        "median weeks to government (from election day, runs that formed one): "
        + ("none formed" if median is None else f"{median:g}")
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
    print(format_summary(result.tally, title))
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
    from sim.batch import run_batch

    result = run_batch(
        exp,
        out,
        workers=args.workers,
        backend=args.backend,
        scheduler=args.scheduler,
        chunk_size=args.chunk_size,
        overwrite=args.overwrite,
        quiet=args.quiet,
    )
    return _report_batch(result)


def checked_ranges(path: str) -> list:
    """The scenario's ``[ranges]``, checked (after the scenario itself: a range's ends are
    validated as scenarios). Every command refuses a file with a bad table, used or not,
    so that `sim run` and `sim validate` agree on which files are good."""
    from sim.ranges import parse_ranges
    from sim.scenario import resolve_raw

    raw, origin = resolve_raw(path)
    return parse_ranges(raw, origin, str(path))


def cmd_run(args: argparse.Namespace) -> int:
    from sim.batch import prepare

    exp = prepare(args.scenario, runs=args.runs, seed=args.seed)
    checked_ranges(args.scenario)
    return _run_and_report(exp, Path(args.out or _default_out(args.scenario)), args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.batch import prepare
    from sim.sweep import cli_parameters

    params = cli_parameters(args.param, args.method, args.scenario)
    sweep = {"method": args.method, "parameters": params}
    if args.method == "lhs":
        sweep["samples"] = args.samples
    exp = prepare(args.scenario, runs=args.replicates, seed=args.seed, sweep=sweep)
    checked_ranges(args.scenario)
    default = _default_out(args.scenario)
    return _run_and_report(exp, Path(args.out or default.with_name(default.name + "_sweep")), args)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from sim.sensitivity import format_summary as format_sensitivity
    from sim.sensitivity import run_sensitivity

    default = _default_out(args.scenario)
    out = Path(args.out) if args.out else default.with_name(default.name + "_sensitivity")
    samples = args.samples if args.samples is not None else (10 if args.method == "morris" else 64)
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
    from sim.batch import prepare
    from sim.scenario import load_scenario

    sc = load_scenario(args.scenario)
    exp = prepare(args.scenario)  # checks the [sweep] too
    ranges = checked_ranges(args.scenario)
    seats = sum(f.seats for f in sc.factions.values())
    print(
        f"{args.scenario}: ok — scenario {sc.name!r}, {len(sc.factions)} factions "
        f"({seats} seats), {len(sc.patrons)} patrons, {len(sc.blocs)} blocs, "
        f"{len(exp.points)} point(s), {len(ranges)} range(s), hash {exp.scenario_hash[:12]}"
    )
    return 0


SCENARIO_HELP = "scenario TOML file, e.g. scenarios/baseline.toml"


def _batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed", type=seed, default=None, help="batch seed, 0 to 2**63-1 (default: the scenario's)"
    )
    p.add_argument(
        "--out", type=path_text, default=None, help="output directory (default: results/<name>)"
    )
    p.add_argument(
        "--workers",
        type=count(high=4096),
        default=None,
        help=f"worker processes (default: all cores, {cores()} here)",
    )
    p.add_argument(
        "--backend",
        choices=["local", "dask"],
        default="local",
        help="local: processes on this machine (default); dask: a Dask cluster, a local one "
        "or --scheduler's (same results either way)",
    )
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
        type=count(high=100_000),
        default=None,
        help="runs per chunk sent to a worker and per Parquet part (default: about 8 chunks "
        "per worker, at most 250); never changes the results",
    )


def _compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dirs", nargs="+", metavar="DIR", help="batch directories; the first is the reference"
    )
    p.add_argument("--by", default=None, help="compare the values of this swept parameter")
    p.add_argument(
        "--correction",
        choices=["holm", "bh"],
        default="holm",
        help="multiple-comparison correction: Holm (default) or Benjamini-Hochberg",
    )
    p.add_argument(
        "--alpha",
        type=fraction(0.0, 1.0),
        default=0.05,
        help="significance level, in (0, 1) (default 0.05)",
    )
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
    parser = Parser(
        prog="sim",
        description="Agent-based simulator of government formation and "
        "escalation in Iraq after the 2021 election.",
    )
    parser.add_argument("--version", action=VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run replicates of a scenario and summarise the outcomes")
    p.add_argument("scenario", help=SCENARIO_HELP)
    p.add_argument(
        "--runs",
        type=count(),
        default=None,
        help="replicates (per sweep point if the file has a [sweep]); default 100",
    )
    _batch_options(p)
    _chunk_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="vary parameters over a grid or a Latin hypercube")
    p.add_argument("scenario", help=SCENARIO_HELP + " (its own [sweep] is not used)")
    p.add_argument(
        "--param",
        action="append",
        required=True,
        help="KEY=V1,V2,... (grid) or KEY=LOW:HIGH (lhs); dotted keys, repeatable",
    )
    p.add_argument(
        "--method",
        choices=["grid", "lhs"],
        default="grid",
        help="grid: every combination of the values (default); lhs: a Latin hypercube of "
        "--samples points",
    )
    p.add_argument(
        "--samples", type=count(), default=10, help="Latin hypercube points (default 10)"
    )
    p.add_argument("--replicates", type=count(), default=None, help="runs per point (default 100)")
    _batch_options(p)
    _chunk_option(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "sensitivity", help="rank the parameters of the scenario's [ranges] by their influence"
    )
    p.add_argument("scenario", help=SCENARIO_HELP + ", with a [ranges] table")
    p.add_argument(
        "--method",
        choices=["morris", "sobol"],
        default="morris",
        help="morris: elementary effects, a cheap screening (default); sobol: first-order "
        "and total variance shares",
    )
    p.add_argument(
        "--samples",
        type=count(),
        default=None,
        help="Morris trajectories (default 10) or Sobol' base samples, a power of 2 "
        "(default 64); points = N*(D+1) or N*(D+2) for D parameters",
    )
    p.add_argument(
        "--replicates",
        type=count(),
        default=10,
        help="runs per design point, averaged to tame the model's noise (default 10)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=None,
        help="analyse only this parameter of [ranges] (dotted key, repeatable)",
    )
    p.add_argument(
        "--levels", type=count(high=1000), default=4, help="Morris grid levels (even; default 4)"
    )
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
    p.add_argument(
        "--csv", type=path_text, default=None, help="also write the box table to this CSV file"
    )
    p.add_argument(
        "--alpha",
        type=fraction(0.0, 0.5),
        default=0.05,
        help="share peeled per step, in (0, 0.5) (default 0.05)",
    )
    p.add_argument(
        "--mass-min",
        type=fraction(0.0, 1.0),
        default=0.05,
        help="smallest box, as a share of runs, in (0, 1) (default 0.05)",
    )
    p.add_argument(
        "--min-coverage",
        type=fraction(0.0, 1.0, low_open=False, high_open=False),
        default=0.5,
        help="choose the densest box covering at least this share of the outcome runs, "
        "in [0, 1] (default 0.5)",
    )
    p.add_argument(
        "--step", type=count(low=0), default=None, help="choose this trajectory step instead"
    )
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser(
        "compare", help="compare batches: probabilities, differences and tests, one table"
    )
    _compare_arguments(p)
    p.add_argument(
        "--csv", type=path_text, default=None, help="also write the table to this CSV file"
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("report", help="write a self-contained HTML report comparing batches")
    _compare_arguments(p)
    p.add_argument("--out", type=path_text, required=True, help="the HTML file to write")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("validate", help="check a scenario file and print what it holds")
    p.add_argument("scenario", help=SCENARIO_HELP)
    p.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad command line (one line printed)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(
            "interrupted: finished parts are kept; run the same command to resume", file=sys.stderr
        )
        return 130
    except BrokenPipeError:  # e.g. `sim run ... | head`: the reader left, not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if not is_user_error(exc):
            raise
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
