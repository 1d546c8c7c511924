"""Signals and dead processes, as a user meets them: the ``sim`` command in a subprocess,
a worker killed with kill -9, Ctrl-C, SIGTERM and kill -9 of the batch itself, on the
local pool and on Dask. Each ends with one line (none for kill -9 of the batch, which
cannot be caught) and no worker traceback; no worker outlives the batch; the same command
then finishes it with the table an uninterrupted batch writes. Marked slow: each test
starts interpreters and runs a few hundred runs; a hang fails within ``HANG`` seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from conftest import BASELINE, ROOT

from sim.batch.experiment import prepare
from sim.batch.parts import RUNS_DIR
from sim.batch.results import load_manifest, load_results, part_paths
from sim.batch.runner import run_batch

HANG = 120  # seconds: a batch still running after this is hung (never a timing check)
# A run takes about 0.2 ms: batches are sized so that, in chunks of 5, they are still
# running when the test's signal arrives (a part written is the test's cue).
RUNS = 3000


def _start(out: Path, runs: int = RUNS, *extra: str) -> tuple[subprocess.Popen, list[str]]:
    cmd = [sys.executable, "-m", "sim.cli.main", "run", str(BASELINE), "--runs", str(runs)]
    cmd += ["--workers", "2", "--chunk-size", "5", "--quiet", "--out", str(out), *extra]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal job is
    )
    return proc, cmd


def _wait_for_new_part(proc: subprocess.Popen, out: Path, before: int) -> None:
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / RUNS_DIR).is_dir() and len(list((out / RUNS_DIR).glob("part-*"))) > before:
            return
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"no part appeared; the batch said: {proc.communicate()[1]}")


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    parent = psutil.Process(proc.pid)
    return [c for c in parent.children() if c.cmdline() == parent.cmdline()]  # forked


def _all_dead(processes: list[psutil.Process]) -> bool:
    """Every process dead (a zombie until init reaps it), not running a chunk; waits a
    bounded time, since a killed process takes a moment to exit."""

    def dead(p: psutil.Process) -> bool:
        try:
            return p.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
        except psutil.NoSuchProcess:
            return True

    deadline = time.monotonic() + HANG
    while not all(dead(p) for p in processes):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _finish(proc: subprocess.Popen) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the batch hung")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    run_batch(prepare(BASELINE, runs=RUNS), out, workers=2, quiet=True)
    return load_results(out)


@pytest.mark.slow
def test_kill_9_of_a_worker_is_detected_and_its_chunks_rerun(tmp_path, reference):
    """The pool notices the dead worker at once (it used to wait forever), sends the chunks
    it had to a fresh pool, says so in one warning line and completes the batch."""
    out = tmp_path / "b"
    proc, cmd = _start(out)
    _wait_for_new_part(proc, out, 0)
    victim = _workers(proc)[0]
    victim.kill()
    stdout, stderr = _finish(proc)
    assert proc.returncode == 0, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("warning: a worker process died; ")
    assert lines[0].endswith("unfinished chunk(s) sent again to a fresh pool")
    assert f"{RUNS} runs ({RUNS} now, 0 resumed), 0 failed" in stdout
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert again.returncode == 0 and f"(0 now, {RUNS} resumed)" in again.stdout, again.stderr
    pd.testing.assert_frame_equal(load_results(out), reference)


@pytest.mark.slow
def test_every_signal_ends_the_batch_with_one_line_and_the_rerun_resumes(tmp_path, reference):
    """Ctrl-C (SIGINT to the process group), SIGTERM to the batch, kill -9 of the batch:
    one line (none for kill -9, which cannot be caught) and no worker traceback; the
    workers are gone; every finished part is kept, and the same command completes it."""
    out = tmp_path / "b"
    expected = {
        "SIGINT": (130, "interrupted: finished parts are kept; run the same command to resume"),
        "SIGTERM": (143, "stopped by SIGTERM: finished parts are kept; run the same command to "),
        "SIGKILL": (-signal.SIGKILL, ""),
    }
    cmd: list[str] = []
    for name, (status, line) in expected.items():
        before = len(list((out / RUNS_DIR).glob("part-*"))) if out.exists() else 0
        proc, cmd = _start(out)
        _wait_for_new_part(proc, out, before)
        workers = _workers(proc)
        assert workers, "a pool of workers"
        if name == "SIGINT":
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        else:
            os.kill(proc.pid, getattr(signal, name))
        _, stderr = _finish(proc)  # returns once every writer of stderr is gone
        assert proc.returncode == status, stderr
        assert "Traceback" not in stderr and "Error" not in stderr, stderr
        if line:
            assert stderr.count("\n") == 1 and stderr.startswith(line), stderr
        else:
            assert stderr == ""
        assert _all_dead(workers), f"{name}: a worker outlived the batch"
        assert load_manifest(out)["status"] == "running"
        assert not list((out / RUNS_DIR).glob(".*.tmp")) or name == "SIGKILL"
    kept = len(part_paths(out)) * 5
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert f"{RUNS} runs ({RUNS - kept} now, {kept} resumed)" in again.stdout
    pd.testing.assert_frame_equal(load_results(out), reference)


@pytest.mark.slow
def test_signals_on_the_dask_backend_are_one_line_too(tmp_path):
    """The LocalCluster's processes ignore Ctrl-C and keep their logs to themselves: it
    used to print about 90 lines of cancelled tasks and connection tracebacks."""
    pytest.importorskip("dask.distributed")
    out = tmp_path / "d"
    proc, _ = _start(out, 20 * RUNS, "--backend", "dask")  # dask's chunks are slower to start
    _wait_for_new_part(proc, out, 0)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = _finish(proc)
    assert proc.returncode == 130
    assert stderr == "interrupted: finished parts are kept; run the same command to resume\n"
    # kill -9 of the batch: its cluster goes with it, without a word (no leaked-semaphore
    # warning from Python's resource tracker)
    proc, _ = _start(out, 20 * RUNS, "--backend", "dask")  # dask's chunks are slower to start
    _wait_for_new_part(proc, out, len(part_paths(out)))
    cluster = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    _, stderr = _finish(proc)
    assert stderr == "" and _all_dead(cluster)
