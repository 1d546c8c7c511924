"""Produce every command output the README quotes, from the current code, and check the
README against it (or rewrite the quoted blocks).

    .venv/bin/python scripts/readme_examples.py            # check: exit 1 and a diff if stale
    .venv/bin/python scripts/readme_examples.py --update   # rewrite the quoted blocks
    .venv/bin/python scripts/readme_examples.py --only seed-error,sweep-limit

Each quoted block in README.md follows a marker line ``<!-- example: NAME -->``; NAME is
one of ``EXAMPLES`` below, which says which commands make the output and which of its
lines the README shows (the others become ``...``). The commands run in this process
(``sim.cli.main``) in a scratch folder that sees the repository's ``scenarios/``, so the
paths printed are the README's own (``results/baseline``). What a run prints that no
seed fixes -- seconds, the number of workers -- is left out of the comparison.

Numbers the README's prose quotes from these outputs (its *readings*) are checked by
``READINGS``: each is a pattern in the README and the text it must hold now, computed
from the outputs; ``--update`` rewrites them too. ``tests/test_docs.py`` runs the check,
in the manner of sqlite-utils' ``test_docs``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- example: ([\w-]+) -->\n```(?:console|text)\n(.*?)```\n", re.M | re.S)
ELLIPSIS = "..."


@dataclass(frozen=True)
class Example:
    """Commands whose output the README quotes, and which lines of it it shows."""

    name: str
    commands: tuple[str, ...]  # the last one's output is quoted; the first ones prepare it
    keep: Callable[[list[str]], list[str | None]] | None = None  # None: every line
    shown: tuple[str, ...] = ()  # the ``$ command`` lines the block opens with
    cheap: bool = False  # seconds, no batch of any size: run by the fast docs test
    setup: tuple[str, ...] = field(default=())  # commands whose output is not quoted


def _between(start: str, stop: str | None = None) -> Callable[[list[str]], list[str | None]]:
    """The lines from the first matching ``start`` up to (not including) ``stop``."""

    def keep(lines: list[str]) -> list[str | None]:
        out: list[str | None] = []
        on = False
        for line in lines:
            if re.search(start, line):
                on = True
            elif on and stop is not None and re.search(stop, line):
                break
            if on:
                out.append(line)
        return out

    return keep


def _matching(*patterns: str, top: int = 0) -> Callable[[list[str]], list[str | None]]:
    """The unindented lines matching a pattern, with (``top``) the first ``top`` ranked
    lines under each; each run of lines left out becomes one "..."."""

    def keep(lines: list[str]) -> list[str | None]:
        out: list[str | None] = []
        shown = False
        for line in lines:
            rank = re.match(r"\s+(\d+)\. ", line)
            if re.match(r"^\S", line):
                shown = any(re.search(p, line) for p in patterns)
                wanted = shown
            else:
                wanted = bool(rank and shown and int(rank.group(1)) <= top)
            if wanted:
                out.append(line)
            elif out and out[-1] is not None:
                out.append(None)
        return out

    return keep


def _explain(lines: list[str]) -> list[str | None]:
    """The explanation's title, weeks 13 to 20, the why and the verdict."""
    out: list[str | None] = [lines[0], None]
    week = None
    for line in lines[1:]:
        m = re.match(r"week\s+(\d+):", line)
        if m:
            week = int(m.group(1))
        if line.startswith("why:"):
            out += [None, "", line]
            week = None
        elif line.startswith("replayed"):
            out += ["", line]
        elif week is not None and 13 <= week <= 20:
            out.append(line)
    return out


COMPARED = (
    r"^Comparison of", r"^  \S+ +\d+ runs, seed", r"^$", r"^  scenario ",
    r"^Government type: (majority|consensus)$", r"^Prime minister's list: \(PM without",
    r"^Highest rung: [2-5] ", r"^Incumbent survived$", r"^Casualties: (median|mean)$",
    r"^\* significant",
)  # fmt: skip


