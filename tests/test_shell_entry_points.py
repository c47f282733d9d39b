"""inference.sh run as the README shows it (no PYTHON, relative paths), killed with SIGTERM, and without demo clips."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import stat
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from tests.helpers.demo_clips import write_h264
from tests.helpers.entry_points import library_noise
from tests.helpers.paths import REPO_ROOT, shared_path
from tests.helpers.readme_commands import readme_command
from tests.helpers.shell_env import environment_without_python, require_project_venv
from tests.helpers.tiny_models import write_tiny_release
from tests.helpers.training_data import make_processed_dataset, write_fileslist


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with talk.mp4 (1 s of demo1 at quarter size), speech.wav (1 s), long.wav (8 s) and tiny models."""
    folder = tmp_path_factory.mktemp("shell")
    frames = itertools.islice(VideoReader(shared_path("media", "demo1_video.mp4")).frames(), 25)
    write_h264(folder / "talk.mp4", [frame[::4, ::4] for frame in frames], crf=12)
    speech = load_audio(shared_path("media", "demo1_audio.wav"))
    for name, seconds in (("speech.wav", 1), ("long.wav", 8)):
        with wave.open(str(folder / name), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(16000)
            handle.writeframes((speech[: seconds * 16000] * 32767).astype(np.int16).tobytes())
    models = write_tiny_release(folder / "models")
    model_flags = [f"--{name}={path}" for name, path in models.items()]
    return folder, model_flags + ["--inference_steps", "1", "--guidance_scale", "1.0", "--device", "cpu"]


def _inference_sh(workdir, audio: str, **popen):
    """README's ``./inference.sh --video_path talk.mp4 --audio_path speech.wav --video_out_path synced.mp4``,
    run from the folder holding those files, plus the tiny models (and another audio: the last flag wins)."""
    folder, model_flags = workdir
    program, *arguments = readme_command("./inference.sh", "--video_path")
    assert arguments[arguments.index("--video_path") + 1] == "talk.mp4"
    assert arguments[arguments.index("--video_out_path") + 1] == "synced.mp4"
    command = [str(REPO_ROOT / program), *arguments, "--audio_path", audio, *model_flags]
    return subprocess.Popen(command, cwd=folder, env=environment_without_python(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


@pytest.mark.slow
def test_inference_sh_writes_a_normal_file_and_says_how_long_it_lasts(workdir):
    require_project_venv()
    folder, _ = workdir
    umask = os.umask(0o022)
    os.umask(umask)
    process = _inference_sh(workdir, "speech.wav")
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    output = folder / "synced.mp4"  # relative paths are taken from the caller's folder, as with any command
    assert stat.S_IMODE(output.stat().st_mode) == 0o666 & ~umask
    assert "wrote synced.mp4: 1.00 s of video in " in stdout
    assert library_noise(stderr) == [], stderr
    output.unlink()


@pytest.mark.slow
def test_sigterm_mid_run_removes_the_partial_file(workdir):
    require_project_venv()
    folder, _ = workdir
    process = _inference_sh(workdir, "long.wav")
    deadline = time.monotonic() + 600
    while not list(folder.glob(".synced.partial-*")):  # the writer has started: frames are being encoded
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-3000:]
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)  # inference.sh execs Python, so this reaches it directly
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert "interrupted (SIGTERM)" in stderr
    assert not list(folder.glob(".synced.partial-*")) and not (folder / "synced.mp4").exists()


def test_missing_demo_clip_points_to_setup_env(tmp_path):
    """A fresh clone before ./setup_env.sh: no assets/, no .venv."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO_ROOT / "inference.sh", tmp_path)
    shutil.copy(REPO_ROOT / "scripts" / "project_python.sh", tmp_path / "scripts")
    result = subprocess.run(["bash", str(tmp_path / "inference.sh")], env=environment_without_python(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "demo1_video.mp4 is missing; run ./setup_env.sh" in result.stderr


def test_inference_help_works_without_the_demo_clips(tmp_path):
    """./inference.sh --help on a fresh clone (no assets/): the help, not "the demo clip is missing"."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO_ROOT / "inference.sh", tmp_path)
    shutil.copy(REPO_ROOT / "scripts" / "project_python.sh", tmp_path / "scripts")
    python = tmp_path / ".venv" / "bin" / "python"  # prints the arguments it was given
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    python.chmod(0o755)
    for flag in ("--help", "-h"):
        result = subprocess.run([str(tmp_path / "inference.sh"), flag], env=environment_without_python(),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        arguments = result.stdout.splitlines()
        assert arguments[:2] == ["-m", "scripts.inference"] and arguments[-1] == flag


def test_without_a_venv_the_scripts_say_so_and_fall_back_to_python3(tmp_path):
    script = f'source "{REPO_ROOT}/scripts/project_python.sh"; project_python "{tmp_path}"'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "python3"
    assert f"no virtual environment at {tmp_path}/.venv (run ./setup_env.sh" in result.stderr
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(shutil.which("python3"))
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == f"{tmp_path}/.venv/bin/python" and result.stderr == ""


@pytest.mark.parametrize("script, module, config_flags", [
    ("train_syncnet.sh", "latentsync.cli.train_syncnet", ["--config_path", "configs/syncnet/syncnet_16_pixel_attn.yaml"]),
    ("train_unet.sh", "latentsync.cli.train_unet", ["--unet_config_path", "configs/unet/stage2_512.yaml"]),
])
def test_training_scripts_run_the_launcher_from_the_caller_s_folder(tmp_path, script, module, config_flags):
    """Run from another folder, a training script runs the venv's launcher there (the caller's relative paths stay
    the caller's), with the checkout on PYTHONPATH and its default config first, as an absolute path."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for name in (script, "scripts/project_python.sh", "scripts/torchrun.sh"):
        shutil.copy(REPO_ROOT / name, checkout / name)
    python = checkout / ".venv" / "bin" / "python"  # prints its folder, PYTHONPATH and arguments
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\npwd; echo "$PYTHONPATH"; printf "%s\\n" "$@"\n')
    python.chmod(0o755)
    result = subprocess.run([str(checkout / script), "--resume", "latest"], cwd=tmp_path, capture_output=True,
                            env=environment_without_python(), text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    folder, pythonpath, *arguments = result.stdout.splitlines()
    assert Path(folder).resolve() == tmp_path.resolve() and pythonpath == str(checkout)
    flag, config = config_flags
    assert arguments == ["-m", "scripts.launch_training", module, flag, f"{checkout}/{config}", "--resume", "latest"]


@pytest.mark.slow
@pytest.mark.parametrize("script, variables, message", [
    ("train_unet.sh", {"NPROC_PER_NODE": "abc"}, "error: NPROC_PER_NODE='abc' is not a number of processes"),
    ("train_syncnet.sh", {"RDZV_ENDPOINT": "node0"}, "error: RDZV_ENDPOINT='node0' is not HOST:PORT"),
])
def test_malformed_launch_variables_are_one_line_and_exit_2(tmp_path, script, variables, message):
    """``NPROC_PER_NODE=abc ./train_unet.sh`` and the like: one line naming the variable, before any other check
    (the default config's data is absent here), instead of torchrun's traceback. The other malformed values:
    tests/test_training_launcher.py."""
    require_project_venv()
    result = subprocess.run([str(REPO_ROOT / script)], cwd=tmp_path, env={**environment_without_python(), **variables},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1, result.stderr


@pytest.mark.distributed
def test_train_syncnet_sh_from_another_folder_reports_a_worker_failure_once(tmp_path):
    """./train_syncnet.sh --config_path my.yaml, my.yaml in the current folder: found (the caller's path); it passes
    the launcher's checks, then both workers find that 4 clips cannot fill a batch of 3 on each of 2 processes:
    one error line (rank 0's), exit 2, no torchrun failure report, and no run folder left behind."""
    require_project_venv()
    clips = write_fileslist(make_processed_dataset(num_clips=4, seconds=2.4, resolution=32), tmp_path / "train.txt")
    config = OmegaConf.load(REPO_ROOT / "configs/syncnet/syncnet_16_pixel.yaml")
    config.model = OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml")).model
    config.data.update(train_fileslist=str(clips), val_fileslist="", batch_size=3, num_workers=0, resolution=32,
                       train_output_dir=str(tmp_path / "runs"), audio_mel_cache_dir=str(tmp_path / "mel"))
    OmegaConf.save(config, tmp_path / "my.yaml")
    result = subprocess.run([str(REPO_ROOT / "train_syncnet.sh"), "--config_path", "my.yaml", "--device", "cpu"],
                            cwd=tmp_path, env={**environment_without_python(), "NPROC_PER_NODE": "2"},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert errors == ["error: 4 training clips cannot fill one batch of data.batch_size 3 on each of 2 processes; "
                      "add clips or lower the batch size"], result.stderr
    assert "Traceback" not in result.stderr and "ChildFailedError" not in result.stderr
    assert not list((tmp_path / "runs").iterdir())
