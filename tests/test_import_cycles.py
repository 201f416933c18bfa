"""No import cycles inside lossctl: the layers import downwards only.

Every ``import`` of a lossctl module counts, wherever it stands (module level,
inside a function, under ``TYPE_CHECKING``): a lazy import hides a cycle from
Python's import machinery, not from a reader. Importing ``a.b`` counts as an
edge to ``a.b`` (its ``__init__`` when it is a package), not to ``a``.

Run ``python tests/test_import_cycles.py`` to print the import graph's cycles.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lossctl"

#: cycles left to other changes: the cli package's app <-> its command modules (cli/__init__.py
#: registers the commands, which import the app from it); see ARCHITECTURE.md
KNOWN: set[frozenset[str]] = set()  # none: the cli package's commands import cli.app, not the package


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: {lossctl modules it imports}}`` for every module of the package."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import sub` imports the submodule pkg.sub when there is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(1000, 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _unexplained(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles other than the known ones: drop each known edge pair, then look again."""
    pruned = {v: set(ws) for v, ws in graph.items()}
    for pair in KNOWN:
        a, b = sorted(pair)
        pruned[a].discard(b)
        pruned[b].discard(a)
    return cycles(pruned)


def test_no_import_cycles_inside_lossctl():
    assert _unexplained(import_graph()) == []


def test_the_checker_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_known_cycles_still_exist():
    """When the cli cycle is fixed, drop it from KNOWN so it cannot come back."""
    graph = import_graph()
    for pair in KNOWN:
        a, b = sorted(pair)
        assert b in graph[a] and a in graph[b], pair


if __name__ == "__main__":
    for component in cycles(import_graph()):
        print(" <-> ".join(component))