def _compare(lines: list[str]) -> list[str | None]:
    """The header, then the row groups the README reads (each title and its two rows)."""
    out: list[str | None] = []
    group = False
    for line in lines:
        if re.match(r"^\S", line) and not line.startswith(("Comparison", "*")):
            group = any(re.search(p, line) for p in COMPARED)
            if not group and out and out[-1] is not None:
                out.append(None)
        if line.startswith("  scenario "):
            out += [line, None]
            continue
        if group or any(re.search(p, line) for p in COMPARED[:3] + COMPARED[-1:]):
            out.append(line)
    return out


SWEEP = (
    "sim sweep scenarios/baseline.toml --method lhs --samples 200 --replicates 10 --out "
    "results/escalation_lhs --param bargaining.safety_value=0.1:1.0 --param "
    "patrons.iran.guarantee=0.2:0.8 --param grievance.decay=0.02:0.08 --param "
    "escalation.capability_weight=0.25:0.75 --param bargaining.stalemate_pressure=0.02:0.15 "
    "--param patrons.iran.restraint=0.2:0.8 --quiet"
)
EXAMPLES = [
    Example(
        "seed-error", ("sim run scenarios/baseline.toml --seed 18446744073709551616",),
        shown=("sim run scenarios/baseline.toml --seed 18446744073709551616",), cheap=True,
    ),
    Example(
        "sweep-limit",
        ("sim sweep scenarios/baseline.toml --method lhs --samples 1000000 "
         "--param grievance.decay=0.01:0.1",),
        shown=("sim sweep scenarios/baseline.toml --method lhs --samples 1000000 "
               "--param grievance.decay=0.01:0.1",),
        cheap=True,
    ),
    Example(
        "explain",
        ("sim explain results/baseline 5",),
        keep=_explain, shown=("sim explain results/baseline 5",),
        setup=("sim run scenarios/baseline.toml --runs 2000 --quiet --out results/baseline",),
    ),
    Example(
        "explain-why",
        ("sim explain results/baseline 17",),
        keep=lambda lines: [x for x in lines if x.startswith("why:")],
        shown=("sim explain results/baseline 17 | grep why",),
        setup=("sim run scenarios/baseline.toml --runs 2000 --quiet --out results/baseline",),
    ),
    Example(
        "storylines",
        ("sim storylines results/baseline",),
        shown=("sim storylines results/baseline",),
        setup=("sim run scenarios/baseline.toml --runs 2000 --quiet --out results/baseline",),
    ),
    Example(
        "refused",
        ("sim run scenarios/us_withdraws_backing.toml --runs 4 --out results/baseline",),
        shown=("sim run scenarios/us_withdraws_backing.toml --runs 4 --out results/baseline",),
        setup=("sim run scenarios/baseline.toml --runs 2000 --quiet --out results/baseline",),
    ),
    Example(
        "compare",
        ("sim compare results/compare/baseline results/compare/us_withdraws_backing",),
        keep=_compare,
        setup=(
            "sim run scenarios/baseline.toml --runs 2000 --quiet --out results/compare/baseline",
            "sim run scenarios/us_withdraws_backing.toml --runs 2000 --quiet "
            "--out results/compare/us_withdraws_backing",
        ),
    ),
    Example(
        "gamson",
        ("sim compare results/gamson/baseline results/gamson/no_iran_mediation --gamson",),
        keep=_between(r"^Cabinet shares against seat shares .*: baseline", r"^$"),
        setup=(
            "sim run scenarios/baseline.toml --runs 500 --quiet --out results/gamson/baseline",
            "sim run scenarios/no_iran_mediation.toml --runs 500 --quiet "
            "--out results/gamson/no_iran_mediation",
        ),
    ),
    Example(
        "backtest", ("sim backtest scenarios/cases/first_month_2021.toml",),
        shown=("sim backtest scenarios/cases/first_month_2021.toml",),
    ),
    Example(
        "morris",
        ("sim sensitivity scenarios/baseline.toml --method morris --samples 10 --replicates 10 "
         "--quiet",),
        keep=_matching(
            r"^morris sensitivity", r"^P\(majority", r"^P\(escalation", r"^median weeks",
            r"^P\(PMF dissolved", r"^\d+ runs \(", top=3,
        ),
        shown=("sim sensitivity scenarios/baseline.toml --method morris --samples 10 "
               "--replicates 10 --quiet",),
    ),
    Example(
        "discover",
        ('sim discover results/escalation_lhs --outcome "max_escalation >= 4"',),
        setup=(SWEEP,),
        shown=(
            "sim sweep scenarios/baseline.toml --method lhs --samples 200 --replicates 10 "
            "--out results/escalation_lhs \\\n    --param bargaining.safety_value=0.1:1.0 "
            "--param patrons.iran.guarantee=0.2:0.8 --param grievance.decay=0.02:0.08 \\\n"
            "    --param escalation.capability_weight=0.25:0.75 --param "
            "bargaining.stalemate_pressure=0.02:0.15 \\\n    --param "
            "patrons.iran.restraint=0.2:0.8 --quiet          # 2,000 runs, a few seconds on "
            "2 cores",
            'sim discover results/escalation_lhs --outcome "max_escalation >= 4"',
        ),
    ),
]  # fmt: skip
BY_NAME = {e.name: e for e in EXAMPLES}


