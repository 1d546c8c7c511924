"""Hardening, round two (issue 20): one table-driven test for each class of the probe's
failures, and one test for each of its reproductions. Batches are small (12 runs, parts of
4) so that the whole file stays in the fast subset."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import BASELINE, SCENARIOS

import sim
from sim.batch.directory import LOCK, MANIFEST
from sim.batch.experiment import prepare
from sim.batch.outputs import BatchError, BatchWarning, ResultsError
from sim.batch.parts import IDENTITY_KEY, QUARANTINE, RUNS_DIR
from sim.batch.results import load_manifest, load_results
from sim.batch.runner import MAX_WORKERS_PER_CORE, default_workers, run_batch
from sim.cli.main import main
from sim.engine.dotted import get_dotted, is_canonical
from sim.scenario.loading import ScenarioError, resolve_raw, validate

RUNS, CHUNK = 12, 4
OTHER = SCENARIOS / "us_withdraws_backing.toml"


def batch(out: Path, path: Path = BASELINE, **options) -> Path:
    run_batch(prepare(path, runs=RUNS), out, workers=1, chunk_size=CHUNK, quiet=True, **options)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A baseline batch (the table every repaired batch must equal) and another scenario's."""
    root = tmp_path_factory.mktemp("hardening")
    a, x = batch(root / "A"), batch(root / "X", OTHER)
    return a, load_results(a), x


def copy_of(reference, tmp_path) -> Path:
    out = tmp_path / "A"
    shutil.copytree(reference[0], out)
    return out


def one_line(capsys, status: int, argv: list[str]) -> str:
    """``sim`` in this process: the exit status, and exactly one line on stderr."""
    assert main(argv) == status
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def resume(out: Path) -> list[str]:
    """Resume ``out``: the warning lines it gave (and the batch must be whole again)."""
    with pytest.warns(BatchWarning) as caught:
        batch(out)
    return [str(w.message) for w in caught if issubclass(w.category, BatchWarning)]


PART0 = "part-000000000-000000003.parquet"
PART1 = "part-000000004-000000007.parquet"


# --------------------------------------------------------------------------- 1. foreign parts
def _foreign(out, x):
    shutil.copy(x / RUNS_DIR / PART0, out / RUNS_DIR / PART0)


def _stripped(out, x):  # a part written without an identity (an older sim, a hand-made one)
    part = out / RUNS_DIR / PART0
    table = pq.read_table(part)
    pq.write_table(table.replace_schema_metadata({}), part)


def _forged_seed(out, x):  # the right scenario, another batch seed
    part = out / RUNS_DIR / PART0
    table = pq.read_table(part)
    meta = json.loads(table.schema.metadata[IDENTITY_KEY])
    meta["seed"] += 1
    pq.write_table(table.replace_schema_metadata({IDENTITY_KEY: json.dumps(meta)}), part)


@pytest.mark.parametrize(
    "damage, said",
    [(_foreign, "another batch"), (_stripped, "no batch identity"), (_forged_seed, "seed")],
    ids=["other-scenario", "no-identity", "other-seed"],
)
def test_a_part_of_another_batch_is_quarantined_and_its_runs_rerun(
    reference, tmp_path, damage, said, capsys
):
    """Issue 20, class 1: runs 0-3 used to be the other scenario's, with exit 0."""
    _, table, x = reference
    out = copy_of(reference, tmp_path)
    damage(out, x)
    with pytest.raises(ResultsError, match=f"{PART0} is not a part of this batch"):
        load_results(out)  # reading refuses it, in one line
    one_line(capsys, 2, ["compare", str(out), str(out)])
    warnings_ = resume(out)
    assert len(warnings_) == 1 and PART0 in warnings_[0] and said in warnings_[0]
    assert (out / QUARANTINE / PART0).is_file()  # kept, never overwritten
    assert load_results(out).equals(table)  # and its runs are this batch's again


