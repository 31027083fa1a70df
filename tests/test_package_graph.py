"""The package graph stays a DAG and modules stay small: every ``nasforge.X`` import (lazy ones
included) between top-level packages, and no module over 400 lines; strategies never import the study."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent / "nasforge"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "nasforge":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nasforge."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("nasforge."))
    return found


def test_no_cycle_among_packages() -> None:
    graph = nx.DiGraph()
    for path in ROOT.rglob("*.py"):
        package = path.relative_to(ROOT).with_suffix("").parts[0]
        graph.add_edges_from((package, t) for t in _imports(path) if t != package)
    assert list(nx.simple_cycles(graph)) == []
    assert "study" not in nx.descendants(graph, "strategies")


def test_no_module_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
