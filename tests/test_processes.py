"""The weekly processes declare what they do, and the declarations are checked against the
code: ``sim.engine.week.PROCESSES`` lists the steps ``one_week`` calls, in its order, each
with its own stream; each process owns the state it declares (``state``) and names what it
touches of the others' (``reads`` and ``writes``, ``run.X`` for the run record), checked
against its step, in its module and in every function of ``sim`` it calls with the state;
its ``parameters`` are the scenario tables it reads from the World. The checks read the
source (``ast``), so they hold for every branch, taken or not."""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from functools import cache

import pytest

from sim.engine.assembly import OWNERS, RUN, SECTIONS, State, World
from sim.engine.declare import Process, RunField
from sim.engine.week import PROCESSES, one_week

STATE, RUN_RECORD, RUN_ARRAY, WORLD = "state", "run", "run-array", "world"
FIELDS = set(State._fields) - {"run"}
RUN_FIELDS = set(RUN.names)


def owned(process: type[Process]) -> set[str]:
    return {("run." if isinstance(f, RunField) else "") + f.name for f in process.state}


# --------------------------------------------------------------------------- the order
def week_calls() -> list[tuple[str, ast.expr]]:
    """The steps ``one_week`` calls, in order: (module name, the stream argument)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(one_week.py_func)))
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "step"
            and isinstance(node.func.value, ast.Name)
        ):
            calls.append((node.func.value.id, node.args[2]))
    return sorted(calls, key=lambda c: (c[1].lineno, c[1].col_offset))


def test_processes_lists_the_steps_of_one_week_in_its_order():
    import sim.engine.week

    calls = week_calls()
    assert [m for m, _ in calls] == [p.__module__.rsplit(".", 1)[1] for p in PROCESSES]
    for k, ((name, stream), process) in enumerate(zip(calls, PROCESSES, strict=True)):
        module = getattr(sim.engine.week, name)
        assert module.__name__ == process.__module__
        assert process.step is module.step, f"{process.__name__}.step is its module's step"
        # the k-th step gets the k-th key: the stream its class names (STREAM_TAGS)
        assert ast.unparse(stream) == f"keys[{k}]"


def test_every_process_declares_itself_with_known_names():
    for process in PROCESSES:
        assert issubclass(process, Process)
        assert set(process.parameters) <= set(World._fields), process
        assert set(process.parameters) <= set(SECTIONS), process
        if process.section is not None:
            assert process.section.name in process.parameters, "it reads its own table"
        for field in (*process.reads, *process.writes):
            if field.startswith("run."):
                assert field[4:] in RUN_FIELDS, f"{process.__name__}: {field}"
            else:
                assert field in FIELDS, f"{process.__name__}: {field}"
        assert len(set(process.reads)) == len(process.reads), process
        assert len(set(process.writes)) == len(process.writes), process
        assert not owned(process) & set(process.reads + process.writes), (
            f"{process.__name__} lists its own state among the others'"
        )
    named = [p.stream for p in PROCESSES if p.stream]
    assert len(set(named)) == len(named), "no two processes share a stream"


def test_every_piece_of_state_has_one_owner():
    declared = [f.name for _, fields in OWNERS for f in fields]
    assert sorted(declared) == sorted([*FIELDS, *RUN_FIELDS])


# --------------------------------------------------------------------------- the analysis
@cache
def functions(module_name: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


@cache
def imported(module_name: str) -> dict[str, str]:
    """Names a module imports from other modules of ``sim``: name -> module."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim"):
            for alias in node.names:
                out[alias.asname or alias.name] = node.module
    return out


