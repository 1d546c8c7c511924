"""The command line's grammar: the commands, their options and help texts, and a parser
whose errors are one line (the options' value types are in ``sim.option_types``).

Checked here, while the command line is parsed, a bad flag costs nothing: no scenario is
read, no heavy module imported, nothing written. Every message says which option, what is
wrong and what is allowed, in the same ``error: WHERE: KEY: ...`` form as a scenario's.
This module imports only the standard library, so ``sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys

from sim.analysis.settings import (
    CORRECTIONS,
    DEFAULT_SAMPLES,
    NUMERIC_TESTS,
    SENSITIVITY_METHODS,
)  # fmt: skip
from sim.batch.settings import BACKENDS, CHUNKS_PER_WORKER, DEFAULT_MAX_RUNS, MAX_CHUNK
from sim.cli.option_types import count, fraction, one_line, path_text, seed
from sim.engine.limits import SEED_LIMIT
from sim.scenario.settings import DESIGNS


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line on stderr and exit status 2, without
    the usage block argparse would print first (``sim COMMAND --help`` shows it)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.startswith("argument "):
            message = message[len("argument ") :]
        sys.stderr.write(f"error: {self.prog}: {one_line(message)}\n")
        sys.exit(2)


class VersionAction(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, **kw):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("sim")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown (not installed)"
        print(f"sim {number}")
        parser.exit(0)


# --------------------------------------------------------------------------- the commands
def cores() -> int:
    """All cores this process may use (as ``sim.batch.runner.default_workers``, without importing
    the engine to print a help text)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


SCENARIO_HELP = "scenario TOML file, e.g. scenarios/baseline.toml"


def _batch_options(
    p: argparse.ArgumentParser,
    seed_from: str = "the scenario's",
    out_default: str = "results/<name>",
    cluster: bool = True,
) -> None:
    """A batch's options: seed, output directory, workers, (with ``cluster``) the backend and
    scheduler, overwrite and quiet; the defaults' wording is the command's."""
    p.add_argument(
        "--seed", type=seed, default=None, help=f"batch seed, 0 to 2**63-1 (default: {seed_from})"
    )
    p.add_argument(
        "--out", type=path_text, default=None, help=f"output directory (default: {out_default})"
    )
    p.add_argument(
        "--workers",
        type=count(high=4096),
        default=None,
        help=f"worker processes (default: all cores, {cores()} here)",
    )
    if cluster:
        _cluster_options(p)
    p.add_argument(
        "--overwrite", action="store_true", help="replace whatever batch the output directory holds"
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="local: processes on this machine (default); dask: a Dask cluster, a local one "
        "or --scheduler's (same results either way)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="address of a running Dask scheduler (with --backend dask)",
    )


def _chunk_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--chunk-size",
        type=count(high=100_000),
        default=None,
        help="runs per chunk sent to a worker and per Parquet part (default: about "
        f"{CHUNKS_PER_WORKER} chunks per worker, at most {MAX_CHUNK}); never changes the results",
    )