# --------------------------------------------------------------------------- running
def _split(command: str) -> list[str]:
    import shlex

    words = shlex.split(command)
    assert words[0] == "sim", command
    return words[1:]


def run(command: str) -> str:
    """One ``sim`` command, in this process: what it printed on stdout, or on stderr when
    it printed nothing else (a refusal)."""
    from sim.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(_split(command))
    return out.getvalue() or err.getvalue()  # a batch's progress lines are not quoted


def outputs(names: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each example's quoted lines, and each reading's text (of those whose examples ran),
    made in a scratch folder."""
    made: dict[str, list[str]] = {}
    said: dict[str, str] = {}
    done: set[str] = set()
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="readme-examples-") as scratch:
        os.symlink(ROOT / "scenarios", Path(scratch) / "scenarios")
        os.chdir(scratch)
        try:
            for name in names:
                example = BY_NAME[name]
                for command in example.setup:
                    if command not in done:  # a batch two examples share is made once
                        run(command)
                        done.add(command)
                for command in example.commands[:-1]:
                    run(command)
                lines = run(example.commands[-1]).rstrip("\n").split("\n")
                kept = example.keep(lines) if example.keep else list(lines)
                while kept and kept[-1] is None:
                    kept.pop()
                block = [f"$ {c}" for c in example.shown]
                made[name] = block + [ELLIPSIS if x is None else x for x in kept]
            for reading in READINGS:  # while the batches are there
                if set(reading.needs) <= set(made):
                    said[reading.name] = reading.text(made)
        finally:
            os.chdir(here)
    return made, said


# --------------------------------------------------------------------------- comparing
#: what no seed fixes: seconds and workers (machine), and dates
UNFIXED = [
    (re.compile(r"\d+(\.\d+)? s on \d+ worker\(s\)"), "<seconds> s on <workers> worker(s)"),
    (re.compile(r"in \d+(\.\d+)? s\b"), "in <seconds> s"),
]


def normalised(text: str) -> str:
    for pattern, replacement in UNFIXED:
        text = pattern.sub(replacement, text)
    return text


def quoted(readme: str) -> dict[str, str]:
    """The README's quoted blocks by example name."""
    return {m.group(1): m.group(2) for m in MARKER.finditer(readme)}


def stale(readme: str, made: dict[str, list[str]], said: dict[str, str]) -> list[str]:
    """What in the README disagrees with the outputs: one message per block or reading."""
    problems = []
    blocks = quoted(readme)
    for name, lines in made.items():
        if name not in blocks:
            problems.append(f"{name}: no '<!-- example: {name} -->' block in the README")
            continue
        want, have = normalised("\n".join(lines) + "\n"), normalised(blocks[name])
        if want != have:
            import difflib

            diff = difflib.unified_diff(
                have.splitlines(), want.splitlines(), "README", "now", lineterm="", n=0
            )
            problems.append(f"{name}: the README's block is stale:\n" + "\n".join(diff))
    for reading in READINGS:
        if reading.name not in said:
            continue
        found = re.search(reading.pattern, readme, re.S)
        expected = said[reading.name]
        if not found:
            problems.append(f"reading {reading.name}: pattern not found in the README")
        elif found.group(0) != expected:
            problems.append(
                f"reading {reading.name}: the README says {found.group(0)!r}, now {expected!r}"
            )
    return problems


def updated(readme: str, made: dict[str, list[str]], said: dict[str, str]) -> str:
    def block(m: re.Match) -> str:
        name = m.group(1)
        if name not in made:
            return m.group(0)
        fence = m.group(0).split("\n")[1]
        return f"<!-- example: {name} -->\n{fence}\n" + "\n".join(made[name]) + "\n```\n"

    readme = MARKER.sub(block, readme)
    for reading in READINGS:
        if reading.name in said:
            readme = re.sub(reading.pattern, lambda _, r=reading: said[r.name], readme,
                            count=1, flags=re.S)  # fmt: skip
    return readme


# --------------------------------------------------------------------------- readings
@dataclass(frozen=True)
class Reading:
    """A sentence of the README's prose that quotes an output: where it is, and what it
    must say now (``text`` computes it from the outputs of ``needs``)."""

    name: str
    pattern: str
    needs: tuple[str, ...]
    text: Callable[[dict[str, list[str]]], str]


def _find(lines: list[str], pattern: str, group: int = 1) -> str:
    for line in lines:
        m = re.search(pattern, line)
        if m:
            return m.group(group)
    raise ValueError(f"no line matches {pattern!r}")


def _ranges_reading(_: dict[str, list[str]]) -> str:
    from sim.scenario.loading import resolve_raw
    from sim.scenario.ranges import parse_ranges

    raw, origin = resolve_raw(ROOT / "scenarios" / "baseline.toml")
    return f"the baseline declares {len(parse_ranges(raw, origin, 'baseline'))},"


def _discover_reading(made: dict[str, list[str]]) -> str:
    """Which restrictions of the chosen box are not noise, and how dense it is."""
    lines = made["discover"]
    density = _find(lines, r"^box \(step \d+\): coverage [\d.]+, density ([\d.]+)")
    base = _find(lines, r"base density ([\d.]+)\)")
    box = [x for x in lines if re.match(r"^  [a-z]", x)]
    real = [x.split()[0] for x in box if "possibly noise" not in x]
    noise = [x.split()[0] for x in box if "possibly noise" in x]
    text = (
        f"Read: in the chosen box, rung 4 or worse comes in {float(density):.0%} of runs "
        f"against {float(base):.0%} overall."
    )
    if real:
        text += " The restrictions that are not noise (qp at most 0.05): " + ", ".join(
            f"`{k}`" for k in real
        )
        text += "."
    if noise:
        text += f" The other {len(noise)} may be noise: " + ", ".join(f"`{k}`" for k in noise)
        text += "; read them as no finding."
    return text


def _morris_reading(made: dict[str, list[str]]) -> str:
    lines = made["morris"]
    points = _find(lines, r"(\d+) points x")
    at = next(i for i, x in enumerate(lines) if x.startswith("P(majority"))
    first = lines[at + 1].split()[1]
    esc = next(i for i, x in enumerate(lines) if x.startswith("P(escalation"))
    second = lines[esc + 1].split()[1]
    pmf = _find(lines, r"^P\(PMF dissolved\) .*noise share ([\d.]+)\)")
    verdict = "mostly noise" if float(pmf) > 0.3 else "mostly the parameters"
    return (
        f"Read ({points} points): `{first}` ranks first for a majority government and "
        f"`{second}` for rung 4 or worse. The PMF-dissolved ranking has a noise share of "
        f"{pmf}: at 10 replicates it is {verdict}."
    )


def _escalation_reading(_: dict[str, list[str]]) -> str:
    """The report's escalation-by-government shares of rung 4 or worse (results/baseline,
    made by the explain example)."""
    import sim
    from sim.report.sections import escalation_by_government

    table = escalation_by_government(sim.load_batches(["results/baseline"])[0])
    severe = table[table["column"] == "4+"].set_index("row")["share"]
    return (
        f"rung 4 or worse in {severe['majority']:.3f} of runs under a majority government "
        f"and {severe['consensus']:.3f} under a consensus one"
    )


READINGS = [
    Reading(
        "escalation",
        r"rung 4 or worse in [\d.]+ of runs under a majority government and [\d.]+ under a "
        r"consensus one",
        ("explain",),
        _escalation_reading,
    ),
    Reading("ranges", r"the baseline declares \d+,", (), _ranges_reading),
    Reading(
        "discover",
        r"Read: in the chosen box.*?read them as no finding\.|Attacks on "
        r"officials \(rung 4 and up\) become likely.*?slow-decaying grievance helps\.",
        ("discover",),
        _discover_reading,
    ),
    Reading(
        "morris",
        r"Read \(\d+ points\): `[\w.]+` ranks first for a majority government "
        r"and `[\w.]+` for rung 4 or worse\.(?: The PMF-dissolved ranking has a noise share "
        r"of [\d.]+: at 10 replicates it is mostly (?:noise|the parameters)\.)?",
        ("morris",),
        _morris_reading,
    ),
]


@dataclass(frozen=True)
class Numbers:
    """A paragraph of prose that reads an example: every number in it (0.935, 1.16, 12%)
    must be one the example prints, at the precision the prose shows."""

    name: str
    start: str  # the paragraph's first words
    example: str


NUMBERS = [
    Numbers("compare", "Read: without US backing", "compare"),
    Numbers("gamson", "Read: the bonus", "gamson"),
]


def _printed(lines: list[str]) -> list[float]:
    return [float(x) for x in re.findall(r"(?<![\w.])[-+]?\d+\.\d+", "\n".join(lines))]


def unread(readme: str, made: dict[str, list[str]]) -> list[str]:
    """Numbers in the prose readings that the examples no longer print."""
    problems = []
    for check in NUMBERS:
        if check.example not in made:
            continue
        at = readme.find(check.start)
        if at < 0:
            problems.append(f"reading {check.name}: no paragraph starting {check.start!r}")
            continue
        paragraph = readme[at : readme.find("\n\n", at)]
        printed = _printed(made[check.example])
        for token in re.findall(r"(?<![\w.])[-+]?\d+\.\d+|\d+(?=%)", paragraph):
            if "." in token:
                digits = len(token.split(".")[1])
                # a printed 1.265 may be read as 1.27 (it is 1.2650 or more, or the reading
                # rounds half up): within half a unit of the prose's last digit
                half = 0.5 * 10**-digits + 1e-9
                ok = any(abs(abs(v) - abs(float(token))) <= half for v in printed)
            else:
                ok = any(round(100 * v) == int(token) for v in printed if 0 <= v <= 1)
            if not ok:
                problems.append(f"reading {check.name}: {token} is not in the output now")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite the README's blocks")
    parser.add_argument("--only", default="", help="comma-separated example names")
    parser.add_argument("--cheap", action="store_true", help="only the examples without batches")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or [
        e.name for e in EXAMPLES if e.cheap or not args.cheap
    ]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        print(f"error: --only: no example {', '.join(unknown)}; examples: {', '.join(BY_NAME)}",
              file=sys.stderr)  # fmt: skip
        return 2
    readme = README.read_text(encoding="utf-8")
    made, said = outputs(names)
    if args.update:
        README.write_text(updated(readme, made, said), encoding="utf-8")
        print(f"README.md: {len(made)} example(s) rewritten")
        return 0
    problems = stale(readme, made, said) + unread(readme, made)
    for p in problems:
        print(p)
    print(f"{len(made)} example(s) checked, {len(problems)} stale")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
