"""``python -m scripts.check_environment`` (what ``./setup_env.sh`` runs after installing): torch, torchvision's
compiled ops and diffusers load together, or one line naming the package that does not and the fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from latentsync.cli import check_environment
from latentsync.errors import EnvironmentProblem
from tests.helpers.paths import REPO_ROOT


@pytest.mark.slow
def test_this_environment_passes_and_says_what_it_checked():
    result = subprocess.run([sys.executable, "-m", "scripts.check_environment"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("checked: torch 2.") and "(compiled ops), diffusers 0." in result.stdout


@pytest.mark.slow
def test_a_package_that_cannot_be_imported_is_named_with_its_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # its import fails, whether or not it is installed
    with pytest.raises(EnvironmentProblem) as error:
        check_environment.check_environment()
    message = str(error.value)
    assert message.startswith("diffusers 0.") and " does not work with torch 2." in message, message
    assert message.endswith("fix: .venv/bin/pip install --force-reinstall --no-deps diffusers, then run "
                            "./setup_env.sh again"), message


def test_the_torchvision_fix_names_the_release_made_for_the_installed_torch(monkeypatch):
    versions = {"torch": "2.5.1+cpu"}
    monkeypatch.setattr(check_environment.importlib.metadata, "version", versions.__getitem__)
    assert check_environment.torchvision_fix() == (
        '.venv/bin/pip install --force-reinstall --no-deps "torchvision==0.20.*" --index-url '
        "https://download.pytorch.org/whl/cpu (the release made for torch 2.5.1+cpu)")
    versions["torch"] = "2.14.1"
    assert '"torchvision==0.29.*" (the release made for torch 2.14.1)' in check_environment.torchvision_fix()
