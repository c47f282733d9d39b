"""Run a command the way the README shows it (``./inference.sh ...``, ``.venv/bin/python -m eval.eval_fvd ...``,
``.venv/bin/python gradio_app.py ...``) from any folder, and read how it ended."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers.paths import REPO_ROOT
from tests.helpers.shell_env import environment_without_python, require_project_venv

# Start-up lines of mediapipe / TensorFlow Lite / absl / protobuf that quiet_logs removes, and OpenCV's warnings.
NOISE = ("Created TensorFlow Lite", "absl::InitializeLog", "inference_feedback_manager", "GetPrototype", "[ WARN:")


def run_entry_point(program: str, *arguments: str, cwd: Path = REPO_ROOT,
                    timeout: float = 600) -> subprocess.CompletedProcess:
    """``program`` is a shell script of the checkout (``./inference.sh``, ``./eval/eval_sync_conf.sh``), a module
    (``-m eval.eval_fvd``) or ``gradio_app.py``; modules and scripts run with the project's venv, as the README's
    ``.venv/bin/python`` does, and find the checkout from ``cwd`` too."""
    environment = environment_without_python()
    if program.startswith("./"):
        command = [str(REPO_ROOT / program), *arguments]
    else:
        environment["PYTHONPATH"] = str(REPO_ROOT)
        target = program.split() if program.startswith("-m ") else [str(REPO_ROOT / program)]
        command = [str(require_project_venv()), *target, *arguments]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one ``error:`` line a command that refused its input ends with (exit 2; no traceback, no library chatter,
    nothing after it)."""
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr and library_noise(result.stderr) == [], result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if "error:" in line] == lines[-1:], result.stderr[-3000:]
    return lines[-1]


def library_noise(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are other libraries' chatter (``NOISE``), which should never reach the user."""
    return [line for line in stderr.splitlines() if any(noise in line for noise in NOISE)]
