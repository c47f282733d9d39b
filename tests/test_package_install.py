"""``pip install -e .`` into a fresh virtual environment gives working console commands.

The fresh venv sees the project's own venv's packages through a ``.pth`` file (nothing is downloaded:
``--no-deps --no-build-isolation``), so the test checks what pyproject.toml adds: the editable package and
one executable per ``[project.scripts]`` entry whose ``--help`` runs. Commands whose module is not in this
checkout yet (written on other branches) are skipped, naming the missing file.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def module_file(entry_point: str) -> Path:
    """``scripts.inference:main`` -> ``<repo>/scripts/inference.py`` (or ``gradio_app.py`` for a top module)."""
    module = entry_point.split(":")[0]
    return REPO_ROOT.joinpath(*module.split(".")).with_suffix(".py")


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


def test_the_build_uses_no_deprecated_metadata(installed):
    """No deprecation (e.g. the TOML-table ``project.license``) in what the build backend prints."""
    assert [line.strip() for line in installed[1].splitlines() if "deprecat" in line.lower()] == []


def test_the_package_is_imported_from_the_checkout(environment):
    found = subprocess.run([environment / "python", "-c", "import latentsync; print(latentsync.__file__)"],
                           capture_output=True, text=True, check=True, cwd=environment).stdout.strip()
    assert Path(found) == REPO_ROOT / "latentsync" / "__init__.py"


@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_console_command_help(environment, command):
    source = module_file(SCRIPTS[command])
    if not source.is_file():
        pytest.skip(f"{command}: {source.relative_to(REPO_ROOT)} is not in this checkout yet")
    executable = environment / command
    assert executable.is_file(), f"pip did not install {command}"
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=600,
                            cwd=environment)  # not the checkout: the command must work from anywhere
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ")
