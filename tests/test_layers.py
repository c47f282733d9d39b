"""The packages of ``latentsync`` form layers: none imports one above it (imports inside functions count too), so
no two import each other; the entry points are thin and import no other entry point."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.helpers.paths import REPO_ROOT

# Bottom to top; a package may import those of its own layer and below.
LAYERS = [
    {"errors", "locations"},
    {"utils"},
    {"io", "models"},
    {"config"},
    {"analysis"},  # the lip-sync scorer, MFCC, face box tracks and scene cuts that several packages use
    {"face", "whisper", "losses"},
    {"data"},
    {"pipelines"},
    {"evaluation"},
    {"data_processing"},
    {"training"},
    {"app"},
    {"cli"},
]
ENTRY_POINT_DIRS = ("scripts", "eval", "data_processing")
PACKAGE = REPO_ROOT / "latentsync"


def imported_modules(path: Path, module: str) -> set[str]:
    """Every module ``path`` (the module named ``module``) imports, anywhere in the file, relative ones resolved."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)  # ``from pkg import module``
    return found


def top_package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "latentsync" or len(parts) < 2:
        return None
    name = parts[1]
    return name if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file() else None


def package_imports() -> dict[str, dict[str, set[str]]]:
    """Package -> imported package -> the files that import it."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative == Path("__init__.py"):
            continue
        own = relative.parts[0].removesuffix(".py")
        module = ".".join(["latentsync", *relative.with_suffix("").parts])
        for imported in imported_modules(path, module):
            other = top_package(imported)
            if other is not None and other != own:
                graph[own][other].add(str(relative))
    return graph


def test_every_package_has_a_layer():
    packages = {path.name.removesuffix(".py") for path in PACKAGE.iterdir()
                if (path.is_dir() and (path / "__init__.py").is_file()) or (path.suffix == ".py" and path.stem != "__init__")}
    assert packages == set().union(*LAYERS)


def test_no_package_imports_one_above_it():
    rank = {package: index for index, layer in enumerate(LAYERS) for package in layer}
    upward = [f"{package} -> {other} ({', '.join(sorted(files))})" for package, imports in package_imports().items()
              for other, files in imports.items() if rank[other] > rank[package]]
    assert upward == []


def test_no_two_packages_import_each_other():
    graph = package_imports()
    cycles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a < b and a in graph.get(b, {}))
    assert cycles == []


def test_the_checker_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def late():\n    from latentsync.training import session\n    from ..face import mask\n")
    assert {"latentsync.training.session", "latentsync.face.mask"} <= imported_modules(source, "latentsync.io.probe")


ENTRY_POINTS = sorted([path for folder in ENTRY_POINT_DIRS for path in (REPO_ROOT / folder).glob("*.py")
                       if path.name != "__init__.py"] + [REPO_ROOT / "gradio_app.py"])


@pytest.mark.parametrize("path", ENTRY_POINTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_entry_points_are_thin_and_import_only_the_library(path):
    imports = imported_modules(path, path.stem)
    assert all(name.split(".")[0] == "latentsync" for name in imports), imports
    assert [name for name in imports if name.startswith("latentsync.cli.")], "an entry point runs a latentsync.cli main"
    assert len(path.read_text().splitlines()) <= 6
