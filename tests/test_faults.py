"""Faults a long batch meets: a chunk that kills its workers, parts that rot, stray and
copied parts, places that cannot be written, a disk that fills up, an unreachable scheduler.

Each ends the same way: one line on stderr, a documented exit status, nothing half-written,
and the same command finishes the batch with the table an uninterrupted batch writes. These
call the library or ``sim.cli.main`` in this process; the faults that need real signals
(a worker killed from outside, Ctrl-C, SIGTERM, kill -9) are in ``test_signals.py``.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import BASELINE, plant_failures

import sim.batch.directory
import sim.batch.experiment
import sim.batch.outputs
import sim.batch.results
from sim.batch.directory import MANIFEST
from sim.batch.experiment import prepare
from sim.batch.outputs import BatchWarning, ResultsError
from sim.batch.parts import RUNS_DIR
from sim.batch.results import load_results, part_paths
from sim.batch.runner import run_batch
from sim.cli.main import main

RUNS = 12


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    run_batch(prepare(BASELINE, runs=RUNS), out, workers=1, quiet=True)
    return load_results(out)


def one_line(capsys, status: int, argv: list[str], start: str = "error: ") -> str:
    """``sim`` in this process: the exit status, and exactly one line on stderr."""
    assert main(argv) == status
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), err
    assert "Traceback" not in err
    return lines[0]


def tree(path: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``path`` (the lock file's content does not matter)."""
    return {
        str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(path.rglob("*"))
    }


# --------------------------------------------------------------------------- dead workers
def _poisoned(seed_to_kill: int, parent: int):
    def fail(seed):
        if seed == seed_to_kill and os.getpid() != parent:  # never the test process itself
            os.kill(os.getpid(), signal.SIGKILL)

    return fail


