"""The risk modules read top-down: no module of seclo.risk imports, even for typing, one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import seclo.risk

PACKAGE = Path(seclo.risk.__file__).parent


def _imports(path: Path) -> set[str]:
    """The seclo.risk modules a module names in any import statement, typing-only and function-level ones too."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seclo.risk."):
            names.add(node.module.removeprefix("seclo.risk."))
        elif isinstance(node, ast.Import):
            names |= {
                a.name.removeprefix("seclo.risk.") for a in node.names if a.name.startswith("seclo.risk.")
            }
    return names


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in `graph` as the modules along it, or None when the graph is acyclic."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for target in sorted(graph.get(module, set())):
            found = visit(target, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module, [])
        if found:
            return found
    return None


def test_risk_modules_have_no_import_cycle() -> None:
    """No chain of imports inside seclo.risk leads back to where it started (scenario -> tolerance -> summary)."""
    graph = {path.stem: _imports(path) for path in PACKAGE.glob("*.py")}
    assert set(graph) >= {"scenario", "summary", "tolerance", "portfolio"}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_cycle_finder_reports_a_cycle() -> None:
    """The cycle finder this test relies on names the modules of a cycle it is given."""
    assert _cycle({"scenario": {"tolerance"}, "tolerance": {"summary"}, "summary": {"scenario"}}) == [
        "scenario",
        "tolerance",
        "summary",
        "scenario",
    ]