def test_a_foreign_part_with_other_patrons_cannot_drop_a_column(reference, tmp_path):
    _, table, x = reference
    out = copy_of(reference, tmp_path)
    _foreign(out, x)
    resume(out)
    assert "patron_weight_iran" in load_results(out).columns
    assert load_results(out).equals(table)


# --------------------------------------------------------------------------- 2. misnamed parts
def _renamed(out):  # the reproduction: runs 4-7 under the name of runs 0-3
    os.replace(out / RUNS_DIR / PART1, out / RUNS_DIR / PART0)


def _wider_name(out):
    os.replace(out / RUNS_DIR / PART1, out / RUNS_DIR / "part-000000004-000000009.parquet")


def _unparsed_name(out):
    os.replace(out / RUNS_DIR / PART1, out / RUNS_DIR / "part-runs-4-to-7.parquet")


@pytest.mark.parametrize("damage", [_renamed, _wider_name, _unparsed_name])
def test_a_part_whose_rows_do_not_match_its_name_is_quarantined(reference, tmp_path, damage):
    """Issue 20, class 2: runs 0-3 were written over the misnamed part, and the summary
    said 12 runs with 8 in the table."""
    _, table, _ = reference
    out = copy_of(reference, tmp_path)
    damage(out)
    with pytest.raises(ResultsError, match="not a part of this batch"):
        load_results(out)
    warnings_ = resume(out)
    assert any("holds runs" in w or "name" in w for w in warnings_), warnings_
    assert len(list((out / QUARANTINE).iterdir())) == 1
    assert load_results(out).equals(table)
    assert load_manifest(out)["runs"] == RUNS == len(load_results(out))


# --------------------------------------------------------------------------- 10. run_id types
@pytest.mark.parametrize(
    "column",
    [
        pa.array([str(i) for i in range(4)]),
        pa.array([float(i) for i in range(4)]),
        pa.array([None, 1, 2, 3], type=pa.int64()),
        pa.array([None] * 4, type=pa.null()),
    ],
    ids=["string", "float", "a-null", "all-null"],
)
def test_a_part_with_a_run_id_that_is_not_integers_is_quarantined(reference, tmp_path, column):
    _, table, _ = reference
    out = copy_of(reference, tmp_path)
    part = out / RUNS_DIR / PART0
    rows = pq.read_table(part)
    pq.write_table(rows.set_column(0, "run_id", column), part)
    with pytest.raises(ResultsError, match="run_id"):
        load_results(out)
    warnings_ = resume(out)
    assert any("run_id" in w and PART0 in w for w in warnings_)
    assert load_results(out).equals(table)


# --------------------------------------------------------------------------- 5. manifests
DAMAGED_MANIFESTS = {
    "null": "null",
    "list": "[]",
    "identity-a-number": '{"identity": 5}',
    "truncated-at-40": None,  # the first 40 bytes of the real one
    "seed-a-string": "seed",
    "deeply-nested": "[" * 5000 + "]" * 5000,
    "not-utf8": b"\xff\xfe{",
}


def _damage_manifest(out: Path, kind: str) -> None:
    path = out / MANIFEST
    value = DAMAGED_MANIFESTS[kind]
    if value is None:
        path.write_bytes(path.read_bytes()[:40])
    elif value == "seed":
        data = json.loads(path.read_text())
        data["identity"]["seed"] = "1"
        path.write_text(json.dumps(data))
    elif isinstance(value, bytes):
        path.write_bytes(value)
    else:
        path.write_text(value)


