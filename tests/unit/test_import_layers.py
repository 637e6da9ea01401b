"""The arrows point one way: every import of ours is one docs/architecture.md's layer table allows.

The table's "imports" column is the rule; this test reads it, walks every module of
``media_stream`` (imports inside functions included: they are how a cycle hides), and fails on an
import the table does not list for its package, on a package the table does not describe, and on
a cycle between packages.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "media_stream"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
EVERYTHING = "everything"


def layer_table(text: str) -> dict[str, set[str] | str]:
    """{package or top-level module: the packages it may import, or EVERYTHING} from the table."""
    allowed: dict[str, set[str] | str] = {}
    in_table = False
    for line in text.splitlines():
        if line.startswith("| package | what it is | imports |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        if not in_table or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        names = [n.strip("/").removesuffix(".py") for n in re.findall(r"`([^`]+)`", cells[0])]
        rule: set[str] | str = EVERYTHING if cells[-1].startswith(EVERYTHING) else set(re.findall(r"`([a-z_]+)`", cells[-1]))
        for name in names:
            allowed[name] = rule
    return allowed


def unit_of(path: Path) -> str:
    """The package (or top-level module) a source file belongs to."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    return rel.parts[0] if rel.parts[0] != "__init__" else "media_stream"


def imports_of_ours(path: Path) -> Iterator[tuple[str, int]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "media_stream" and len(parts) > 1:
                yield parts[1], node.lineno


def actual_graph() -> dict[str, dict[str, list[str]]]:
    """{unit: {imported unit: ["file:line", ...]}}"""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = unit_of(path)
        for target, line in imports_of_ours(path):
            if target != unit:
                graph.setdefault(unit, {}).setdefault(target, []).append(f"{path.relative_to(ROOT)}:{line}")
    return graph


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


@pytest.fixture(scope="module")
def allowed() -> dict[str, set[str] | str]:
    table = layer_table(ARCHITECTURE.read_text(encoding="utf-8"))
    assert table, "docs/architecture.md has no layer table"
    return table


def test_every_package_is_in_the_layer_table(allowed: dict[str, set[str] | str]) -> None:
    units = {unit_of(p) for p in PACKAGE.rglob("*.py")} - {"media_stream", "__main__"}
    assert not units - set(allowed), f"packages missing from docs/architecture.md's layer table: {sorted(units - set(allowed))}"


def test_no_import_runs_against_the_arrows(allowed: dict[str, set[str] | str]) -> None:
    upward = [
        f"{unit} -> {target} ({', '.join(where[:3])})"
        for unit, targets in actual_graph().items()
        for target, where in targets.items()
        if allowed.get(unit, set()) != EVERYTHING and target not in allowed.get(unit, set())  # type: ignore[operator]
    ]
    assert not upward, "imports the layer table does not allow:\n" + "\n".join(upward)


def test_packages_form_no_cycle() -> None:
    edges = {unit: set(targets) for unit, targets in actual_graph().items()}
    assert find_cycle(edges) is None, f"import cycle between packages: {' -> '.join(find_cycle(edges) or [])}"


def test_the_check_catches_an_upward_import() -> None:
    """The rule itself: a catalog -> client import (the old cycle) is reported."""
    edges = {"client": {"catalog"}, "catalog": {"client"}}
    assert find_cycle(edges) == ["catalog", "client", "catalog"]
    table = layer_table("| package | what it is | imports |\n|---|---|---|\n| `catalog/` | x | `domain` |\n| `cli.py` | y | everything |\n")
    assert table == {"catalog": {"domain"}, "cli": EVERYTHING}
