"""Every bad input a hostile or mistaken user tried, as a table: scenario files, [sweep] and
[ranges] tables, and flags. Each ends as one line on stderr, ``error: WHERE: KEY: what is
wrong and what is allowed``, exit status 2, no traceback, and nothing written.

The rows run in this process (``sim.cli.main``); one file and one flag also run as a real
``sim`` process, where the exit status and the absence of a traceback are the point."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import BASELINE, run_cli

from sim.cli.main import main

HEADER = f'extends = "{BASELINE.as_posix()}"\n'
DECAY = '"grievance.decay"'
NINE_KEYS = [
    "grievance.decay", "grievance.casualty", "grievance.talks_exclusion",
    "grievance.government_exclusion", "grievance.mandate_threat", "grievance.guarantee_relief",
    "grievance.protest_relief", "grievance.blocked", "grievance.seat_loss",
]  # fmt: skip
TEN_VALUES = [round(0.01 * i, 2) for i in range(1, 11)]


BASELINE_TEXT = BASELINE.read_text()
#: The baseline's kdp faction, as TOML lines: a complete faction to give a bad name.
KDP = BASELINE_TEXT.split("[factions.kdp]\n")[1].split("\n[")[0]
BLOC_A = '{ name = "a", leader = "kdp", members = ["azm"] }'


@dataclass
class Case:
    """A bad input: the scenario file's text (after the line extending the baseline, unless
    ``whole``), other files beside it, the command line, and what the error must say."""

    body: str | bytes = ""
    says: tuple[str, ...] = ()
    argv: tuple[str, ...] = ()  # empty: both `sim validate FILE` and `sim run FILE --out`
    files: dict[str, str | bytes] = field(default_factory=dict)
    whole: bool = False  # the body is the whole file (no extends line)


FILES = {
    # --------------------------------------------------------------- files and extends
    "not UTF-8": Case(
        b'name = "\xff\xfe"\n', ("{main}: is not UTF-8 text (byte 0xff",), whole=True
    ),
    "extends a PNG": Case(
        'extends = "img.png"\n',
        ("{main}: extends: {tmp}/img.png: is not UTF-8 text (byte 0x89 at offset 0)",),
        files={"img.png": b"\x89PNG\r\n\x1a\n" + bytes(64)},
        whole=True,
    ),
    "extends a directory": Case(
        'extends = "sub"\n', ("{main}: extends: {tmp}/sub: is a directory",), whole=True
    ),
    "extends /etc/passwd": Case(
        'extends = "/etc/passwd"\n', ("{main}: extends: /etc/passwd: malformed TOML",), whole=True
    ),
    "extends a missing file": Case(
        'extends = "nope.toml"\n', ("{main}: extends: {tmp}/nope.toml: file not found",), whole=True
    ),
    "extends a device": Case(
        'extends = "/dev/zero"\n',
        ("{main}: extends: /dev/zero: is not a regular file",),
        whole=True,
    ),
    "extends a NUL path": Case(
        'extends = "a\\u0000b"\n', ("{main}: extends: {tmp}/a\\x00b: file not found",), whole=True
    ),
    "extends a number": Case("extends = 5\n", ("{main}: extends: expected a path",), whole=True),
    "extends itself": Case('extends = "main.toml"\n', ("{main}: extends: circular",), whole=True),
    "extends a broken parent": Case(
        'extends = "parent.toml"\n',
        ("{main}: extends: {tmp}/parent.toml: malformed TOML",),
        files={"parent.toml": "[clock\n"},
        whole=True,
    ),
    "extends 20 files deep": Case(
        'extends = "chain0.toml"\n',
        ("extends: a chain of more than 16 files",),
        files={f"chain{i}.toml": f'extends = "chain{i + 1}.toml"\n' for i in range(20)},
        whole=True,
    ),
    "deep arrays": Case(
        "x = " + "[" * 100_000 + "]" * 100_000, ("{main}: malformed TOML: nested deeper",)
    ),
    "a dotted key 5,000 deep": Case(".".join(["a"] * 5000) + " = 1\n", ("nested deeper than 16",)),
    "arrays 20 deep": Case("x = " + "[" * 20 + "]" * 20, ("nested deeper than 16 levels",)),
    "a file over 1 MB": Case("#" + "x" * 1_000_001 + "\n", ("{main}: is larger than 1,000,000",)),
    "malformed TOML": Case("[clock\n", ("{main}: malformed TOML",)),
    # --------------------------------------------------------------- infinities and limits
    "office_value inf": Case(
        "[bargaining]\noffice_value = inf", ("{main}: bargaining.office_value: ", "finite number")
    ),
    "office_value nan": Case("[bargaining]\noffice_value = nan", ("bargaining.office_value: ",)),
    "seat_loss inf": Case("[grievance]\nseat_loss = inf", ("grievance.seat_loss: ", "finite")),
    "alignment -inf": Case(
        "[factions.kdp.alignment]\nturkey = -inf", ("factions.kdp.alignment.turkey: ", "finite")
    ),
    "thresholds nan": Case(
        "[escalation]\nthresholds = [0.1, nan, 0.5, 0.7, 0.9]", ("escalation.thresholds[1]: ",)
    ),
    "casualty_rates 1e20": Case(
        "[escalation]\ncasualty_rates = [0.0, 0.0, 0.0, 1.5, 2.0, 1e20]",
        ("escalation.casualty_rates[5]: ", "less than or equal to 1000000"),
    ),
    "casualty_rates inf": Case(
        "[escalation]\ncasualty_rates = [0.0, 0.0, 0.0, inf, 2.0, 15.0]",
        ("escalation.casualty_rates[3]: ", "finite"),
    ),
    "parliament size 1e20": Case(
        "[parliament]\nsize = 100000000000000000000", ("parliament.size: ", "less than or equal")
    ),
    "seats as a float": Case("[factions.kdp]\nseats = 1e20", ("factions.kdp.seats: ", "integer")),
    "slope 1e300": Case("[escalation]\nslope = 1e300", ("escalation.slope: ", "less than")),
    "acceptance noise 5e-324": Case(
        "[bargaining]\nacceptance_noise = 5e-324", ("bargaining.acceptance_noise: ", "greater")
    ),
    "horizon of 10,000 weeks": Case("[clock]\nhorizon_weeks = 10000", ("clock.horizon_weeks: ",)),
    "a seed of 2**63": Case(f"seed = {2**63}", ("{main}: seed: ", "less than")),
    "a negative seed": Case("seed = -1", ("seed: ", "greater than or equal to 0")),
    # --------------------------------------------------------------- names and blocs
    "an empty scenario name": Case('name = ""', ("name: must be 1 to 100 printable",)),
    "a scenario name with a newline": Case('name = "a\\nb"', ("name: must be 1 to 100",)),
    "an empty faction name": Case(f'[factions.""]\n{KDP}', ("factions.'': must be 1 to 100",)),
    "a faction name with a dot": Case(f'[factions."a.b"]\n{KDP}', ("factions.a.b: must not",)),
    "a patron name with a bracket": Case(
        '[patrons."x[0]"]\nmediation = 0.1', ("patrons.x[0]: must not contain",)
    ),
    "a bloc listing a member twice": Case(
        'blocs = [{ name = "a", leader = "kdp", members = ["azm", "azm"] }]',
        ("blocs[0].members[1]: 'azm' is listed twice",),
    ),
    "two blocs with the same name": Case(
        f'blocs = [{BLOC_A}, {{ name = "a", leader = "fatah", members = [] }}]',
        ("blocs[1].name: 'a' is already the name of blocs[0]",),
    ),
    "an empty bloc name": Case(
        'blocs = [{ name = "", leader = "kdp", members = [] }]', ("blocs[0].name: must be",)
    ),
    "an unknown key with a newline": Case('"odd\\nkey" = 1', ("odd\\nkey: unknown key",)),
    "a table given a number": Case("clock = 5", ("clock: expected a table, got 5",)),
    # --------------------------------------------------------------- [ranges]
    "a range up to inf": Case(
        '[ranges]\n"bargaining.office_value" = { low = 1.0, high = inf, source = "x" }',
        ("ranges.bargaining.office_value.high: ", "finite number"),
    ),
    "a range from nan": Case(
        '[ranges]\n"bargaining.office_value" = { low = nan, high = 2.0, source = "x" }',
        ("ranges.bargaining.office_value.low: ",),
    ),
    "a range above a limit": Case(
        '[ranges]\n"bargaining.office_value" = { low = 1.0, high = 1e300, source = "x" }',
        ("ranges.bargaining.office_value: high = 1e+300 is outside what",),
    ),
    "a range of the seed": Case(
        '[ranges]\n"seed" = { low = 1, high = 9, source = "x" }',
        ("ranges.seed: the batch seed cannot be swept",),
    ),
    "a range of blank source": Case(
        '[ranges]\n"grievance.decay" = { low = 0.01, high = 0.1, source = "  " }',
        ("ranges.grievance.decay.source: must be a non-empty string",),
    ),
    "ranges given a number": Case("ranges = 3", ("ranges: must be a table",)),
    # --------------------------------------------------------------- [sweep]
    "a sweep seed 'abc'": Case(
        f'[sweep]\nmethod = "lhs"\nseed = "abc"\n[sweep.parameters]\n{DECAY} = '
        "{ low = 0.01, high = 0.1 }",
        ("sweep.seed: Input should be a valid integer (got 'abc')",),
    ),
    "a sweep seed -1": Case(
        f'[sweep]\nmethod = "lhs"\nseed = -1\n[sweep.parameters]\n{DECAY} = '
        "{ low = 0.01, high = 0.1 }",
        ("sweep.seed: ", "greater than or equal to 0"),
    ),
    "a sweep seed 1.5": Case(
        f'[sweep]\nmethod = "lhs"\nseed = 1.5\n[sweep.parameters]\n{DECAY} = '
        "{ low = 0.01, high = 0.1 }",
        ("sweep.seed: Input should be a valid integer (got 1.5)",),
    ),
    "LHS samples 1e9 as a float": Case(
        f'[sweep]\nmethod = "lhs"\nsamples = 1e9\n[sweep.parameters]\n{DECAY} = '
        "{ low = 0.01, high = 0.1 }",
        ("sweep.samples: must be a positive integer",),
    ),
    "LHS of a billion samples": Case(
        f'[sweep]\nmethod = "lhs"\nsamples = 1000000000\n[sweep.parameters]\n{DECAY} = '
        "{ low = 0.01, high = 0.1 }",
        ("sweep.samples: the Latin hypercube has 1,000,000,000 points, above the limit of 20,000",),
    ),
    "a grid of 9 keys x 10 values": Case(
        "[sweep.parameters]\n" + "".join(f'"{k}" = {TEN_VALUES}\n' for k in NINE_KEYS),
        ("sweep.parameters: the grid (10 x 10 x", "has 1,000,000,000 points, above the limit"),
    ),
    "a grid value inf": Case(
        f"[sweep.parameters]\n{DECAY} = [0.1, inf]",
        ("sweep.parameters.grievance.decay: a grid needs", "not inf or nan (got inf)"),
    ),
    "an LHS low of nan": Case(
        f'[sweep]\nmethod = "lhs"\n[sweep.parameters]\n{DECAY} = {{ low = nan, high = 0.1 }}',
        ("sweep.parameters.grievance.decay.low: ", "finite"),
    ),
    "a swept seed": Case(
        '[sweep.parameters]\n"seed" = [1, 2]', ("sweep.parameters.seed: the batch seed cannot",)
    ),
    "sweep replicates 0": Case(
        f"[sweep]\nreplicates = 0\n[sweep.parameters]\n{DECAY} = [0.1]",
        ("sweep.replicates: must be a positive integer (got 0)",),
    ),
    "a sweep point out of range": Case(
        f"[sweep.parameters]\n{DECAY} = [0.1, 7.0]",
        ("sweep.parameters.grievance.decay: ", "less than or equal to 1", "at sweep point"),
    ),
}

B = str(BASELINE)
TEN = ",".join(map(str, TEN_VALUES))
FLAGS = {
    "--param nan:0.5": (
        ["sweep", B, "--method", "lhs", "--param", "grievance.decay=nan:0.5"],
        f"{B}: --param grievance.decay: values must be finite numbers",
    ),
    "--param inf": (["sweep", B, "--param", "grievance.decay=0.1,inf"], "must be finite numbers"),
    "--param seed=1,2": (["sweep", B, "--param", "seed=1,2"], "--param seed: the batch seed"),
    "--param a grid of a billion": (
        ["sweep", B, *[a for k in NINE_KEYS for a in ("--param", f"{k}={TEN}")]],
        "sweep.parameters: the grid (10 x 10 x 10",
    ),
    "--samples a billion": (
        [
            "sweep",
            B,
            "--method",
            "lhs",
            "--samples",
            "1000000000",
            "--param",
            "grievance.decay=0:1",
        ],
        "sweep.samples: the Latin hypercube has 1,000,000,000 points",
    ),
    "sweep --samples 0": (
        ["sweep", B, "--method", "lhs", "--samples", "0", "--param", "grievance.decay=0:1"],
        "error: sim sweep: --samples: must be a positive integer",
    ),
    "sensitivity --samples 0": (
        ["sensitivity", B, "--samples", "0"],
        "error: sim sensitivity: --samples: must be a positive integer",
    ),
    "sensitivity of 15 billion points": (
        ["sensitivity", B, "--method", "sobol", "--samples", str(2**29)],
        f"{B}: --samples: 536870912 sobol samples over 36 parameters",
    ),
    "--out ''": (["run", B, "--out", ""], "error: sim run: --out: must name a file"),
    "--seed 2**64": (
        ["run", B, "--seed", str(2**64)],
        "--seed: must be an integer from 0 to 2**63",
    ),
    "--seed -1": (["run", B, "--seed", "-1"], "--seed: must be an integer from 0"),
    "--seed 1.5": (["run", B, "--seed", "1.5"], "--seed: must be an integer"),
    "--runs 0": (["run", B, "--runs", "0"], "--runs: must be a positive integer"),
    "--workers 0": (["run", B, "--workers", "0"], "--workers: must be a positive integer"),
    "--chunk-size -3": (["run", B, "--chunk-size", "-3"], "--chunk-size: must be a positive"),
    "compare --alpha 5": (
        ["compare", "a", "b", "--alpha", "5"],
        "--alpha: must be a number in (0, 1)",
    ),
    "compare --alpha nan": (
        ["compare", "a", "b", "--alpha", "nan"],
        "--alpha: must be a number in",
    ),
    "report --alpha 0": (
        ["report", "a", "--out", "r.html", "--alpha", "0"],
        "error: sim report: --alpha: must be a number in (0, 1)",
    ),
    "compare --csv ''": (["compare", "a", "b", "--csv", ""], "--csv: must name a file"),
    "discover --alpha 0.7": (
        ["discover", "d", "--outcome", "formed", "--alpha", "0.7"],
        "--alpha: must be a number in (0, 0.5)",
    ),
    "discover --mass-min nan": (
        ["discover", "d", "--outcome", "formed", "--mass-min", "nan"],
        "--mass-min: must be a number in (0, 1)",
    ),
    "discover --step -1": (
        ["discover", "d", "--outcome", "formed", "--step", "-1"],
        "--step: must be a non-negative integer",
    ),
    "an unknown command": (["explode"], "error: sim: COMMAND: invalid choice: 'explode'"),
    "an unknown flag": (["run", B, "--colour", "red"], "unrecognized arguments: --colour red"),
    "no scenario": (["run"], "error: sim run: the following arguments are required: scenario"),
    "validate a directory": (["validate", "scenarios"], "error: scenarios: is a directory"),
    "validate /dev/null": (["validate", "/dev/null"], "error: /dev/null: is not a regular file"),
}


def write_case(case: Case, tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    for name, content in case.files.items():
        target = tmp_path / name
        target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    main_file = tmp_path / "main.toml"
    if isinstance(case.body, bytes):
        main_file.write_bytes(case.body)
    else:
        main_file.write_text(case.body if case.whole else HEADER + case.body + "\n")
    return main_file


def one_error_line(capsys) -> str:
    """The contract: exactly one line on stderr, starting with 'error: ', no traceback."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err[:2000]
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("name", list(FILES))
def test_a_bad_scenario_file_is_one_line_exit_2_and_nothing_written(
    name, command, tmp_path, monkeypatch, capsys
):
    case = FILES[name]
    main_file = write_case(case, tmp_path)
    monkeypatch.chdir(tmp_path)  # a default output folder would appear here
    before = sorted(tmp_path.rglob("*"))
    out = tmp_path / "out"
    argv = ["validate", str(main_file)]
    if command == "run":
        argv = ["run", str(main_file), "--runs", "2", "--out", str(out), "--quiet"]
    assert main(argv) == 2
    line = one_error_line(capsys)
    for fragment in case.says:
        assert fragment.format(main=main_file, tmp=tmp_path) in line, line
    assert sorted(tmp_path.rglob("*")) == before, "nothing written"


