"""The layers of ARCHITECTURE.md, enforced on the import graph of harness/.

Every `import`/`from` statement counts, wherever it sits (inside a function too), and so
does every string that names one of our modules ("harness.x.y" or "harness.x:attr", the
form the registries use), since those are imports an import graph would otherwise miss.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "harness"

# Top-level unit of harness/ -> layer. A unit imports only units of its own layer or
# below, with no cycle among units; the reporting layer also reaches no stage.
LAYERS: dict[str, int] = {
    # 0 base: no stage, no benchmark, no model
    "harness": 0, "errors": 0, "extras": 0, "registry": 0, "io": 0, "hashing": 0,
    "display": 0, "records": 0, "network": 0, "progress": 0, "provenance": 0,
    "identity": 0, "stats": 0, "metrics": 0, "aggregate": 0, "options": 0, "dbschema": 0,
    # 1 inputs: benchmarks and their gold, prediction files, prompts, data bundles
    "benchmarks": 1, "predictions": 1, "prompting": 1, "prepare": 1,
    # 2 the run config
    "config": 2,
    # 3 stages: generation (with its backends) and scoring, neither importing the other
    "backends": 3, "generation": 3, "scoring": 3,
    # 4 reporting: reads records (rows, summaries, leaderboards) only
    "summary": 4, "leaderboard": 4, "diffing": 4, "report": 4, "gate": 4,
    # 5 pipelines above the stages
    "pipeline": 5, "sweep": 5, "testsuite": 5, "failures_export": 5,
    # 6 the command line
    "commands": 6, "cli": 6,
}  # fmt: skip
REPORTING = 4
# Edges the layer numbers allow but the design does not.
FORBIDDEN: set[tuple[str, str]] = {
    ("generation", "scoring"),
    ("backends", "scoring"),
    ("scoring", "prompting"),
    ("scoring", "benchmarks"),
    ("scoring", "predictions"),
}
# stats imports nothing of ours.
LEAVES = {"stats", "errors", "records", "hashing", "display"}

_NAMED = re.compile(r"\bharness(?:\.[A-Za-z_]\w*)+(?::\w+)?")


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _targets(path: Path, source: str | None = None) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    package = _module(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: len(package) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(m.split(":")[0] for m in _NAMED.findall(node.value))
    return {t for t in found if t == "harness" or t.startswith("harness.")}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "harness"


def unit_graph() -> dict[str, dict[str, set[str]]]:
    """unit -> unit it imports -> the module-level edges that make it (for the message)."""
    modules = {_module(p) for p in PACKAGE.rglob("*.py")}
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in PACKAGE.rglob("*.py"):
        source = _module(path)
        for target in _targets(path):
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and _unit(source) != _unit(target):
                graph[_unit(source)][_unit(target)].add(f"{source} -> {target}")
    return graph


def _edges(graph: dict[str, dict[str, set[str]]], a: str, b: str) -> str:
    return "; ".join(sorted(graph[a][b])[:3])


def test_every_unit_has_a_layer() -> None:
    units = {_unit(_module(p)) for p in PACKAGE.rglob("*.py")}
    assert sorted(units - LAYERS.keys()) == []


def test_imports_only_look_down() -> None:
    graph = unit_graph()
    bad = [
        f"{a} ({LAYERS.get(a)}) imports {b} ({LAYERS.get(b)}): {_edges(graph, a, b)}"
        for a in list(graph)
        for b in graph[a]
        if LAYERS.get(b, 99) > LAYERS.get(a, -1)
    ]
    assert bad == []


def test_reporting_reaches_no_stage() -> None:
    graph = unit_graph()
    bad = [
        f"{a} imports {b}: {_edges(graph, a, b)}"
        for a in graph
        if LAYERS.get(a) == REPORTING
        for b in graph[a]
        if LAYERS.get(b) not in (0, REPORTING)
    ]
    assert bad == []


def test_no_forbidden_edges() -> None:
    graph = unit_graph()
    bad = [f"{a} imports {b}: {_edges(graph, a, b)}" for a, b in FORBIDDEN if b in graph[a]]
    bad += [f"{a} imports {sorted(graph[a])}" for a in LEAVES if graph[a]]
    assert bad == []


def test_no_cycle_among_units() -> None:
    graph = unit_graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(unit: str, trail: list[str]) -> None:
        state[unit] = 1
        for nxt in graph[unit]:
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[unit] = 2

    for unit in sorted(graph):
        if unit not in state:
            visit(unit, [unit])
    assert cycles == []


@pytest.mark.parametrize("broken", ["string", "lazy"])
def test_the_walk_sees_string_and_function_level_imports(broken: str) -> None:
    source = (
        'TARGET = "harness.summary:aggregate"\n'
        if broken == "string"
        else "def f():\n    from harness import summary\n"
    )
    assert "harness.summary" in _targets(PACKAGE / "probe.py", source)
