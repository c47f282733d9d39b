"""``pip install -e .`` into a fresh virtual environment gives working console commands; the wheel holds
``latentsync`` and nothing else.

The fresh venv sees the project's own venv's packages through a ``.pth`` file (nothing is downloaded:
``--no-deps --no-build-isolation``), so the test checks what pyproject.toml adds: the editable package and
one executable per ``[project.scripts]`` entry whose ``--help`` runs. A command whose module is missing is a
failure (pip would install an executable that cannot start). The wheel is built from a copy of the checkout,
so the build leaves nothing behind in it.
"""

from __future__ import annotations

import ast
import concurrent.futures
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def module_files(entry_point: str) -> tuple[str, str]:
    """``latentsync.cli.inference:main`` -> ``latentsync/cli/inference.py``, ``latentsync/cli/inference/__init__.py``:
    where the module may be, relative to the repository root (and inside a wheel)."""
    module = entry_point.split(":")[0].replace(".", "/")
    return f"{module}.py", f"{module}/__init__.py"


def defines(source: str, name: str) -> bool:
    """A top-level function, class, assignment or import called ``name`` in the module's ``source``."""
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return True
    return False


@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_console_command_target_exists(command):
    """Each ``[project.scripts]`` target names a module of this checkout that defines the function (no install)."""
    target = SCRIPTS[command]
    found = [REPO_ROOT / path for path in module_files(target) if (REPO_ROOT / path).is_file()]
    assert found, f"{command} = {target!r}: neither {' nor '.join(module_files(target))} exists"
    assert defines(found[0].read_text(), target.split(":")[1]), f"{command}: {found[0]} has no {target}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, str]:
    """A fresh venv with this checkout installed in editable mode: its ``bin`` folder and pip's output."""
    root = tmp_path_factory.mktemp("install") / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(root)
    python = root / "bin" / "python"
    site_packages = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        capture_output=True, text=True, check=True).stdout.strip())
    (site_packages / "project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                             "--no-build-isolation", "--editable", str(REPO_ROOT)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "bin", result.stdout + result.stderr


@pytest.fixture(scope="module")
def environment(installed) -> Path:
    return installed[0]


@pytest.mark.install
def test_the_build_uses_no_deprecated_metadata(installed):
    """No deprecation (e.g. the TOML-table ``project.license``) in what the build backend prints."""
    assert [line.strip() for line in installed[1].splitlines() if "deprecat" in line.lower()] == []


@pytest.mark.install
def test_the_package_is_imported_from_the_checkout(environment):
    found = subprocess.run([environment / "python", "-c", "import latentsync; print(latentsync.__file__)"],
                           capture_output=True, text=True, check=True, cwd=environment).stdout.strip()
    assert Path(found) == REPO_ROOT / "latentsync" / "__init__.py"


@pytest.fixture(scope="module")
def help_runs(environment) -> dict[str, subprocess.CompletedProcess]:
    """``COMMAND --help`` of every installed console command, two at a time (each start takes seconds of CPU)."""
    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run([environment / command, "--help"], capture_output=True, text=True, timeout=600,
                              cwd=environment)  # not the checkout: the command must work from anywhere

    installed = [command for command in sorted(SCRIPTS) if (environment / command).is_file()]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return dict(zip(installed, pool.map(run, installed)))


@pytest.mark.install
@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_console_command_help(environment, help_runs, command):
    executable = environment / command
    assert executable.is_file(), f"pip did not install {command}"
    result = help_runs[command]
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {command} "), result.stdout  # the command typed, not python -m ...


COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                     "checkpoints", "assets", "output")


@pytest.mark.install
def test_the_wheel_holds_latentsync_and_every_console_command(tmp_path):
    """``pip wheel`` of the checkout (a copy: the build writes build/ and *.egg-info beside its sources): the only
    top-level package is ``latentsync`` (not scripts/, eval/, data_processing/, tests/, benchmarks/ or
    gradio_app.py), and every ``[project.scripts]`` target is a module in the wheel that defines its function."""
    source = tmp_path / "checkout"
    shutil.copytree(REPO_ROOT, source, ignore=COPY_IGNORE, symlinks=True)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                             "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "dist").glob("latentsync-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (dist_info,) = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
        assert {name.split("/")[0] for name in names} - {dist_info} == {"latentsync"}, sorted(names)
        if f"{dist_info}/top_level.txt" in names:
            assert archive.read(f"{dist_info}/top_level.txt").decode().split() == ["latentsync"]
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
        for command, target in SCRIPTS.items():
            assert f"{command} = {target}" in entry_points, (command, entry_points)
            in_wheel = [path for path in module_files(target) if path in names]
            assert in_wheel, f"{command} = {target}: {' nor '.join(module_files(target))} is in the wheel"
            assert defines(archive.read(in_wheel[0]).decode(), target.split(":")[1]), f"{in_wheel[0]} has no {target}"
