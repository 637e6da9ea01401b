"""The test tree's shape: shared code lives in ``tests/helpers/`` (or a folder's non-test module),
never in a test module or a conftest another folder reaches into; fixtures shared across folders
are pytest plugins (``pytest_plugins`` in tests/conftest.py), so no conftest imports another; the
unit tree mirrors the package.

Every import is read (those inside functions included) from every module under ``tests/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
PACKAGE = ROOT / "media_stream"
# tests/unit/ folders that are not a media_stream package, and why
UNIT_FOLDERS_BESIDE_THE_PACKAGE = {
    "audio": "the audio renderers (media_stream/render's audio modules) and their tiny models",
    "deploy": "the deploy/ manifests, compose file and images",
    "security": "checks across packages: secrets, Kafka security settings, the dependency audit",
}
UNIT_TOP_LEVEL = {"test_import_layers.py", "test_test_tree.py"}  # checks over a whole tree


def module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def tree_violations(root: Path) -> list[str]:
    """What breaks the rules in the tree under ``root`` (whose folder name is the top package, ``tests``)."""
    base = root.parent
    modules = {module_name(p, base): p for p in root.rglob("*.py")}
    problems = []
    for name, path in sorted(modules.items()):
        package = name.rsplit(".", 1)[0]
        for imported in sorted(imported_modules(path) & set(modules)):
            last = imported.rsplit(".", 1)[-1]
            if last.startswith("test_"):
                problems.append(f"{name} imports the test module {imported}: move what it shares to tests/helpers/")
            elif last == "conftest" and path.name == "conftest.py":
                problems.append(f"the conftest {name} imports the conftest {imported}: make its fixtures a plugin module")
            elif last == "conftest" and imported.rsplit(".", 1)[0] != package:
                problems.append(f"{name} imports {imported}, a conftest of another folder: move what it shares to tests/helpers/")
    return problems


def unit_tree_violations(unit: Path, package: Path) -> list[str]:
    packages = {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    problems = [f"tests/unit/{p.name}: a test module beside the package folders" for p in sorted(unit.glob("test_*.py")) if p.name not in UNIT_TOP_LEVEL]
    for folder in sorted(p for p in unit.iterdir() if p.is_dir() and p.name != "__pycache__"):
        if folder.name not in packages and folder.name not in UNIT_FOLDERS_BESIDE_THE_PACKAGE:
            problems.append(f"tests/unit/{folder.name}/ mirrors no media_stream package")
    return problems


def test_no_module_imports_a_test_module_or_another_folders_conftest() -> None:
    assert tree_violations(TESTS) == []


def test_the_unit_tree_mirrors_the_package() -> None:
    assert unit_tree_violations(TESTS / "unit", PACKAGE) == []


def test_the_checks_see_each_kind_of_violation(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    (tests / "a").mkdir(parents=True)
    (tests / "b").mkdir()
    (tests / "a" / "conftest.py").write_text("X = 1\n")
    (tests / "a" / "test_one.py").write_text("def shared():\n    pass\n")
    (tests / "a" / "test_same_folder.py").write_text("from tests.a.conftest import X\n")  # allowed
    (tests / "b" / "conftest.py").write_text("from tests.a.conftest import X\n")
    (tests / "b" / "test_two.py").write_text("def test_x():\n    from tests.a.test_one import shared\n")
    (tests / "b" / "test_three.py").write_text("import tests.a.conftest\n")
    found = tree_violations(tests)
    assert len(found) == 3, found
    assert any("tests.b.conftest imports the conftest tests.a.conftest" in p for p in found)
    assert any("tests.b.test_two imports the test module tests.a.test_one" in p for p in found)
    assert any("tests.b.test_three imports tests.a.conftest, a conftest of another folder" in p for p in found)

    package, unit = tmp_path / "pkg", tmp_path / "unit"
    (package / "serde").mkdir(parents=True)
    (package / "serde" / "__init__.py").write_text("")
    (unit / "serde").mkdir(parents=True)
    (unit / "nowhere").mkdir()
    (unit / "test_serde_codec.py").write_text("")
    (unit / "test_import_layers.py").write_text("")
    assert unit_tree_violations(unit, package) == [
        "tests/unit/test_serde_codec.py: a test module beside the package folders",
        "tests/unit/nowhere/ mirrors no media_stream package",
    ]