def _compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dirs", nargs="+", metavar="DIR", help="batch directories; the first is the reference"
    )
    p.add_argument("--by", default=None, help="compare the values of this swept parameter")
    p.add_argument(
        "--correction",
        choices=CORRECTIONS,
        default=CORRECTIONS[0],
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
        choices=NUMERIC_TESTS,
        default=NUMERIC_TESTS[0],
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
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--runs",
        type=count(),
        default=None,
        help="replicates (per sweep point if the file has a [sweep]); default 100",
    )
    size.add_argument(
        "--precision",
        type=fraction(0.0, 0.5),
        default=None,
        metavar="H",
        help="adaptive replication: add runs until every probability's 95%% interval "
        "(anytime-valid) is at most ±H wide, H in (0, 0.5), e.g. 0.01; instead of --runs",
    )
    p.add_argument(
        "--max-runs",
        type=count(),
        default=None,
        help="with --precision: stop at this many runs even if not precise (default "
        f"{DEFAULT_MAX_RUNS})",
    )
    _batch_options(p)
    _chunk_option(p)

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
        choices=DESIGNS,
        default=DESIGNS[0],
        help="grid: every combination of the values (default); lhs: a Latin hypercube of "
        "--samples points",
    )
    p.add_argument(
        "--samples", type=count(), default=10, help="Latin hypercube points (default 10)"
    )
    p.add_argument("--replicates", type=count(), default=None, help="runs per point (default 100)")
    _batch_options(p)
    _chunk_option(p)

    p = sub.add_parser(
        "sensitivity", help="rank the parameters of the scenario's [ranges] by their influence"
    )
    p.add_argument("scenario", help=SCENARIO_HELP + ", with a [ranges] table")
    p.add_argument(
        "--method",
        choices=SENSITIVITY_METHODS,
        default=SENSITIVITY_METHODS[0],
        help="morris: elementary effects, a cheap screening (default); sobol: first-order "
        "and total variance shares",
    )
    p.add_argument(
        "--samples",
        type=count(),
        default=None,
        help=f"Morris trajectories (default {DEFAULT_SAMPLES['morris']}) or Sobol' base "
        f"samples, a power of 2 (default {DEFAULT_SAMPLES['sobol']}); points = N*(D+1) or "
        "N*(D+2) for D parameters",
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

    p = sub.add_parser(
        "compare", help="compare batches: probabilities, differences and tests, one table"
    )
    _compare_arguments(p)
    p.add_argument(
        "--csv", type=path_text, default=None, help="also write the table to this CSV file"
    )
    p.add_argument(
        "--gamson",
        action="store_true",
        help="also print, per batch, each government list's mean cabinet share against its "
        "mean seat share, and their pooled line (Gamson's law: slope 1, intercept 0)",
    )
    p.add_argument(
        "--gamson-csv",
        type=path_text,
        default=None,
        metavar="CSV",
        help="write that table (one row per batch and list) to this CSV file; implies --gamson",
    )

    p = sub.add_parser("report", help="write a self-contained HTML report comparing batches")
    _compare_arguments(p)
    p.add_argument("--out", type=path_text, required=True, help="the HTML file to write")

    p = sub.add_parser(
        "backtest",
        help="score the model against a recorded contest: a case file's conditions, weeks "
        "to government and government type",
    )
    p.add_argument(
        "case", help="case TOML file, e.g. scenarios/cases/first_month_2021.toml (see README)"
    )
    p.add_argument("--runs", type=count(), default=None, help="runs (default: the case's)")
    _batch_options(p, "the case's", "results/<case>_backtest", cluster=False)
    p.add_argument("--json", action="store_true", help="print the score as JSON")

    p = sub.add_parser("validate", help="check a scenario file and print what it holds")
    p.add_argument("scenario", help=SCENARIO_HELP)

    p = sub.add_parser(
        "explain",
        help="replay one run with its event log: a timeline, why it ended as it did, and a "
        "check against its batch",
    )
    p.add_argument(
        "source", help="a batch directory (then give RUN_ID) or a scenario file (then --seed)"
    )
    p.add_argument(
        "run_id", nargs="?", type=count(low=0, high=2**62), default=None,
        help="the run's run_id in the batch's table",
    )  # fmt: skip
    p.add_argument(
        "--seed", type=count(low=0, high=SEED_LIMIT - 1), default=None,
        help="with a scenario file: the run's seed (a batch's table has a seed column)",
    )  # fmt: skip
    p.add_argument(
        "--json", action="store_true",
        help='print {"run_id", "matches_table", "events", "series", ...} as JSON instead',
    )  # fmt: skip
    p.add_argument(
        "--plot", type=path_text, default=None,
        help="also draw the run (grievance and rung by week, sessions marked) to this PNG",
    )  # fmt: skip

    p = sub.add_parser(
        "storylines",
        help="group a batch's runs into the few paths they take, with each path's share, "
        "typical timeline and a run to explain",
    )
    p.add_argument("directory", help="a batch directory (sim run's --out)")
    p.add_argument(
        "--paths", type=count(low=1, high=50), default=5,
        help="how many paths at most, 1 to 50 (default 5)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the paths as JSON instead")

    p = sub.add_parser(
        "view",
        help="watch one run in the browser: blocs, escalation, grievance, events by week "
        "(needs the viz extra)",
    )
    p.add_argument("scenario", help=SCENARIO_HELP + "; its [ranges] become sliders")
    p.add_argument(
        "--seed",
        type=seed,
        default=None,
        help="the run's seed, 0 to 2**63-1, in the page's seed box (default: the scenario's)",
    )
    p.add_argument(
        "--port", type=count(high=65535), default=8765, help="port to serve on (default 8765)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )

    sub.add_parser(
        "processes",
        help="list the model's weekly processes in order, with what each reads and writes",
    )
    return parser