@pytest.mark.parametrize("kind", sorted(DAMAGED_MANIFESTS))
def test_a_damaged_manifest_is_one_line_in_every_command(reference, tmp_path, kind, capsys):
    """Issue 20, class 5: tracebacks with exit 1 in run, compare, report and explain."""
    out = copy_of(reference, tmp_path)
    _damage_manifest(out, kind)
    before = (out / MANIFEST).read_bytes()
    with pytest.raises(ResultsError, match="not a sim manifest"):
        load_manifest(out)
    with pytest.raises(BatchError, match="not a sim manifest"):
        batch(out)
    for argv in (
        ["run", str(BASELINE), "--runs", str(RUNS), "--out", str(out), "--quiet"],
        ["compare", str(out), str(out)],
        ["report", str(out), "--out", str(tmp_path / "r.html")],
        ["explain", str(out), "0"],
    ):
        assert "manifest" in one_line(capsys, 2, argv)
    assert (out / MANIFEST).read_bytes() == before  # nothing written
    assert not (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------- 6. --overwrite
def _notes(out):
    (out / "notes.txt").write_text("mine")


def _runs_file(out):
    (out / RUNS_DIR / "analysis.xlsx").write_text("mine")


def _runs_subfolder(out):
    (out / RUNS_DIR / "keep").mkdir()


@pytest.mark.parametrize("plant", [_notes, _runs_file, _runs_subfolder])
def test_overwrite_refuses_a_folder_holding_what_no_batch_wrote(reference, tmp_path, plant):
    out = copy_of(reference, tmp_path)
    plant(out)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    with pytest.raises(BatchError, match="refusing, it holds what no sim batch wrote"):
        batch(out, overwrite=True)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before


def test_overwrite_refuses_a_manifest_and_runs_folder_that_were_never_a_batch(tmp_path):
    """Issue 20, class 6: a runs/ subfolder and a manifest.json of something else."""
    out = tmp_path / "project"
    (out / RUNS_DIR).mkdir(parents=True)
    (out / MANIFEST).write_text('{"name": "my web app"}')
    with pytest.raises(BatchError, match="not a sim manifest"):
        batch(out, overwrite=True)
    assert (out / MANIFEST).read_text() == '{"name": "my web app"}'


def test_overwrite_removes_the_old_batchs_analysis_and_quarantine(reference, tmp_path):
    """Issue 20, class 6: sensitivity/, discovery/ and quarantine/ survived, so the next
    report showed the old scenario's ranking as this batch's."""
    out = copy_of(reference, tmp_path)
    for name in ("sensitivity", "discovery", QUARANTINE):
        (out / name).mkdir()
        (out / name / "summary.json").write_text("{}")
    batch(out, OTHER, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, LOCK, RUNS_DIR])
    assert load_manifest(out)["scenario_path"] == str(OTHER)


# --------------------------------------------------------------------------- 9. file system
def _lock_dir(out):
    (out / LOCK).mkdir()


def _runs_is_file(out):
    (out / RUNS_DIR).write_text("x")


def _quarantine_is_file(out):
    (out / QUARANTINE).write_text("x")


@pytest.mark.parametrize(
    "plant, name", [(_lock_dir, LOCK), (_runs_is_file, RUNS_DIR), (_quarantine_is_file, QUARANTINE)]
)
def test_a_batch_entry_of_the_wrong_kind_is_one_line(tmp_path, capsys, plant, name):
    out = tmp_path / "b"
    out.mkdir()
    plant(out)
    line = one_line(capsys, 2, ["run", str(BASELINE), "--runs", "4", "--out", str(out), "--quiet"])
    assert name in line
    assert not (out / MANIFEST).exists()


def test_a_full_disk_at_the_start_is_one_line(tmp_path, capsys, monkeypatch):
    """Issue 20, class 9: an existing empty --out on a full disk."""
    import errno

    out = tmp_path / "b"
    out.mkdir()
    real = Path.mkdir

    def full(self, *args, **kwargs):
        if self.name == RUNS_DIR:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", full)
    line = one_line(capsys, 2, ["run", str(BASELINE), "--runs", "4", "--out", str(out)])
    assert "No space left on device" in line


