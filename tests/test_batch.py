"""The batch engine through its Python API: reproducibility across workers, chunking, order
and backends; resume; refusal of a mismatched directory; failed runs; sweeps and common
random numbers; progress output. No test pins a model outcome: tables are compared with
tables, so the model can be recalibrated without touching these tests."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import BASELINE, plant_failures

import sim.batch.experiment
import sim.batch.runner
from sim.batch.directory import MANIFEST, locked
from sim.batch.experiment import prepare, run_chunk, run_seed
from sim.batch.outputs import BatchError
from sim.batch.parts import RUNS_DIR
from sim.batch.progress import Progress
from sim.batch.results import load_manifest, load_results, part_paths
from sim.batch.runner import run_batch
from sim.engine.dotted import get_dotted
from sim.mesa.model import FormationModel
from sim.scenario.loading import ScenarioError

RUNS = 24


def assert_each_run_once(out, total: int) -> None:
    ids = load_results(out, columns=["run_id"])["run_id"].tolist()
    assert ids == list(range(total)), "every run exactly once"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted batch on one worker: the table everything else must reproduce."""
    out = tmp_path_factory.mktemp("reference")
    run_batch(prepare(BASELINE, runs=RUNS), out, workers=1, quiet=True)
    return load_results(out)


# --------------------------------------------------------------------------- seeds
def test_run_seeds_derive_from_the_scenario_seed_through_seed_sequence():
    seq = np.random.SeedSequence(7, spawn_key=(3,)).generate_state(2)
    assert run_seed(7, 3) == (int(seq[0]) << 32 | int(seq[1])) & (2**63 - 1)
    seeds = [run_seed(7, i) for i in range(1000)]
    assert len(set(seeds)) == 1000
    assert run_seed(8, 3) != run_seed(7, 3)
    exp = prepare(BASELINE, runs=5)
    assert [exp.task(i)[2] for i in range(5)] == [run_seed(exp.seed, i) for i in range(5)]


