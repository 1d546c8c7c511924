"""Benchmark: throughput, parallel efficiency, mesa.batch_run, 40 factions, Sobol', memory.

    .venv/bin/python benchmarks/benchmark.py                 # ~4 min on 2 cores
    .venv/bin/python benchmarks/benchmark.py --runs 4000 --mesa-runs 200 --sobol-samples 64 \
        --memory-runs 1000 --repeat 1                           # a quick look, ~40 s

Everything runs in one invocation on one machine, on the same scenario and the same run
seeds (run i uses ``sim.batch.experiment.run_seed(scenario seed, i)`` everywhere):

1. the compiled engine in this process (``sim.engine.replicates.run_replicates``: what a worker
   does), and the Mesa model stepped from Python (``FormationModel(...).run()``), with and
   without its DataCollectors;
2. ``sim run`` with 1 worker and with W workers (default 2), each a fresh process;
3. ``mesa.batch_run`` on the same model class and scenario with W processes;
4. parallel efficiency = rate(W workers) / (W x rate(1 worker));
5. the cost of a run of the 40-faction scenario over the baseline's (compiled engine,
   same seeds, best of the repeats);
6. the Sobol' example: ``sim sensitivity scenarios/baseline.toml --method sobol --samples
   1024 --replicates 20`` over 10 parameters, wall time of the whole command;
7. peak memory of ``sim run`` for M and 10M runs, each in a fresh process tree.

Throughput is reported two ways. "engine" times what each runner does once Python is up:
for ``sim run`` the session time in the batch manifest (pool start-up, runs, Parquet
writes; not interpreter start-up or imports), for ``mesa.batch_run`` the call itself (pool
start-up, runs, collecting results). "end to end" is the wall time of the whole process,
imports included. It is a measurement, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_SCENARIO = ROOT / "scenarios" / "baseline.toml"
SAMPLE_EVERY = 0.02  # seconds between memory samples of the process tree
TARGETS = {
    "runs_per_second": 4000,  # sim run --workers 2, end to end (issue 9)
    "vs_mesa": 1.5,
    "efficiency": 0.85,
    "faction_ratio": 3.0,  # a 40-faction run costs under 3x a baseline run
    "sobol_seconds": 120,  # the Sobol' example under 2 minutes
    "rss_ratio": 1.2,
}
SOBOL_PARAMETERS = (  # 10 of the baseline's [ranges]: bargaining, escalation, grievance, Iran
    "bargaining.office_value",
    "bargaining.safety_value",
    "bargaining.mediation_value",
    "bargaining.pm_rivalry",
    "bargaining.acceptance_noise",
    "escalation.capability_weight",
    "grievance.decay",
    "patrons.iran.mediation",
    "patrons.iran.guarantee",
    "governance.mandate_move_probability",
)
STRESS_SCENARIO = ROOT / "scenarios" / "stress_40_factions.toml"


def seeds(scenario: Path, n: int) -> list[int]:
    from sim.batch.experiment import run_seed
    from sim.scenario.loading import load_scenario

    base = load_scenario(scenario).seed
    return [run_seed(base, i) for i in range(n)]


# --------------------------------------------------------------------------- 1. in process
def engine_loop(scenario: Path, n: int, repeat: int = 1) -> float:
    """Runs per second of the compiled engine in this process: what one worker can do."""
    import numpy as np

    from sim.engine.replicates import run_replicates
    from sim.scenario.loading import load_scenario

    sc = load_scenario(scenario)
    run_seeds = np.array(seeds(scenario, n), dtype=np.int64)
    run_replicates(sc, run_seeds[:10])  # load the compiled code
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        run_replicates(sc, run_seeds)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def mesa_loop(scenario: Path, n: int, record_series: bool) -> float:
    """Runs per second of the Mesa model stepped from Python, one week a call."""
    from sim.mesa.model import FormationModel
    from sim.scenario.loading import load_scenario

    sc = load_scenario(scenario)
    run_seeds = seeds(scenario, n)
    FormationModel(sc, seed=run_seeds[0], record_series=record_series).run()  # warm caches
    t0 = time.perf_counter()
    for s in run_seeds:
        FormationModel(sc, seed=s, record_series=record_series).run().outcome()
    return n / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- 2. sim run
def sim_run(scenario: Path, n: int, workers: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", "sim.cli.main", "run", str(scenario), "--runs", str(n)]
    cmd += ["--workers", str(workers), "--out", str(out), "--overwrite", "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sim run failed ({proc.returncode}):\n{proc.stderr}")
    session = json.loads((out / "manifest.json").read_text())["sessions"][-1]
    return {"engine": n / session["seconds"], "end_to_end": n / wall}


# --------------------------------------------------------------------------- 3. mesa
def mesa_child(scenario: str, n: int, processes: int) -> None:
    """In a fresh interpreter (``import mesa`` sets the start method to spawn for good)."""
    import mesa

    import sim

    run_seeds = seeds(Path(scenario), n)
    t0 = time.perf_counter()
    rows = mesa.batch_run(
        sim.FormationModel,
        parameters={"scenario": scenario, "seed": run_seeds},
        number_processes=processes,
        iterations=1,
        max_steps=10_000,  # the model stops itself; never cut a run short
        data_collection_period=-1,
        display_progress=False,
    )
    seconds = time.perf_counter() - t0
    assert len(rows) == n, f"batch_run returned {len(rows)} rows for {n} runs"
    print(json.dumps({"seconds": seconds, "columns": sorted(rows[0])}))


def mesa_batch_run(scenario: Path, n: int, processes: int) -> dict:
    cmd = [sys.executable, __file__, "--mesa-child", str(scenario), str(n), str(processes)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"mesa.batch_run failed:\n{proc.stderr}")
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"engine": n / child["seconds"], "end_to_end": n / wall, "columns": child["columns"]}


# --------------------------------------------------------------------------- 6. Sobol'
def sobol(samples: int, replicates: int, workers: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", "sim.cli.main", "sensitivity", str(DEFAULT_SCENARIO)]
    cmd += ["--method", "sobol", "--samples", str(samples), "--replicates", str(replicates)]
    cmd += ["--workers", str(workers), "--out", str(out), "--overwrite", "--quiet"]
    for key in SOBOL_PARAMETERS:
        cmd += ["--param", key]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sim sensitivity failed ({proc.returncode}):\n{proc.stderr}")
    summary = json.loads((out / "sensitivity" / "summary.json").read_text())
    return {"seconds": wall, "runs": summary["runs"], "points": summary["points"]}


# --------------------------------------------------------------------------- 7. memory
def _tree_memory(root: int) -> tuple[int, int]:
    """(RSS, PSS) summed over a process and its descendants, in bytes.

    RSS counts pages that forked workers share with the parent once per process; PSS
    splits them among the sharers, so its sum is the tree's real footprint.
    """
    import psutil

    try:
        procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    rss = pss = 0
    for p in procs:
        try:
            rss += p.memory_info().rss
            with open(f"/proc/{p.pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss, pss


def peak_memory(scenario: Path, n: int, workers: int, out: Path) -> dict:
    """Peak memory of ``sim run`` with n runs, in a fresh process tree of its own."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "code = subprocess.call(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(code)\n"
    )
    cmd = [
        sys.executable,
        "-c",
        wrapper,
        sys.executable,
        "-m",
        "sim.cli.main",
        "run",
        str(scenario),
    ]
    cmd += ["--runs", str(n), "--workers", str(workers), "--out", str(out), "--overwrite"]
    cmd += ["--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    peak_rss = peak_pss = 0
    while proc.poll() is None:
        rss, pss = _tree_memory(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(SAMPLE_EVERY)
    lines = proc.stdout.read().strip().splitlines()
    proc.stdout.close()
    if proc.returncode != 0:
        raise SystemExit(f"sim run --runs {n} failed ({proc.returncode})")
    largest_kib = int(lines[-1])  # ru_maxrss is in KiB on Linux
    return {"tree_rss": peak_rss, "tree_pss": peak_pss, "largest_process": largest_kib * 1024}


# --------------------------------------------------------------------------- report
def best(results: list[dict]) -> dict:
    """Best of the repeats: the run least disturbed by whatever else the machine did."""
    return {k: max(r[k] for r in results) if k != "columns" else results[0][k] for k in results[0]}


def mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.0f} MiB"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20_000, help="N for sim run (default 20000)")
    parser.add_argument(
        "--mesa-runs", type=int, default=1000, help="runs for the Mesa model and batch_run"
    )
    parser.add_argument(
        "--memory-runs", type=int, default=2000, help="M: peak memory at M and 10M (default 2000)"
    )
    parser.add_argument("--workers", type=int, default=2, help="W, workers/processes (default 2)")
    parser.add_argument(
        "--repeat", type=int, default=2, help="throughput repeats, best kept (default 2)"
    )
    parser.add_argument(
        "--sobol-samples", type=int, default=1024, help="Sobol' base samples (0: skip)"
    )
    parser.add_argument("--sobol-replicates", type=int, default=20)
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    args = parser.parse_args()
    n, m, w, scenario = args.runs, args.memory_runs, args.workers, args.scenario.resolve()
    nm = args.mesa_runs

    import mesa
    import numba
    import numpy

    print(
        f"benchmark: {scenario.name}, N={n} runs (Mesa: {nm}), W={w}, best of {args.repeat}; "
        f"memory at M={m} and 10M={10 * m} runs"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, mesa {mesa.__version__}, numpy "
        f"{numpy.__version__}, numba {numba.__version__}; load average before: "
        f"{os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="sim-bench-") as tmp:
        tmp = Path(tmp)
        trials = []
        for _ in range(args.repeat):  # interleaved, so a burst of outside load hits all alike
            trials.append(
                {
                    "engine": engine_loop(scenario, n),
                    "stress": engine_loop(STRESS_SCENARIO, n // 4),
                    "base_short": engine_loop(scenario, n // 4),
                    "mesa_model": mesa_loop(scenario, nm, record_series=False),
                    "mesa_model_dc": mesa_loop(scenario, nm, record_series=True),
                    "one": sim_run(scenario, n, 1, tmp / "w1"),
                    "many": sim_run(scenario, n, w, tmp / f"w{w}"),
                    "mesa": mesa_batch_run(scenario, nm, w),
                }
            )
        engine, model, model_dc = (
            max(t[k] for t in trials) for k in ("engine", "mesa_model", "mesa_model_dc")
        )
        # per-run cost, stress over baseline, in the same repeat (same outside load)
        faction_ratio = min(t["base_short"] / t["stress"] for t in trials)
        one, many, mesa_w = (best([t[k] for t in trials]) for k in ("one", "many", "mesa"))
        mem_n = peak_memory(scenario, m, w, tmp / "m1")
        mem_10n = peak_memory(scenario, 10 * m, w, tmp / "m10")
        sobol_run = None
        if args.sobol_samples:
            sobol_run = sobol(args.sobol_samples, args.sobol_replicates, w, tmp / "sobol")
    efficiency = many["engine"] / (w * one["engine"])
    vs_mesa = many["engine"] / mesa_w["engine"]
    vs_mesa_e2e = many["end_to_end"] / mesa_w["end_to_end"]
    rss_ratio = mem_10n["tree_rss"] / mem_n["tree_rss"]

    print("\nthroughput (runs per second)                           engine   end to end")
    rows = [
        ("compiled engine, in process (one worker's work)", engine, None),
        ("Mesa model stepped from Python", model, None),
        ("Mesa model stepped from Python, with DataCollectors", model_dc, None),
        ("sim run --workers 1", one["engine"], one["end_to_end"]),
        (f"sim run --workers {w}", many["engine"], many["end_to_end"]),
        (f"mesa.batch_run, {w} processes", mesa_w["engine"], mesa_w["end_to_end"]),
    ]
    for label, rate, e2e in rows:
        print(f"  {label:<52}{rate:>9.1f}   {'' if e2e is None else f'{e2e:>10.1f}'}")
    print(
        f"  sim run, 1 worker: {100 * one['engine'] / engine:.0f}% of the in-process engine; "
        f"{w} workers: {100 * many['engine'] / (w * engine):.0f}% of {w}x it\n"
        f"  mesa.batch_run returns {len(mesa_w['columns'])} columns a run, in memory; sim run "
        "writes the full run table to Parquet"
    )
    print("\npeak memory of `sim run` (fresh process tree each)")
    for key, label in (
        ("tree_rss", "RSS, parent + workers (sampled)"),
        ("tree_pss", "PSS, parent + workers (sampled)"),
        ("largest_process", "largest single process (getrusage)"),
    ):
        ratio = mem_10n[key] / mem_n[key]
        print(
            f"  {label:<40} {m:>6} runs {mib(mem_n[key]):>9}   {10 * m:>6} runs "
            f"{mib(mem_10n[key]):>9}   ratio {ratio:.3f}"
        )
    print("\ntargets")
    e2e = many["end_to_end"]
    print(
        f"  sim run --workers {w}, {n} runs, end to end: {e2e:,.0f} runs/s "
        f"({many['engine']:,.0f} engine); target >= {TARGETS['runs_per_second']:,}: "
        f"{verdict(e2e >= TARGETS['runs_per_second'])}"
    )
    print(
        f"  throughput vs mesa.batch_run at {w} processes: {vs_mesa:.1f}x engine "
        f"({vs_mesa_e2e:.1f}x end to end); target >= {TARGETS['vs_mesa']}x: "
        f"{verdict(vs_mesa >= TARGETS['vs_mesa'])}"
    )
    print(
        f"  parallel efficiency at {w} workers: {100 * efficiency:.1f}%; target >= "
        f"{100 * TARGETS['efficiency']:.0f}%: {verdict(efficiency >= TARGETS['efficiency'])}"
    )
    print(
        f"  a 40-faction run costs {faction_ratio:.2f}x a baseline run; target < "
        f"{TARGETS['faction_ratio']}x: {verdict(faction_ratio < TARGETS['faction_ratio'])}"
    )
    if sobol_run:
        print(
            f"  Sobol' example ({args.sobol_samples} samples x {args.sobol_replicates} "
            f"replicates, {len(SOBOL_PARAMETERS)} parameters: {sobol_run['points']:,} points, "
            f"{sobol_run['runs']:,} runs): {sobol_run['seconds']:.0f} s wall; target < "
            f"{TARGETS['sobol_seconds']} s: "
            f"{verdict(sobol_run['seconds'] < TARGETS['sobol_seconds'])}"
        )
    print(
        f"  peak RSS at {10 * m} runs / at {m} runs: {rss_ratio:.3f}; target <= "
        f"{TARGETS['rss_ratio']}: {verdict(rss_ratio <= TARGETS['rss_ratio'])}"
    )
    print(
        f"  (benchmark took {time.perf_counter() - START:.0f} s; load average after: "
        f"{os.getloadavg()[0]:.2f})"
    )


START = time.perf_counter()

if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--mesa-child":
        mesa_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