def test_a_stale_temporary_file_that_cannot_be_removed_is_one_line(
    reference, tmp_path, capsys, monkeypatch
):
    """Issue 20, class 9: a read-only runs/ holding a stale .tmp (simulated: root ignores
    the permission bits)."""
    out = copy_of(reference, tmp_path)
    stale = out / RUNS_DIR / ".part-000000000-000000003.parquet.99.tmp"
    stale.write_text("half")
    real = Path.unlink

    def read_only(self, *args, **kwargs):
        if self.name.endswith(".tmp"):
            raise PermissionError(13, "Permission denied")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", read_only)
    line = one_line(
        capsys, 2, ["run", str(BASELINE), "--runs", str(RUNS), "--out", str(out), "--quiet"]
    )
    assert "Permission denied" in line and stale.name in line


# --------------------------------------------------------------------------- 3. dotted keys
@pytest.mark.parametrize(
    "key, canonical",
    [
        ("escalation.thresholds[3]", True),
        ("escalation.thresholds[0]", True),
        ("escalation.thresholds[03]", False),
        ("escalation.thresholds[00]", False),
        ("escalation.thresholds[\u0663]", False),  # an Arabic-Indic three
        ("escalation.thresholds[ 3]", False),
        ("escalation.thresholds[+3]", False),
        ("escalation.thresholds[3][", False),
        ("escalation..thresholds", False),
    ],
)
def test_a_dotted_key_has_one_spelling(key, canonical):
    raw, _ = resolve_raw(BASELINE)
    assert is_canonical(key) is canonical
    if canonical:
        get_dotted(raw, key)
    else:
        with pytest.raises(KeyError):
            get_dotted(raw, key)


def test_an_aliased_index_is_refused_in_param_and_ranges(tmp_path, capsys, make_scenario):
    """Issue 20, class 3: both points ran at 0.7 under the labels 0.6 and 0.8."""
    line = one_line(
        capsys,
        2,
        ["sweep", str(BASELINE), "--replicates", "2", "--out", str(tmp_path / "o"), "--quiet",
         "--param", "escalation.thresholds[3]=0.6,0.8",
         "--param", "escalation.thresholds[03]=0.7"],
    )  # fmt: skip
    assert "thresholds[03]" in line and "is not a parameter" in line
    assert not (tmp_path / "o").exists()
    path = make_scenario('[ranges]\n"escalation.thresholds[03]" = [0.5, 0.9]')
    line = one_line(capsys, 2, ["validate", str(path)])
    assert "ranges" in line and "thresholds[03]" in line


# --------------------------------------------------------------------------- 4. reserved names
@pytest.mark.parametrize(
    "name", ["(no government)", "(PM without a party)", "(anything)", " sadrists", "x "]
)
def test_a_reserved_label_is_refused_as_a_faction_name(name):
    raw, origin = resolve_raw(BASELINE)
    factions = dict(raw["factions"])
    factions[name] = factions.pop("minorities")
    with pytest.raises(ScenarioError):
        validate({**raw, "factions": factions}, origin, "renamed.toml")


# --------------------------------------------------------------------------- 11. flags
@pytest.mark.parametrize("precision", ["1e-300", "1e-100", "1e-20", "0.0009"])
def test_a_precision_too_fine_to_reach_is_refused_before_anything_is_written(
    tmp_path, capsys, precision
):
    out = tmp_path / "o"
    line = one_line(capsys, 2, ["run", str(BASELINE), "--precision", precision, "--out", str(out)])
    assert "--precision" in line
    assert not out.exists()


