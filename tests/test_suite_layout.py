"""The suite's own rules: shared test code lives in tests/helpers and test modules never import one another
(a helper in a test module runs that module's imports and fixtures wherever it is used, a subprocess or a Ray
worker included); the README's quick command selects with markers that pyproject.toml registers."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from tests.helpers.paths import REPO_ROOT

TESTS = REPO_ROOT / "tests"
HELPERS = TESTS / "helpers"


def python_files() -> list[Path]:
    return sorted(path for path in TESTS.rglob("*.py") if "__pycache__" not in path.parts)


def modules_named(path: Path) -> set[str]:
    """Every module ``path`` imports, and every dotted ``tests.…`` name in its strings (``python -c "from …"``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names |= set(re.findall(r"\btests(?:\.\w+)+", node.value))
    return names


def is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" and any(part.startswith("test_") for part in parts[1:])


def test_no_module_imports_a_test_module():
    imports = {path.relative_to(REPO_ROOT).as_posix(): sorted(filter(is_test_module, modules_named(path)))
               for path in python_files()}
    assert {path: names for path, names in imports.items() if names} == {}


def test_every_module_that_is_not_a_test_is_a_helper():
    others = [path.relative_to(REPO_ROOT).as_posix() for path in python_files()
              if not path.name.startswith("test_") and path.name not in ("conftest.py", "__init__.py")
              and HELPERS not in path.parents]
    assert others == []


def test_the_readme_s_quick_command_uses_registered_markers():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    registered = {line.split(":")[0] for line in config["markers"]}
    assert {"slow", "browser", "distributed", "install", "parity"} <= registered
    assert "--strict-markers" in config["addopts"].split()
    (expression,) = re.findall(r'`\.venv/bin/python -m pytest -m "([^"]+)"`', (REPO_ROOT / "README.md").read_text())
    assert set(re.findall(r"\w+", expression)) - {"not", "and", "or"} <= registered, expression
