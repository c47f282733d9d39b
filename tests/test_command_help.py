"""Every command's ``--help`` answers without importing the model code (torch, PyAV, OpenCV, mediapipe, diffusers,
matplotlib, Gradio): those take 10-30 s to import on a loaded machine, so the command line imports them only when a
command runs (``latentsync.cli.arguments``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers.paths import REPO_ROOT

HEAVY_PACKAGES = ("torch", "av", "cv2", "mediapipe", "diffusers", "matplotlib", "gradio")
# What the README runs: each entry point (python -m ..., gradio_app.py; the shell scripts exec these), and the
# training launcher as train_unet.sh / train_syncnet.sh start it.
COMMANDS = sorted(f"{folder}.{path.stem}" for folder in ("scripts", "eval", "data_processing")
                  for path in (REPO_ROOT / folder).glob("*.py") if path.stem not in ("__init__", "launch_training"))
COMMANDS += ["gradio_app.py", "scripts.launch_training latentsync.cli.train_unet",
             "scripts.launch_training latentsync.cli.train_syncnet"]
# Runs the command with --help as ``python -m`` (or ``python gradio_app.py``) would, then says what got imported.
PROBE = """
import json, runpy, sys
target, *arguments = sys.argv[1:]
sys.argv = [target, *arguments, "--help"]
try:
    if target.endswith(".py"):
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as end:
    code = end.code
print(json.dumps({"code": code, "heavy": [name for name in HEAVY if name in sys.modules]}))
"""


def help_imports(command: str) -> dict:
    result = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY_PACKAGES!r}\n{PROBE}", *command.split()],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    *help_text, report = result.stdout.splitlines()
    return {"help": "\n".join(help_text), **json.loads(report)}


@pytest.mark.parametrize("command", COMMANDS)
def test_help_imports_no_model_code(command):
    result = help_imports(command)
    assert result["code"] == 0 and "usage:" in result["help"]
    assert result["heavy"] == []


def test_the_probe_sees_a_heavy_import():
    """The check above could fail: a module that imports PyAV at the top is reported."""
    assert "av" in help_imports("latentsync.io.video_writer")["heavy"]
