"""The layout's one-way rules that import-linter cannot see: `tests/` is not a package of the
project, so nothing outside it may import it, and no script edits `sys.path` to reach one."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = ["node", "consortium", "harness", "scripts"]


@cache
def _trees() -> dict[str, ast.AST]:
    """Every module outside tests/, parsed once for both checks."""
    paths = [p for folder in OUTSIDE for p in sorted((ROOT / folder).rglob("*.py"))]
    return {str(p.relative_to(ROOT)): ast.parse(p.read_text()) for p in paths}


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_nothing_outside_tests_imports_tests():
    found = {
        path: name
        for path, tree in _trees().items()
        for name in _imported(tree)
        if name == "tests" or name.startswith("tests.")
    }
    assert found == {}


def test_no_module_outside_tests_edits_sys_path():
    edits = [
        path
        for path, tree in _trees().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "path"
        and isinstance(node.value, ast.Name) and node.value.id == "sys"
    ]  # fmt: skip
    assert edits == []