def test_a_chunk_that_kills_its_worker_every_time_stops_the_batch_and_a_rerun_finishes(
    tmp_path, monkeypatch, capsys, reference
):
    """Three broken pools on the same chunk: exit 1 with one error line (after a warning
    per dead worker); the finished parts stay and the same command completes the batch."""
    poison = sim.batch.experiment.run_seed(prepare(BASELINE).seed, 7)
    plant_failures(monkeypatch, _poisoned(poison, os.getpid()))
    out = tmp_path / "b"
    argv = ["run", str(BASELINE), "--runs", str(RUNS), "--workers", "2", "--chunk-size", "2"]
    argv += ["--quiet", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: worker processes died 3 times while running the same")
    assert "run the same command again to resume" in err[-1]
    assert all(line.startswith("warning: a worker process died") for line in err[:-1])
    assert len(err) == 3, "a warning for each of the first two breaks"
    with pytest.warns(UserWarning, match="incomplete"):
        kept = load_results(out)
    assert 7 not in kept["run_id"].tolist() and len(kept) < RUNS
    monkeypatch.undo()  # the poison is gone
    assert main(argv) == 0
    pd.testing.assert_frame_equal(load_results(out), reference)


# --------------------------------------------------------------------------- parts that rot
def test_a_truncated_part_is_quarantined_named_once_and_its_runs_rerun(tmp_path, reference):
    out = tmp_path / "b"
    exp = prepare(BASELINE, runs=RUNS)
    run_batch(exp, out, workers=1, chunk_size=4, quiet=True)
    bad = part_paths(out)[1]
    bad.write_bytes(bad.read_bytes()[:300])  # a truncated copy, as a full disk leaves
    with pytest.raises(ResultsError, match=rf"{bad.name} cannot be read .*run the batch"):
        load_results(out)  # reading never moves anything: it names the part and the cure
    with pytest.warns(BatchWarning) as caught:
        result = run_batch(exp, out, workers=1, quiet=True)
    [warning] = [str(w.message) for w in caught]
    assert bad.name in warning and "moved to" in warning and "run again" in warning
    assert "\n" not in warning
    assert (out / "quarantine" / bad.name).is_file() and not bad.exists()
    assert (result.completed_now, result.resumed) == (4, RUNS - 4)
    pd.testing.assert_frame_equal(load_results(out), reference)


def test_files_that_are_not_parts_are_ignored_with_a_warning(tmp_path, reference):
    out = tmp_path / "b"
    run_batch(prepare(BASELINE, runs=RUNS), out, workers=1, chunk_size=6, quiet=True)
    (out / RUNS_DIR / "notes.txt").write_text("runs look fine")
    (out / RUNS_DIR / "export.csv").write_text("a,b\n")
    with pytest.warns(BatchWarning, match="is not a part of the run table") as caught:
        table = load_results(out)
    assert sorted(Path(str(w.message).split()[0]).name for w in caught) == [
        "export.csv",
        "notes.txt",
    ]
    pd.testing.assert_frame_equal(table, reference)
    with pytest.warns(BatchWarning, match="is not a part"):
        again = run_batch(prepare(BASELINE, runs=RUNS), out, workers=1, quiet=True)
    assert again.completed_now == 0 and again.tally.n == RUNS


def test_a_copied_part_is_an_error_naming_both_parts(tmp_path, capsys):
    """It used to count its runs twice (1,250 runs of 1,000)."""
    out = tmp_path / "b"
    exp = prepare(BASELINE, runs=RUNS)
    run_batch(exp, out, workers=1, chunk_size=6, quiet=True)
    first = part_paths(out)[0]
    copy = first.with_name(first.stem + "-copy.parquet")
    shutil.copy(first, copy)
    with pytest.raises(ResultsError) as err:
        load_results(out)
    assert first.name in str(err.value) and copy.name in str(err.value)
    assert "6 shared" in str(err.value)
    line = one_line(capsys, 2, ["compare", str(out), str(out)])
    assert copy.name in line and "appear more than once" in line
    # on resume the copy, whose name does not say its runs, is set aside, never counted
    with pytest.warns(BatchWarning, match=f"{copy.name} is set aside.*quarantine"):
        result = run_batch(exp, out, workers=1, quiet=True)
    assert result.tally.n == RUNS and len(load_results(out)) == RUNS
    assert not copy.exists() and (out / "quarantine" / copy.name).is_file()
    # two parts that overlap without being copies are caught the same way
    rows = pq.read_table(part_paths(out)[1]).slice(0, 2)
    pq.write_table(rows.set_column(0, "run_id", pq.read_table(first).column(0).slice(0, 2)),
                   out / RUNS_DIR / "part-000000100-000000101.parquet")  # fmt: skip
    with pytest.raises(ResultsError, match="2 run id"):
        load_results(out)


# --------------------------------------------------------------------------- output places
def test_out_under_a_regular_file_is_refused_and_nothing_is_written(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    line = one_line(capsys, 2, ["run", str(BASELINE), "--runs", "2", "--out", str(blocker / "b")])
    assert f"{blocker} is a file, not a directory" in line
    assert blocker.read_text() == "not a folder" and list(tmp_path.iterdir()) == [blocker]


def test_a_read_only_folder_is_refused_before_anything_is_written(tmp_path, capsys):
    """With chmod where it binds; as root (chmod does not stop root) through a read-only
    file system simulated at the one place the check writes."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("")
            probe.unlink()
            binds = False
        except PermissionError:
            binds = True
        if not binds:
            pytest.skip("running as root: chmod does not stop writes (the next test covers it)")
        line = one_line(capsys, 2, ["run", str(BASELINE), "--out", str(folder / "b")])
        assert "cannot write in" in line and "ermission denied" in line
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_a_read_only_file_system_is_refused_before_anything_is_written(
    tmp_path, capsys, monkeypatch
):
    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(sim.batch.outputs.os, "open", read_only)
    out = tmp_path / "b"
    line = one_line(capsys, 2, ["run", str(BASELINE), "--runs", "2", "--out", str(out)])
    assert "cannot write in" in line and "Read-only file system" in line
    assert not out.exists()


def _disk_fills_after(monkeypatch, parts_ok: int) -> None:
    """pyarrow writes half a part, then the disk is full (ENOSPC)."""
    real, written = pq.write_table, []

    def full(table, where, **kwargs):
        if len(written) >= parts_ok:
            Path(where).write_bytes(b"PAR1 half a part")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(where)
        return real(table, where, **kwargs)

    monkeypatch.setattr(sim.batch.results.pq, "write_table", full)


def test_a_full_disk_mid_batch_is_one_line_and_leaves_no_temporary_file(
    tmp_path, capsys, monkeypatch, reference
):
    out = tmp_path / "b"
    _disk_fills_after(monkeypatch, 2)
    argv = ["run", str(BASELINE), "--runs", str(RUNS), "--workers", "1", "--chunk-size", "3"]
    argv += ["--quiet", "--out", str(out)]
    line = one_line(capsys, 1, argv)
    assert "No space left on device" in line and "run the same command again" in line
    assert len(part_paths(out)) == 2
    assert not [p.name for p in (out / RUNS_DIR).iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    assert main(argv) == 0
    pd.testing.assert_frame_equal(load_results(out), reference)


def test_a_full_disk_at_the_start_leaves_no_partial_manifest(tmp_path, capsys, monkeypatch):
    real = Path.write_text

    def full(self, data, *args, **kwargs):
        if self.name.endswith(".tmp"):
            real(self, data[:10], *args, **kwargs)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    out = tmp_path / "b"
    line = one_line(capsys, 1, ["run", str(BASELINE), "--runs", "2", "--quiet", "--out", str(out)])
    assert "manifest.json" in line and "No space left on device" in line
    assert not list(out.glob(".*.tmp")) and not (out / MANIFEST).exists()


def test_an_unreachable_scheduler_writes_nothing(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.distributed")
    import sim.batch.distributed

    monkeypatch.setattr(sim.batch.distributed, "CONNECT_TIMEOUT", "1s")
    out = tmp_path / "b"
    argv = ["run", str(BASELINE), "--runs", "2", "--backend", "dask"]
    line = one_line(capsys, 2, [*argv, "--scheduler", "tcp://127.0.0.1:9", "--out", str(out)])
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in line
    assert not out.exists()


def test_a_refused_folder_is_left_exactly_as_it_was(tmp_path, capsys, make_scenario):
    """No lock file, no manifest, no runs folder: refusing writes nothing."""
    stray = tmp_path / "stray"
    (stray / RUNS_DIR).mkdir(parents=True)
    shutil.copy(BASELINE, stray / RUNS_DIR / "part-000000000-000000001.parquet")
    other = tmp_path / "other"
    run_batch(prepare(BASELINE, runs=2), other, workers=1, quiet=True)
    (other / sim.batch.directory.LOCK).unlink()
    variant = make_scenario("[patrons.iran]\nmediation = 0.2\n")
    for folder, scenario, why in (
        (stray, BASELINE, "holds runs but no manifest.json"),
        (other, variant, "holds a different batch"),
    ):
        before = tree(folder)
        line = one_line(capsys, 2, ["run", str(scenario), "--runs", "2", "--out", str(folder)])
        assert why in line
        assert tree(folder) == before


def test_report_compare_and_discover_check_their_outputs_first(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    exp = prepare(BASELINE, runs=2, sweep={"parameters": {"grievance.decay": [0.02, 0.1]}})
    run_batch(exp, sweep, workers=1, quiet=True)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    before = tree(tmp_path)
    line = one_line(capsys, 2, ["report", str(sweep), "--by", "grievance.decay",
                                "--out", str(blocker / "r.html")])  # fmt: skip
    assert "is a file, not a directory" in line
    line = one_line(capsys, 2, ["compare", str(sweep), "--by", "grievance.decay",
                                "--csv", str(blocker / "t.csv")])  # fmt: skip
    assert "--csv" in line and "is a file, not a directory" in line
    line = one_line(capsys, 2, ["discover", str(sweep), "--outcome", "formed",
                                "--csv", str(blocker / "box.csv")])  # fmt: skip
    assert "--csv" in line
    assert tree(tmp_path) == before, "no discovery/ folder, no report, no CSV"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_stop_signal_swallowed_by_a_finalizer_is_raised_at_the_next_safe_point():
    """A SIGTERM whose exception lands in a ``__del__`` (pyarrow's ParquetWriter has one)
    is only printed as "Exception ignored" by Python; the batch must still stop."""
    import gc
    import os
    import signal

    from sim.batch.pool import Interrupted, raise_pending_stop, stop_signals_raise

    class Finalised:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs between these bytecodes, in __del__
                pass

    with stop_signals_raise():
        raise_pending_stop()  # nothing pending yet
        Finalised()
        gc.collect()
        with pytest.raises(Interrupted) as caught:
            raise_pending_stop()
        assert caught.value.signum == signal.SIGTERM