UNUSED_TABLES = [
    "not UTF-8", "office_value inf", "a sweep seed 'abc'", "a grid of 9 keys x 10 values",
    "a range up to inf", "a range of the seed",
]  # fmt: skip


@pytest.mark.parametrize(
    "command", [["sweep", "--param", "grievance.decay=0.1"], ["sensitivity", "--samples", "2"]]
)
@pytest.mark.parametrize("name", UNUSED_TABLES)
def test_a_command_that_does_not_use_a_table_still_refuses_a_bad_one(
    name, command, tmp_path, capsys
):
    """`sim sweep` replaces the file's [sweep], and `sim sensitivity` does not read it;
    both agree with `sim validate` that the file is bad."""
    main_file = write_case(FILES[name], tmp_path)
    out = tmp_path / "out"
    assert main([command[0], str(main_file), *command[1:], "--out", str(out), "--quiet"]) == 2
    line = one_error_line(capsys)
    for fragment in FILES[name].says:
        assert fragment.format(main=main_file, tmp=tmp_path) in line, line
    assert not out.exists()


@pytest.mark.parametrize("name", list(FLAGS))
def test_a_bad_flag_is_one_line_exit_2_and_nothing_written(name, tmp_path, monkeypatch, capsys):
    argv, fragment = FLAGS[name]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()  # `validate scenarios`: a directory
    if "--out" not in argv and argv[0] in ("run", "sweep", "sensitivity"):
        argv = [*argv, "--out", str(tmp_path / "out")]
    before = sorted(tmp_path.rglob("*"))
    assert main(argv) == 2
    assert fragment in one_error_line(capsys)
    assert sorted(tmp_path.rglob("*")) == before, "nothing written"


def test_a_bad_file_as_a_user_meets_it_in_a_real_process(tmp_path):
    """In a fresh interpreter (its own recursion limit, no pytest around it): exit 2, one
    line, no traceback."""
    main_file = write_case(FILES["deep arrays"], tmp_path)
    done = run_cli("run", str(main_file), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(f"error: {main_file}: ")
    assert not (tmp_path / "out").exists()


def test_a_bad_flag_in_a_real_process(tmp_path):
    done = run_cli("run", str(BASELINE), "--seed", str(2**64), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"error: sim run: --seed: must be an integer from 0 to 2**63 - 1 (got '{2**64}')\n"
    )
    assert not (tmp_path / "o").exists()
