"""Run the shell entry points as the README shows them: no PYTHON, no activated virtual environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import REPO_ROOT


def environment_without_python() -> dict[str, str]:
    """This process's environment minus every hint of which Python to use (the scripts must find ``.venv``)."""
    prefixes = {Path(sys.prefix).resolve(), Path(sys.executable).parent.resolve()}
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep)
            if entry and not any(Path(entry).resolve().is_relative_to(prefix) for prefix in prefixes)]
    hidden = {"PYTHON", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    environment = {name: value for name, value in os.environ.items() if name not in hidden}
    environment["PATH"] = os.pathsep.join(path or ["/usr/bin", "/bin"])
    return environment


def require_project_venv() -> Path:
    """``REPO_ROOT/.venv/bin/python`` (what the scripts run), or skip: ``./setup_env.sh`` creates it."""
    python = REPO_ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{python} is absent; the shell entry points run the project's venv (./setup_env.sh makes it)")
    return python