@pytest.mark.parametrize("plot", ["x.txt", "folder", "x.svg"])
def test_a_bad_plot_path_fails_before_the_timeline(tmp_path, capsys, plot):
    target = tmp_path / plot
    if plot == "folder":
        target.mkdir()
    assert main(["explain", str(BASELINE), "--seed", "1", "--plot", str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--plot" in captured.err and len(captured.err.splitlines()) == 1
    assert not (tmp_path / "folder.png").exists()


def test_too_many_workers_are_refused(tmp_path, capsys):
    cap = MAX_WORKERS_PER_CORE * default_workers()
    line = one_line(
        capsys, 2, ["run", str(BASELINE), "--workers", str(cap + 1), "--out", str(tmp_path / "o")]
    )
    assert "--workers" in line and str(cap) in line
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- 13. report trust
def _csv_folder(folder):
    (folder / "extra.csv").mkdir()


def _fifo(folder):
    os.mkfifo(folder / "summary.json")


def _deep(folder):
    (folder / "summary.json").write_text("[" * 100000 + "]" * 100000)


def _fifo_csv(folder):
    os.mkfifo(folder / "indices.csv")


def test_the_report_reads_only_regular_files_of_an_analysis_folder(reference, tmp_path, capsys):
    """Issue 20, class 13: a folder named extra.csv, a FIFO, or a deeply nested
    summary.json gave a traceback or a hang. The table's cases go into one report (one
    discovery folder each, and each folder is shown), which must finish and note each."""
    out = copy_of(reference, tmp_path)
    cases = {"csv-folder": _csv_folder, "fifo": _fifo, "deep": _deep, "fifo-csv": _fifo_csv}
    for name, plant in cases.items():
        (out / "discovery" / name).mkdir(parents=True)
        plant(out / "discovery" / name)
    report = tmp_path / "r.html"
    assert main(["report", str(out), "--out", str(report)]) == 0, capsys.readouterr().err
    html = report.read_text()
    assert html.count("left out: not a regular file") == 3  # the folder and both FIFOs
    assert "summary.json unreadable: nested too deeply" in html


# --------------------------------------------------------------------------- 14. the API
@pytest.mark.parametrize("seed", [2**64, 2**63, -1, 1.5, "1", True, None.__class__])
def test_the_api_checks_seeds_as_the_command_line_does(seed):
    with pytest.raises(ScenarioError, match="seed"):
        sim.FormationModel(BASELINE, seed=seed)
    if seed is not None.__class__:
        with pytest.raises(ScenarioError, match="seed"):
            prepare(BASELINE, seed=seed)


def test_a_seed_the_command_line_can_resume_is_accepted():
    assert prepare(BASELINE, runs=1, seed=2**63 - 1).seed == 2**63 - 1
    assert sim.FormationModel(BASELINE, seed=2**63 - 1).seed == 2**63 - 1


def test_prepare_refuses_a_seed_the_command_line_could_never_resume():
    with pytest.raises(ScenarioError, match="2\\*\\*63"):
        prepare(BASELINE, seed=2**70)


@pytest.mark.parametrize("columns", [["nope"], "run_id", [1], ["run_id", "nope"]])
def test_load_results_checks_its_columns(reference, columns):
    with pytest.raises(ResultsError, match="column"):
        load_results(reference[0], columns=columns)
    assert list(load_results(reference[0], columns=["run_id"]).columns) == ["run_id"]


# --------------------------------------------------------------------------- 7. sim view
@pytest.mark.parametrize("host", ["", " ", "\t"])
def test_sim_view_refuses_an_empty_host(capsys, host):
    """Issue 20, class 7: --host "" served on every interface and printed http://:PORT/."""
    line = one_line(capsys, 2, ["view", str(BASELINE), "--host", host, "--port", "1"])
    assert "--host" in line and "every interface" in line


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("::", False)],
)  # fmt: skip
def test_sim_view_knows_a_loopback_host(host, loopback):
    from sim.view.serve import check_host

    try:
        family, is_loopback = check_host(host)
    except Exception as exc:  # an IPv6 address on a machine without IPv6
        pytest.skip(f"{host}: {exc}")
    assert is_loopback is loopback
    assert family == (socket.AF_INET6 if ":" in host else family)


def test_sim_view_takes_ipv6_loopback_and_brackets_its_url():
    """Issue 20, class 7: --host ::1 was refused under the wrong key."""
    from sim.view.serve import check_port, url_of

    assert url_of("::1", 8765) == "http://[::1]:8765/"
    assert url_of("127.0.0.1", 8765) == "http://127.0.0.1:8765/"
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    with socket.socket(socket.AF_INET6) as s:
        try:
            s.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
        port = s.getsockname()[1]
    check_port("::1", port, socket.AF_INET6)  # free: no error


