"""The run, sweep and validate commands, as a user runs them: worker counts, resume after
kill -9, refusals, failed runs and the exit status, progress output, sweeps; --help,
--version and help texts, and a start-up that imports nothing heavy.

Commands run in this process (``sim.cli.main``) unless a real process is the point: a kill,
a closed pipe, a terminal, what a fresh interpreter imports."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import BASELINE, ROOT, plant_failures, run_cli

import sim
import sim.batch.experiment
import sim.batch.outputs
from sim.batch.directory import MANIFEST
from sim.batch.experiment import prepare
from sim.batch.parts import RUNS_DIR
from sim.batch.results import load_manifest, load_results, part_paths
from sim.batch.runner import run_batch
from sim.cli.main import main
from sim.cli.options import build_parser


def in_process_error(capsys, *args: str) -> str:
    """The same contract, in this process (no interpreter start-up per case)."""
    assert main(list(args)) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0]


def test_one_and_two_workers_write_the_same_table(tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    args = ("run", str(BASELINE), "--runs", "20", "--quiet")
    assert main([*args, "--workers", "1", "--out", str(one)]) == 0
    assert "20 runs (20 now, 0 resumed), 0 failed" in capsys.readouterr().out
    assert main([*args, "--workers", "2", "--chunk-size", "3", "--out", str(two)]) == 0
    assert "on 2 worker(s) [local]" in capsys.readouterr().out
    assert len(part_paths(two)) == 7  # ceil(20 / 3): --chunk-size reaches the engine
    pd.testing.assert_frame_equal(load_results(one), load_results(two))


@pytest.mark.slow  # a real batch killed and resumed: ~20 s
def test_resume_after_kill_9_finishes_only_the_missing_runs(tmp_path):
    runs, out = 300, tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim.cli.main", "run", str(BASELINE), "--runs", str(runs)]
    cmd += ["--workers", "2", "--chunk-size", "5", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not part_paths(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, as a crash would
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    proc.stderr.close()
    with pytest.warns(UserWarning, match="incomplete"):
        kept = len(load_results(out, columns=["run_id"]))
    assert 0 < kept < runs, "killed mid-batch"
    assert load_manifest(out)["status"] == "running"

    again = run_cli(*cmd[3:])
    assert again.returncode == 0, again.stderr
    assert f"{runs} runs ({runs - kept} now, {kept} resumed), 0 failed" in again.stdout
    assert not list((out / RUNS_DIR).glob(".*")), "no temporary files left"
    resumed = load_results(out)
    assert resumed["run_id"].tolist() == list(range(runs)), "every run exactly once"
    reference = tmp_path / "reference"
    run_batch(prepare(BASELINE, runs=runs), reference, workers=2, quiet=True)
    pd.testing.assert_frame_equal(resumed, load_results(reference))
    assert load_manifest(out)["status"] == "complete"


def test_a_directory_with_another_batch_is_refused_unless_overwrite(
    tmp_path, make_scenario, capsys
):
    out = str(tmp_path / "b")
    assert main(["run", str(BASELINE), "--runs", "3", "--quiet", "--out", out]) == 0
    manifest = (tmp_path / "b" / MANIFEST).read_text()
    variant = make_scenario("[patrons.iran]\nmediation = 0.2\n")
    line = in_process_error(capsys, "run", str(variant), "--runs", "3", "--out", out)
    assert "holds a different batch" in line and "scenario (hash" in line and "--overwrite" in line
    line = in_process_error(capsys, "run", str(BASELINE), "--runs", "2", "--out", out)
    assert "holds 3 runs of this batch; --runs 2 asks for fewer" in line
    assert (tmp_path / "b" / MANIFEST).read_text() == manifest, "the refused batch wrote nothing"
    argv = ["run", str(variant), "--runs", "2", "--quiet", "--overwrite", "--out", out]
    assert main(argv) == 0
    assert load_manifest(out)["scenario_path"] == str(variant)
    assert len(load_results(out)) == 2


def test_failed_runs_are_recorded_counted_and_set_the_exit_status(tmp_path, monkeypatch, capsys):
    bad = {sim.batch.experiment.run_seed(prepare(BASELINE).seed, 1)}

    def fail(seed):
        if seed in bad:
            raise ValueError("planted")

    plant_failures(monkeypatch, fail)
    out = tmp_path / "b"
    status = main(["run", str(BASELINE), "--runs", "6", "--workers", "2", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 1
    assert "6 runs (6 now, 0 resumed), 1 failed" in captured.out
    assert "1 run(s) failed: see the 'error' column" in captured.err
    table = load_results(out)
    row = table[table["error"].notna()]
    assert row["run_id"].tolist() == [1] and set(row["seed"]) == bad
    assert "ValueError: planted" in row["error"].iloc[0]
    assert table["error"].isna().sum() == 5


def test_progress_is_plain_lines_when_not_a_terminal_and_silenced_by_quiet(tmp_path, capsys):
    args = ["run", str(BASELINE), "--runs", "4", "--workers", "1"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    proc = capsys.readouterr()  # stderr is not a terminal here
    lines = proc.err.strip().splitlines()
    assert lines[0] == "batch: 4 of 4 runs to do"
    assert lines[-1].startswith("progress: 4/4 runs (100%)") and "runs/s, ETA" in lines[-1]
    assert "progress:" not in proc.out and "\x1b[" not in proc.err, "no bar, no escapes"
    assert main([*args, "--quiet", "--out", str(tmp_path / "b")]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == ""

    def same(text: str) -> str:  # the summary, less its timing and output directory
        text = text.replace(str(tmp_path / "a"), str(tmp_path / "b"))
        return re.sub(r"\d+\.\d+ s on", "T s on", text)

    assert same(quiet.out) == same(proc.out)


def test_sweep_command_adds_parameter_columns_with_common_random_numbers(tmp_path):
    out = tmp_path / "s"
    status = main([
        "sweep", str(BASELINE), "--param", "patrons.iran.mediation=0.3,0.9",
        "--param", "grievance.decay=0.03,0.06", "--replicates", "2", "--workers", "2",
        "--quiet", "--out", str(out),
    ])  # fmt: skip
    assert status == 0
    table = load_results(out)
    assert len(table) == 8
    by_point = table.groupby(["patrons.iran.mediation", "grievance.decay"])["seed"]
    assert sorted(by_point.size().index) == [(0.3, 0.03), (0.3, 0.06), (0.9, 0.03), (0.9, 0.06)]
    assert (by_point.apply(list).apply(tuple).nunique()) == 1, "the same seeds at every point"
    assert load_manifest(out)["sweep"]["parameters"] == [
        "patrons.iran.mediation",
        "grievance.decay",
    ]


def test_lhs_sweep_from_the_command_line(tmp_path):
    out = tmp_path / "lhs"
    status = main([
        "sweep", str(BASELINE), "--method", "lhs", "--samples", "3",
        "--param", "grievance.decay=0.02:0.08", "--replicates", "1", "--quiet", "--out", str(out),
    ])  # fmt: skip
    assert status == 0
    values = load_results(out)["grievance.decay"]
    assert values.nunique() == 3 and values.between(0.02, 0.08).all()


def test_sweep_table_in_a_scenario_file_runs_and_validates(tmp_path, make_scenario, capsys):
    path = make_scenario(
        '[sweep]\nmethod = "grid"\nreplicates = 2\n'
        '[sweep.parameters]\n"clock.follow_up_weeks" = [4, 8]\n'
    )
    assert main(["validate", str(path)]) == 0
    assert "2 point(s)" in capsys.readouterr().out
    assert main(["run", str(path), "--quiet", "--out", str(tmp_path / "b")]) == 0
    table = load_results(tmp_path / "b")
    assert table.groupby("clock.follow_up_weeks").size().to_dict() == {4.0: 2, 8.0: 2}


@pytest.mark.parametrize(
    "body, key",
    [
        ('"patrons.iran.nope" = [1]', "sweep.parameters.patrons.iran.nope"),
        ('"patrons.iran.mediation" = [0.5, 7]', "sweep.parameters.patrons.iran.mediation"),
        ('"grievance.decay" = { low = 0.1 }', "sweep.parameters.grievance.decay"),
    ],
)
def test_invalid_sweep_in_a_file_is_a_one_line_error_and_writes_nothing(
    tmp_path, make_scenario, capsys, body, key
):
    method = "lhs" if "low" in body else "grid"
    path = make_scenario(f'[sweep]\nmethod = "{method}"\n[sweep.parameters]\n{body}')
    out = tmp_path / "never"
    for command in (("validate", str(path)), ("run", str(path), "--out", str(out))):
        line = in_process_error(capsys, *command)
        assert str(path) in line and key in line
    assert not out.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--param", "grievance.decay=a,b"], "values must be numbers"),
        (["--param", "grievance.decay"], "expected KEY=V1,V2"),
        (["--param", "grievance.decay=0.1", "--param", "grievance.decay=0.2"], "more than once"),
        (["--method", "lhs", "--param", "grievance.decay=0.1"], "LOW:HIGH"),
        (["--param", "clock.follow_up_weeks=2.5"], "integer"),
        (["--param", "grievance.decay=0.1", "--workers", "0"], "--workers: must be a positive"),
        (["--param", "grievance.decay=0.1", "--replicates", "0"], "--replicates: must be"),
        (["--param", "grievance.decay=0.1", "--scheduler", "tcp://x:1"], "needs --backend dask"),
    ],
)
def test_bad_sweep_options_are_one_line_errors(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    line = in_process_error(capsys, "sweep", str(BASELINE), *args, "--out", str(out))
    assert message in line
    assert not out.exists()


@pytest.mark.slow  # real interpreters: about 2.5 s
def test_a_closed_stdout_is_not_a_traceback(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.cli.main",
            "run",
            str(BASELINE),
            "--runs",
            "2",
            "--quiet",
            "--out",
            str(tmp_path / "b"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # like `sim run ... | head -0`
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait() == 141 and "Traceback" not in err and "BrokenPipe" not in err


def test_default_output_directory_is_results_slash_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(BASELINE), "--runs", "2", "--quiet"]) == 0
    manifest = json.loads((tmp_path / "results" / "baseline" / MANIFEST).read_text())
    assert manifest["runs"] == 2 and manifest["status"] == "complete"


@pytest.mark.slow  # a real interpreter on a pseudo-terminal: about 2.5 s
def test_progress_is_a_bar_with_rate_and_eta_on_a_terminal(tmp_path):
    """stderr on a pseudo-terminal: a live bar there, and only the summary on stdout."""
    pty = pytest.importorskip("pty")
    import select

    master, slave = pty.openpty()
    cmd = [sys.executable, "-m", "sim.cli.main", "run", str(BASELINE), "--runs", "40"]
    cmd += ["--workers", "2", "--chunk-size", "4", "--out", str(tmp_path / "b")]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    seen = b""
    while True:  # drain the terminal as the bar redraws, or it could fill and block
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed its end
                break
            if not data:
                break
            seen += data
        elif proc.poll() is not None:
            break
    os.close(master)
    out = proc.stdout.read()
    proc.stdout.close()
    assert proc.wait() == 0
    bar = seen.decode(errors="replace")
    assert "━" in bar and "40/40" in bar and "runs/s" in bar and "ETA" in bar
    assert "progress:" not in bar
    assert "━" not in out and out.startswith("baseline: 40 runs")


def test_a_plain_install_needs_no_dask(tmp_path, monkeypatch):
    """Dask is an optional extra: the CLI never imports it, and asking for it without it
    installed is a clear error."""
    probe = "import sys, sim, sim.cli, sim.batch; print('dask' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.stdout.strip() == "False", proc.stderr
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if not installed
    with pytest.raises(sim.batch.outputs.BatchError, match=r"pip install '\.\[dask\]'"):
        run_batch(prepare(BASELINE, runs=2), tmp_path / "b", backend="dask", quiet=True)
    assert not (tmp_path / "b").exists()


# --------------------------------------------------------------------------- start-up and help
HEAVY = ("mesa", "numpy", "pandas", "pyarrow", "scipy", "matplotlib", "pydantic", "SALib")


def test_help_and_a_bad_flag_import_nothing_heavy():
    """`sim --help`, `sim --version` and a refused flag answer before the model, Mesa or
    pandas are imported (seconds of start-up); `import sim` stays as light."""
    probe = (
        "import sys, sim, sim.cli.options\n"
        "for argv in (['--help'], ['--version'], ['run', 'x.toml', '--runs', '0']):\n"
        "    try:\n"
        "        sim.cli.options.build_parser().parse_args(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr


def test_version_is_the_installed_package_version(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"sim {version('sim')}\n"


def test_sim_help_in_a_real_process_lists_every_command():
    proc = run_cli("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    commands = ("run", "sweep", "sensitivity", "discover", "compare", "report", "backtest")
    for command in (*commands, "validate", "view"):
        assert command in proc.stdout
    assert "--version" in proc.stdout


def test_every_argument_of_every_command_has_help_text():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    from sim.cli.main import COMMANDS

    assert set(commands.choices) == set(COMMANDS)  # every command parsed is run, and back
    assert "view" in COMMANDS
    for name, sub in [("sim", parser), *commands.choices.items()]:
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            assert action.help and action.help.strip(), f"{name} {action.dest}"


def test_the_api_keeps_its_functions_whatever_was_imported_first():
    """``sim.compare`` is the function, whatever was imported first: the module that defines
    it lives in a sub-package (``sim.analysis.compare``), so no submodule shadows it."""
    import sim.analysis.compare as module

    assert callable(sim.compare) and sim.compare is module.compare
    assert sim.compare.__module__ == "sim.analysis.compare"
    assert sim.load_results is load_results and "plot_outcomes" in dir(sim)