class Touches:
    """What a step touches: State fields read and written ("run.X" for the run record),
    and the World's sections read."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.sections: set[str] = set()
        self.seen: set[tuple] = set()


def resolve(node: ast.expr, env: dict[str, object]) -> object:
    """What an expression is, as far as the state goes: the State, the run record (or the
    array holding it), a State field ("field", name), the World or one of its sections."""
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.Attribute):
        base = resolve(node.value, env)
        if base == STATE:
            return RUN_ARRAY if node.attr == "run" else ("field", node.attr)
        if base == WORLD and node.attr in SECTIONS:
            return ("section", node.attr)
        return None
    if isinstance(node, ast.Subscript):
        base = resolve(node.value, env)
        if base == RUN_ARRAY:
            return RUN_RECORD
        if isinstance(base, tuple) and base[0] == "field":
            return base  # a view (or an element) of the field
        return None
    return None


def bind(targets: ast.expr, value: ast.expr, env: dict[str, object]) -> None:
    if isinstance(targets, ast.Name):
        what = resolve(value, env)
        if what is not None:
            env[targets.id] = what
        else:
            env.pop(targets.id, None)
    elif isinstance(targets, ast.Tuple) and isinstance(value, ast.Tuple):
        for t, v in zip(targets.elts, value.elts, strict=True):
            bind(t, v, env)


def analyse(module: str, name: str, env: dict[str, object], out: Touches) -> None:
    """Record what function ``name`` of ``module`` touches, given what its arguments are."""
    key = (module, name, tuple(sorted((k, str(v)) for k, v in env.items())))
    if key in out.seen:
        return
    out.seen.add(key)
    func = functions(module)[name]
    env = dict(env)
    # aliases: names bound to the state, the run record, a field or a section
    for _ in range(3):  # a few passes, for aliases of aliases
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                bind(node.targets[0], node.value, env)
    stored: set[int] = set()  # the Attribute nodes of `state.X[...] = ...`
    for node in ast.walk(func):
        targets: list[ast.expr] = []
        augmented = False
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign):
            targets, augmented = [node.target], True
        for target in targets:
            for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(t, ast.Subscript):
                    what = resolve(t.value, env)
                    if isinstance(what, tuple) and what[0] == "field":
                        out.writes.add(what[1])
                        if augmented:
                            out.reads.add(what[1])
                        stored.add(id(t.value))
                elif isinstance(t, ast.Attribute) and resolve(t.value, env) == RUN_RECORD:
                    out.writes.add(f"run.{t.attr}")
                    if augmented:
                        out.reads.add(f"run.{t.attr}")
                    stored.add(id(t))
    for node in ast.walk(func):
        if isinstance(node, ast.Attribute) and id(node) not in stored:
            base = resolve(node.value, env)
            if base == RUN_RECORD:
                out.reads.add(f"run.{node.attr}")
            what = resolve(node, env)
            if isinstance(what, tuple) and what[0] == "field":
                out.reads.add(what[1])
            elif isinstance(what, tuple) and what[0] == "section":
                out.sections.add(what[1])
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            what = env.get(node.id)
            if isinstance(what, tuple) and what[0] == "section":
                out.sections.add(what[1])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            callee = node.func.id
            if callee in functions(module):
                where = module
            elif callee in imported(module):
                where = imported(module)[callee]
                if callee not in functions(where):
                    continue  # a class or a constant
            else:
                continue
            params = functions(where)[callee].args.args
            passed: dict[str, object] = {}
            for param, arg in zip(params, node.args, strict=False):
                what = resolve(arg, env)
                if what is not None:
                    passed[param.arg] = what
            for keyword in node.keywords:
                what = resolve(keyword.value, env)
                if keyword.arg and what is not None:
                    passed[keyword.arg] = what
            if passed:
                analyse(where, callee, passed, out)


@cache
def touches(process: type[Process]) -> Touches:
    out = Touches()
    step = functions(process.__module__)["step"]
    world, state = (a.arg for a in step.args.args[:2])
    analyse(process.__module__, "step", {world: WORLD, state: STATE}, out)
    return out


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.__name__)
def test_declared_reads_and_writes_cover_what_the_step_touches(process):
    found = touches(process)
    assert found.reads or found.writes, "the analysis sees the step's state"
    own = owned(process)
    undeclared_writes = found.writes - set(process.writes) - own
    assert not undeclared_writes, f"{process.__name__} writes {sorted(undeclared_writes)}"
    undeclared_reads = found.reads - set(process.reads) - set(process.writes) - own
    assert not undeclared_reads, f"{process.__name__} reads {sorted(undeclared_reads)}"
    # and nothing is declared that the step does not touch
    idle = set(process.reads) - found.reads - found.writes
    assert not idle, f"{process.__name__} declares reads it never makes: {sorted(idle)}"
    idle = set(process.writes) - found.writes
    assert not idle, f"{process.__name__} declares writes it never makes: {sorted(idle)}"


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.__name__)
def test_declared_parameters_are_the_sections_the_step_reads(process):
    assert touches(process).sections == set(process.parameters)


def test_the_analysis_sees_writes_through_aliases_helpers_and_other_modules():
    """The analysis is not vacuous: it finds the writes made through an alias of the run
    record (sessions), in a helper of the same module (attacks' incumbent_killed), and the
    reads of a function of another module given the state (bargaining's margins)."""
    by_name = {p.__name__: p for p in PROCESSES}
    sessions, attacks = touches(by_name["Sessions"]), touches(by_name["Attacks"])
    assert {"run.stage", "run.formed_week", "government", "plan_members"} <= sessions.writes
    assert {
        "menace",
        "legitimacy",
        "run.stalemate",
    } <= sessions.reads  # sim.engine.rules.bargaining
    assert {"run.incumbent_alive", "grievance"} <= attacks.writes  # incumbent_killed
    assert "grievance" in attacks.reads  # read and written by `x[:] = f(x)`


def test_sim_processes_prints_the_week_in_order(capsys):
    from sim.cli.main import main

    assert main(["processes"]) == 0
    out = capsys.readouterr().out
    positions = [out.index(f"{k}. {p.__name__} (") for k, p in enumerate(PROCESSES, 1)]
    assert positions == sorted(positions)
    for process in PROCESSES:
        assert f"random stream: {process.stream or '(draws none)'}" in out
        for field in process.state:
            assert field.name in out
