"""The engine's shape: imports run one way (no cycle in gan/), the engine knows no Streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

GAN = Path(__file__).resolve().parents[1] / "gan"


def gan_imports(path: Path) -> set[str]:
    """The gan modules a file imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gan"):
            if node.module == "gan":  # from gan import io, runfolder
                found |= {f"gan.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("gan.")}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {f"gan.{path.stem}": path for path in GAN.glob("*.py") if path.stem != "__init__"}
    return {name: gan_imports(path) & modules.keys() - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> list[str] | None:
        if module in trail:
            return trail[trail.index(module) :] + [module]
        if module in done:
            return None
        for imported in sorted(graph[module]):
            cycle = visit(imported, [*trail, module])
            if cycle:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return None


def test_gan_has_no_import_cycle():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_the_cycle_finder_finds_a_cycle():
    graph = {"gan.a": {"gan.b"}, "gan.b": {"gan.c"}, "gan.c": {"gan.a"}, "gan.d": set()}
    assert find_cycle(graph) == ["gan.a", "gan.b", "gan.c", "gan.a"]


def test_imports_run_one_way_from_run_management_down_to_the_data():
    graph = import_graph()
    assert not any("gan.runs" in imported for imported in graph.values())  # the top
    assert not graph["gan.trainer"] & {"gan.child", "gan.runs"}
    assert graph["gan.events"] <= {"gan.config"}
    assert graph["gan.control"] <= {"gan.events", "gan.config"}  # commands, and their errors
    assert graph["gan.detectors"] <= {"gan.quality"} and not graph["gan.quality"]  # numpy only


def test_no_engine_module_is_over_400_lines():
    long = {p.name: n for p in GAN.glob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