# --------------------------------------------------------------------------- reproducibility
def test_table_is_identical_for_1_and_2_workers_any_chunking_and_any_order(tmp_path, reference):
    out = tmp_path / "two"
    result = run_batch(prepare(BASELINE, runs=RUNS), out, workers=2, chunk_size=3, quiet=True)
    assert result.failed == 0 and result.completed_now == RUNS
    assert len(part_paths(out)) == RUNS // 3
    assert_each_run_once(out, RUNS)
    pd.testing.assert_frame_equal(load_results(out), reference)
    # any order: the same tasks, run backwards in this process, give the same rows
    exp = prepare(BASELINE, runs=RUNS)
    table = run_chunk([exp.task(i) for i in reversed(range(RUNS))], exp.points)
    assert isinstance(table, pa.Table) and table.num_rows == RUNS
    backwards = table.to_pandas().sort_values("run_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(backwards, reference, check_dtype=False)


@pytest.mark.slow  # a LocalCluster of worker processes starts in about 4 s
def test_dask_local_cluster_gives_the_same_table(tmp_path, reference):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "dask"
    exp = prepare(BASELINE, runs=RUNS)
    result = run_batch(exp, out, workers=2, backend="dask", chunk_size=5, quiet=True)
    assert result.failed == 0
    assert load_manifest(out)["sessions"][-1]["backend"] == "dask"
    assert "distributed" in load_manifest(out)["versions"]
    pd.testing.assert_frame_equal(load_results(out), reference)


def test_dask_scheduler_address_with_threaded_workers_gives_the_same_table(tmp_path, reference):
    """--scheduler ADDRESS: a running cluster (here in-process, two threads per worker)."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        run_batch(
            prepare(BASELINE, runs=RUNS),
            tmp_path / "sched",
            backend="dask",
            scheduler=cluster.scheduler_address,
            chunk_size=4,
            quiet=True,
        )
    pd.testing.assert_frame_equal(load_results(tmp_path / "sched"), reference)


# --------------------------------------------------------------------------- resume
def test_resume_after_lost_parts_runs_only_the_missing_runs(tmp_path, reference):
    out = tmp_path / "b"
    exp = prepare(BASELINE, runs=RUNS)
    run_batch(exp, out, workers=1, chunk_size=4, quiet=True)
    parts = part_paths(out)
    for lost in (parts[1], parts[-1]):  # a gap in the middle and the end
        lost.unlink()
    (out / RUNS_DIR / ".part-stale.parquet.123.tmp").write_bytes(b"half a part")
    result = run_batch(exp, out, workers=2, chunk_size=3, quiet=True)
    assert (result.resumed, result.completed_now) == (RUNS - 8, 8)
    assert not list((out / RUNS_DIR).glob(".*.tmp")), "stale temporary files are cleared"
    assert_each_run_once(out, RUNS)
    pd.testing.assert_frame_equal(load_results(out), reference)
    manifest = load_manifest(out)
    assert manifest["status"] == "complete"
    assert [s["runs"] for s in manifest["sessions"]] == [RUNS, 8]
    # the summary counts the resumed runs too
    assert result.tally.n == RUNS
    # a complete batch run again does nothing and changes nothing
    again = run_batch(exp, out, workers=2, quiet=True)
    assert (again.completed_now, again.resumed) == (0, RUNS)
    pd.testing.assert_frame_equal(load_results(out), reference)


def test_resume_after_an_interruption_mid_batch(tmp_path, reference, monkeypatch):
    """Ctrl-C after three parts: the pool is torn down, the parts kept, the rest resumed."""
    out = tmp_path / "b"
    exp = prepare(BASELINE, runs=RUNS)
    real, calls = sim.batch.runner.write_part, []

    def interrupted(*args):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(sim.batch.runner, "write_part", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_batch(exp, out, workers=2, chunk_size=2, quiet=True)
    assert len(part_paths(out)) == 3
    assert load_manifest(out)["status"] == "running"
    monkeypatch.setattr(sim.batch.runner, "write_part", real)
    result = run_batch(exp, out, workers=2, chunk_size=5, quiet=True)
    assert (result.resumed, result.completed_now) == (6, RUNS - 6)
    assert_each_run_once(out, RUNS)
    pd.testing.assert_frame_equal(load_results(out), reference)


# --------------------------------------------------------------------------- refusals
def test_a_directory_holding_another_batch_is_refused(tmp_path, make_scenario):
    out = tmp_path / "b"
    run_batch(prepare(BASELINE, runs=4), out, workers=1, quiet=True)
    before = {p.name: p.read_bytes() for p in part_paths(out)}
    manifest = (out / MANIFEST).read_text()
    variant = make_scenario("[patrons.iran]\nmediation = 0.2\n")
    cases = [
        (prepare(variant, runs=4), "holds a different batch", "scenario (hash"),
        (prepare(BASELINE, runs=4, seed=1), "holds a different batch", "seed ("),
        (prepare(BASELINE, runs=2, sweep={"parameters": {DECAY: [0.05]}}), "different", "sweep"),
        (prepare(BASELINE, runs=3), "holds 4 runs of this batch", "--runs 3 asks for fewer"),
    ]
    for exp, what, why in cases:
        with pytest.raises(BatchError, match=what) as err:
            run_batch(exp, out, workers=1, quiet=True)
        assert why in str(err.value) and "another --out" in str(err.value)
    assert {p.name: p.read_bytes() for p in part_paths(out)} == before, "nothing touched"
    assert (out / MANIFEST).read_text() == manifest
    # --overwrite replaces it with the new batch, whole
    run_batch(prepare(variant, runs=3), out, workers=1, overwrite=True, quiet=True)
    assert_each_run_once(out, 3)
    assert load_manifest(out)["scenario_path"] == str(variant)


def test_runs_without_a_manifest_are_refused(tmp_path):
    out = tmp_path / "b"
    run_batch(prepare(BASELINE, runs=2), out, workers=1, quiet=True)
    (out / MANIFEST).unlink()
    with pytest.raises(BatchError, match=r"no manifest\.json; refusing to mix"):
        run_batch(prepare(BASELINE, runs=2), out, workers=1, quiet=True)


def test_a_directory_in_use_by_another_process_is_refused(tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    with locked(out), pytest.raises(BatchError, match="another sim process"):
        run_batch(prepare(BASELINE, runs=2), out, workers=1, quiet=True)
    assert not (out / MANIFEST).exists()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"workers": 0}, "--workers must be a positive integer"),
        ({"chunk_size": 0}, "--chunk-size must be a positive integer"),
        ({"backend": "mpi"}, "unknown backend 'mpi'"),
        ({"scheduler": "tcp://127.0.0.1:8786"}, "--scheduler needs --backend dask"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(tmp_path, options, message):
    with pytest.raises(BatchError, match=message):
        run_batch(prepare(BASELINE, runs=2), tmp_path / "b", quiet=True, **options)
    assert not (tmp_path / "b").exists()


def test_bad_run_counts_and_seeds_are_scenario_errors():
    for kwargs in ({"runs": 0}, {"runs": -3}, {"seed": -1}):
        with pytest.raises(ScenarioError, match=r"--runs|--seed"):
            prepare(BASELINE, **kwargs)


# --------------------------------------------------------------------------- failures
def test_a_run_that_raises_is_recorded_and_the_batch_completes(tmp_path, monkeypatch, reference):
    bad = {run_seed(prepare(BASELINE).seed, i) for i in (2, 9)}

    def fail(seed):
        if seed in bad:
            raise RuntimeError(f"planted failure for seed {seed}")

    plant_failures(monkeypatch, fail)  # inherited by forked workers
    out = tmp_path / "b"
    result = run_batch(prepare(BASELINE, runs=RUNS), out, workers=2, chunk_size=5, quiet=True)
    assert result.failed == 2 and result.tally.n == RUNS - 2
    assert load_manifest(out)["failed_runs"] == 2
    table = load_results(out)
    assert_each_run_once(out, RUNS)
    failed = table[table["error"].notna()]
    assert failed["run_id"].tolist() == [2, 9]
    assert set(failed["seed"]) == bad
    assert all("RuntimeError: planted failure for seed" in e for e in failed["error"])
    assert failed["government_type"].isna().all(), "a failed run has no outcomes"
    ok = table["error"].isna()
    # the other runs are untouched (dtypes differ: columns with nulls hold objects)
    pd.testing.assert_frame_equal(table[ok], reference[ok], check_dtype=False)


def test_the_schema_holds_every_outcome_of_a_run():
    """A new outcome in the model must get a column (write_part refuses to drop it)."""
    from sim.batch.results import table_schema

    scenario = prepare(BASELINE).points[0].scenario
    row = FormationModel(scenario, seed=1, record_series=False).run().outcome()
    schema = table_schema(tuple(scenario.patrons), [])
    assert set(schema.names) - {"run_id", "seed", "error"} == set(row)


def test_finished_models_are_freed_so_memory_stays_flat():
    """Mesa 3.3's Agent._ids holds every model that made an agent (mesa#3179); our agents
    count ids in a weak-keyed mapping instead (sim.mesa.agents), else a process running many
    Mesa models (``mesa.batch_run``) grows with every run."""
    import gc
    import weakref

    scenario = prepare(BASELINE).points[0].scenario
    made = []
    for seed in range(6):
        model = FormationModel(scenario, seed=seed).run()
        assert model.factions[0].unique_id >= 1
        made.append(weakref.ref(model))
    del model
    gc.collect()
    assert len(made) == 6 and all(ref() is None for ref in made)


def test_a_chunks_rows_do_not_depend_on_its_other_tasks():
    """A chunk may hold several sweep points, in any order: each row is the row its task
    gives alone."""
    sweep = {"parameters": {"patrons.iran.mediation": [0.2, 0.8]}, "replicates": 3}
    exp = prepare(BASELINE, sweep=sweep)
    tasks = [exp.task(i) for i in range(exp.total_runs)]
    mixed = run_chunk([tasks[i] for i in (4, 0, 5, 1, 3, 2)], exp.points).to_pandas()
    alone = pd.concat([run_chunk([t], exp.points).to_pandas() for t in tasks])
    key = ["run_id"]
    pd.testing.assert_frame_equal(
        mixed.sort_values(key).reset_index(drop=True), alone.sort_values(key).reset_index(drop=True)
    )
    assert set(mixed["point"]) == {0, 1}


# --------------------------------------------------------------------------- sweeps
def test_grid_sweep_carries_parameter_columns_and_common_random_numbers(tmp_path):
    sweep = {
        "parameters": {"patrons.iran.mediation": [0.2, 0.8], "clock.follow_up_weeks": [4, 8]},
        "replicates": 3,
    }
    exp = prepare(BASELINE, sweep=sweep)
    assert exp.total_runs == 12
    for p in exp.points:  # each point is the scenario with its values applied
        assert p.scenario.patrons["iran"].mediation == p.values["patrons.iran.mediation"]
        assert p.scenario.clock.follow_up_weeks == p.values["clock.follow_up_weeks"]
    run_batch(exp, tmp_path / "s", workers=2, chunk_size=2, quiet=True)
    table = load_results(tmp_path / "s")
    assert {"point", "patrons.iran.mediation", "clock.follow_up_weeks"} <= set(table.columns)
    grid = table.groupby(["patrons.iran.mediation", "clock.follow_up_weeks"]).size()
    assert grid.to_dict() == {(m, w): 3 for m in (0.2, 0.8) for w in (4.0, 8.0)}
    # replicate i runs on the same seed at every point, and on the baseline's seed i
    seeds = table.assign(rep=table["run_id"] % 3).pivot(index="rep", columns="point", values="seed")
    assert (seeds.nunique(axis=1) == 1).all()
    assert seeds[0].tolist() == [run_seed(exp.seed, i) for i in range(3)]
    assert table.groupby("point")["final_week"].size().tolist() == [3, 3, 3, 3]


def test_lhs_sweep_samples_within_bounds_reproducibly():
    sweep = {
        "method": "lhs",
        "samples": 6,
        "parameters": {"grievance.decay": {"low": 0.02, "high": 0.08}},
    }
    a, b = prepare(BASELINE, runs=2, sweep=sweep), prepare(BASELINE, runs=2, sweep=sweep)
    values = [p.values["grievance.decay"] for p in a.points]
    assert len(set(values)) == 6 and all(0.02 <= v <= 0.08 for v in values)
    assert values == [p.values["grievance.decay"] for p in b.points]
    # Latin hypercube: one sample in each sixth of the range
    assert sorted(int((v - 0.02) / 0.01) for v in values) == list(range(6))


def test_common_random_numbers_across_scenarios(tmp_path, make_scenario):
    variant = make_scenario("[patrons.iran]\nmediation = 0.2\n")
    run_batch(prepare(BASELINE, runs=6), tmp_path / "a", workers=1, quiet=True)
    run_batch(prepare(variant, runs=6), tmp_path / "b", workers=1, quiet=True)
    a, b = load_results(tmp_path / "a"), load_results(tmp_path / "b")
    assert a["seed"].tolist() == b["seed"].tolist()


DECAY = "grievance.decay"
BAD_SWEEPS = [  # (the [sweep] table, the key the error names, what the error says)
    ({"parameters": {"patrons.iran.nope": [1]}}, "parameters.patrons.iran.nope", "not a parameter"),
    ({"parameters": {"name": [1]}}, "parameters.name", "not numeric"),
    ({"parameters": {DECAY: []}}, f"parameters.{DECAY}", "non-empty list"),
    ({"parameters": {DECAY: ["x"]}}, f"parameters.{DECAY}", "must be numbers"),
    (
        {"parameters": {"clock.follow_up_weeks": [4.5]}},
        "parameters.clock.follow_up_weeks",
        "integer",
    ),
    (
        {"parameters": {"patrons.iran.mediation": [1.5]}},
        "parameters.patrons.iran.mediation",
        "point",
    ),
    ({"method": "sobol", "parameters": {DECAY: [0.1]}}, "method", "'grid' or 'lhs'"),
    ({"colour": 1, "parameters": {DECAY: [0.1]}}, "colour", "unknown key"),
    ({"replicates": 0, "parameters": {DECAY: [0.1]}}, "replicates", "positive"),
    ({"parameters": {}}, "parameters", "non-empty table"),
    (
        {"method": "lhs", "parameters": {DECAY: {"low": 0.1, "high": 0.1}}},
        f"parameters.{DECAY}",
        "below",
    ),
    (
        {"method": "lhs", "parameters": {DECAY: [0.1, 0.2]}},
        f"parameters.{DECAY}",
        "low = ..., high",
    ),
    (
        {"method": "lhs", "samples": 0, "parameters": {DECAY: {"low": 0, "high": 0.1}}},
        "samples",
        "at least 1",
    ),
]


@pytest.mark.parametrize("sweep, key, message", BAD_SWEEPS)
def test_invalid_sweeps_are_clear_errors(sweep, key, message):
    with pytest.raises(ScenarioError) as err:
        prepare(BASELINE, runs=2, sweep=sweep)
    assert err.value.key == f"sweep.{key}" and message in err.value.message
    assert str(BASELINE) in str(err.value)


def test_explicit_points_must_agree_on_their_keys():
    with pytest.raises(ScenarioError, match="same keys"):
        prepare(BASELINE, points=[{"grievance.decay": 0.05}, {"escalation.slope": 1.0}])
    exp = prepare(BASELINE, runs=1, points=[{"grievance.decay": np.float64(0.05)}])
    assert json.loads(json.dumps(exp.identity())) == exp.identity(), "resumable after JSON"


# --------------------------------------------------------------------------- progress
class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_plain_lines_otherwise_and_silent_when_quiet():
    def drive(stream, quiet=False, every=0.0):
        with Progress(total=20, already=5, quiet=quiet, every=every, stream=stream) as bar:
            for _ in range(3):
                bar.advance(5)
        return stream.getvalue()

    plain = drive(io.StringIO())
    lines = plain.splitlines()
    assert lines[0] == "batch: 15 of 20 runs to do (5 already done, resuming)"
    assert lines[-1].startswith("progress: 20/20 runs (100%)") and "runs/s, ETA" in lines[-1]
    assert len(lines) == 4, "a line each time with every=0"
    assert len(drive(io.StringIO(), every=3600).splitlines()) == 2, "start and end only"
    bar = drive(Terminal())
    assert "━" in bar and "20/20" in bar and "runs/s" in bar and "ETA" in bar
    assert "progress:" not in bar
    assert drive(io.StringIO(), quiet=True) == drive(Terminal(), quiet=True) == ""


def test_get_dotted_reads_what_sweeps_write():
    raw = {"a": {"b": 1}}
    assert get_dotted(raw, "a.b") == 1
    with pytest.raises(KeyError):
        get_dotted(raw, "a.c")


def test_batch_directory_can_move(tmp_path, reference):
    """A batch is self-contained: a copied directory reads back and resumes elsewhere."""
    out = tmp_path / "b"
    exp = prepare(BASELINE, runs=RUNS)
    run_batch(exp, out, workers=1, chunk_size=6, quiet=True)
    part_paths(out)[0].unlink()
    moved = shutil.copytree(out, tmp_path / "elsewhere")
    run_batch(exp, moved, workers=1, quiet=True)
    pd.testing.assert_frame_equal(load_results(moved), reference)


def test_an_array_element_can_be_swept(tmp_path, capsys):
    """Dotted keys index arrays: ``escalation.thresholds[3]`` is the rung-4 threshold (the
    command line in this process, so no interpreter start-up)."""
    from sim.cli.main import main

    argv = ["sweep", str(BASELINE), "--param", "escalation.thresholds[3]=0.6,0.8"]
    argv += ["--replicates", "4", "--workers", "1", "--quiet", "--out", str(tmp_path / "s")]
    assert main(argv) == 0, capsys.readouterr().err
    table = load_results(tmp_path / "s")
    assert sorted(table["escalation.thresholds[3]"].unique()) == [0.6, 0.8]
    capsys.readouterr()
    bad = ["sweep", str(BASELINE), "--param", "escalation.thresholds[9]=0.6"]
    assert main([*bad, "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert "thresholds[9]" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_loading_an_incomplete_batch_warns(tmp_path):
    out = tmp_path / "b"
    run_batch(prepare(BASELINE, runs=6), out, workers=1, chunk_size=2, quiet=True)
    part_paths(out)[0].unlink()  # as if interrupted
    with pytest.warns(UserWarning, match="4 of 6 runs present"):
        frame = load_results(out)
    assert len(frame) == 4
