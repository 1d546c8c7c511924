"""The package's layers, read from the actual imports: no circles, and no layer imports one
above it (the engine imports nothing from scenario loading, batches, analysis or reports,
and nothing but the command line imports the command line)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sim"

#: The sub-packages, lowest first: each may import those before it, never those after.
LAYERS = ("engine", "scenario", "mesa", "batch", "analysis", "report", "view", "cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """The sim modules a file imports, wherever the import stands (lazy ones included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith("sim"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "sim"}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            # importlib.import_module("sim.x"): a lazy import by name
            found |= {a.value for a in node.args if isinstance(a, ast.Constant)}
    return found - {"sim"}


GRAPH = {name: imports(path) for name, path in MODULES.items()}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_sits_in_a_layer():
    loose = [m for m in MODULES if m != "sim" and layer(m) is None]
    assert not loose, f"modules outside the layers {LAYERS}: {loose}"


@pytest.mark.parametrize("module", [m for m in MODULES if m != "sim"])
def test_no_module_imports_a_higher_layer(module):
    own = layer(module)
    above = sorted(t for t in GRAPH[module] if (layer(t) or 0) > (own or 0))
    assert not above, f"{module} ({LAYERS[own or 0]}) imports a higher layer: {above}"


def test_only_the_command_line_imports_the_command_line():
    users = sorted(
        m for m, targets in GRAPH.items() if layer(m) != LAYERS.index("cli")
        and any(layer(t) == LAYERS.index("cli") for t in targets)
    )  # fmt: skip
    assert not users


def test_the_import_graph_has_no_circles():
    """Depth-first search from every module: a module met again on the current path is a
    circle."""
    circles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append([*path[path.index(module) :], module])
            return
        if module in done or module not in GRAPH:
            return
        for target in sorted(GRAPH[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(GRAPH):
        visit(module, [])
    assert not circles, f"import circles: {circles}"


def test_no_private_name_crosses_a_module():
    """``from sim.x import _name`` reaches into another module's internals."""
    leaks = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim"):
                leaks += [f"{name}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert not leaks


def test_the_checker_sees_a_planted_upward_import(tmp_path):
    """The layer test can fail: an engine module that imports the batch layer is caught."""
    planted = tmp_path / "planted.py"
    planted.write_text("from sim.batch.runner import run_batch\n")
    assert "sim.batch.runner" in imports(planted)
    assert layer("sim.batch.runner") > layer("sim.engine.world")