def test_a_port_another_program_listens_on_is_not_reported_as_ours():
    """Issue 20, class 7: a second view printed the first one's address."""
    from sim.view.serve import owns_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert owns_port(os.getpid(), port)  # this process holds it
        child = __import__("subprocess").Popen(["sleep", "5"])
        try:
            assert not owns_port(child.pid, port)  # another process does not
        finally:
            child.kill()
            child.wait()


# --------------------------------------------------------------------------- 8. Dask
@pytest.mark.parametrize(
    "address",
    ["http://127.0.0.1:8787", "https://h:1", "garbage", "tcp://h", "tcp://h:99999", "",
     "tcp://h:1/path", "h 1:2"],
)  # fmt: skip
def test_a_scheduler_address_is_parsed_before_connecting(tmp_path, capsys, address):
    """Issue 20, class 8: a ValueError traceback for http://... and garbage."""
    pytest.importorskip("distributed")
    out = tmp_path / "o"
    line = one_line(
        capsys, 2,
        ["run", str(BASELINE), "--runs", "2", "--backend", "dask", "--scheduler", address,
         "--out", str(out)],
    )  # fmt: skip
    assert "--scheduler" in line
    assert not out.exists()


def test_a_web_server_at_the_scheduler_address_is_one_line(tmp_path, capsys):
    """Issue 20, class 8: a port where an HTTP server answers tried to allocate 3 EiB."""
    pytest.importorskip("distributed")
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        line = one_line(
            capsys, 2,
            ["run", str(BASELINE), "--runs", "2", "--backend", "dask", "--scheduler",
             f"tcp://127.0.0.1:{port}", "--out", str(tmp_path / "o")],
        )  # fmt: skip
        assert "web server" in line
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow  # a Dask cluster twice, about 3.5 s
def test_a_lost_dask_cluster_ends_the_batch_in_one_line_and_resume_completes(
    reference, tmp_path, capsys, monkeypatch
):
    """Issue 20, class 8: a killed worker or scheduler gave a FutureCancelledError or
    CommClosedError traceback. The lost cluster is planted at the second chunk."""
    pytest.importorskip("distributed")
    from distributed.comm import CommClosedError

    import sim.batch.distributed as distributed

    real, calls = distributed._result, []

    class Lost:  # what a future of a dead scheduler does when asked for its result
        def result(self):
            raise CommClosedError("in <TCP (closed)>: Stream is closed")

    def lost(future):
        calls.append(future)
        return real(Lost() if len(calls) == 2 else future)

    monkeypatch.setattr(distributed, "_result", lost)
    out = tmp_path / "o"
    argv = ["run", str(BASELINE), "--runs", str(RUNS), "--chunk-size", str(CHUNK),
            "--backend", "dask", "--workers", "1", "--out", str(out), "--quiet"]  # fmt: skip
    line = one_line(capsys, 1, argv)
    assert "Dask cluster was lost" in line and "resume" in line
    monkeypatch.setattr(distributed, "_result", real)
    assert main(argv) == 0
    assert load_results(out).equals(reference[1])


# --------------------------------------------------------------------------- 12. limits
def test_a_design_is_limited_in_bytes_by_the_scenarios_size(make_scenario):
    """Issue 20, class 12: a 2,000-faction file allowed 20,000 points (about 71 GB)."""
    from sim.scenario.sweep import MAX_DESIGN_BYTES, check_design_size, point_bytes

    raw, _ = resolve_raw(BASELINE)
    check_design_size(20_000, "the design", "", "f", "k", raw)  # the baseline keeps them all
    big = {**raw, "padding": "x" * 509_000}  # the probe's 509 kB file
    each = point_bytes(big)
    allowed = MAX_DESIGN_BYTES // each
    assert 1_000 < allowed < 20_000
    check_design_size(allowed, "the design", "", "f", "k", big)
    with pytest.raises(ScenarioError, match=f"at most {allowed:,} points"):
        check_design_size(allowed + 1, "the design", "use fewer samples", "f", "k", big)
