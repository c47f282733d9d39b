"""download_checkpoints with an unreachable hub: fails fast, lists every missing file with source and target, exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from latentsync.cli import download_checkpoints
from tests.helpers.paths import REPO_ROOT

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: connections are refused at once


@pytest.mark.slow
def test_unreachable_hub_lists_every_missing_file_and_exits_2(tmp_path):
    (tmp_path / "checkpoints" / "whisper").mkdir(parents=True)
    (tmp_path / "checkpoints" / "whisper" / "tiny.pt").write_bytes(b"already here")
    script = textwrap.dedent(f"""
        import sys
        from latentsync.cli import download_checkpoints
        download_checkpoints.DEMO_ASSETS_URL = "{UNREACHABLE}/assets/"
        sys.exit(download_checkpoints.main(["--checkpoints_dir", "checkpoints", "--assets_dir", "assets",
                                            "--auxiliary"]))
    """)
    env = {**os.environ, "HF_ENDPOINT": UNREACHABLE, "HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(REPO_ROOT)}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - started < 30  # no retry loop (it used to take ~25 s for the first file alone)
    assert "Retrying" not in result.stderr + result.stdout
    assert "have checkpoints/whisper/tiny.pt" in result.stdout
    missing = [*[("assets/", name) for name in download_checkpoints.DEMO_ASSETS],
               ("ByteDance/LatentSync-1.6/resolve/main/", "latentsync_unet.pt"),
               *[("ByteDance/LatentSync-1.6/resolve/main/", name) for name in download_checkpoints.AUXILIARY[1]]]
    for url_part, name in missing:
        target = f"assets/{name}" if url_part == "assets/" else f"checkpoints/{name}"
        assert f"{UNREACHABLE}/{url_part}{name} -> {target}" in result.stderr, result.stderr
    for name in download_checkpoints.VAE_FILES:
        assert f"{UNREACHABLE}/stabilityai/sd-vae-ft-mse/resolve/main/{name} -> Hugging Face cache" in result.stderr
    assert "tiny.pt ->" not in result.stderr
    assert result.stderr.startswith(f"error: {len(missing) + len(download_checkpoints.VAE_FILES)} file(s) could not "
                                    "be downloaded; copy them by hand")
    assert f"{UNREACHABLE} is unreachable" in result.stderr
    assert not list(tmp_path.rglob("*.partial"))
    assert not (tmp_path / "assets").exists()  # no empty folder left behind
    vae_cache = tmp_path / "hf" / "hub" / "models--stabilityai--sd-vae-ft-mse"
    assert result.stderr.count("To place stabilityai/sd-vae-ft-mse: put config.json and "
                               "diffusion_pytorch_model.safetensors in a folder of your choice and pass it with "
                               f"--vae_model_path, or copy the folder {vae_cache.name} ") == 1, result.stderr
    assert f"to {vae_cache}." in result.stderr


def test_setup_env_says_the_environment_is_ready_when_only_downloads_failed(tmp_path):
    """./setup_env.sh offline: packages installed, downloads failed -> the report, then that .venv is usable."""
    shutil.copy(REPO_ROOT / "setup_env.sh", tmp_path)
    python = tmp_path / ".venv" / "bin" / "python"  # pip succeeds; the download fails as offline
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\nif [ "$2" = scripts.download_checkpoints ]; then echo "error: 8 file(s)" >&2; '
                      'exit 2; fi\n')
    python.chmod(0o755)
    (tmp_path / "ffmpeg").symlink_to("/bin/true")  # so the script does not try to install one
    result = subprocess.run([str(tmp_path / "setup_env.sh")], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert result.returncode == 2
    assert result.stderr.splitlines()[-2:] == [
        "error: 8 file(s)", "the environment itself is ready (.venv with every package); only the files above are missing"]
    assert "environment ready: .venv" not in result.stdout


def test_setup_env_help_and_unknown_option(tmp_path):
    result = subprocess.run([str(REPO_ROOT / "setup_env.sh"), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    assert "./setup_env.sh --with-enhancers  also the ONNX face restorers" in result.stdout
    result = subprocess.run([str(REPO_ROOT / "setup_env.sh"), "--bogus"], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (2, f"unknown option --bogus (see {REPO_ROOT}/setup_env.sh --help)\n")


def test_demo_clips_come_first(tmp_path):
    files = download_checkpoints.planned_files(["1.6", "1.5"], True, tmp_path / "checkpoints", tmp_path / "assets")
    demo = len(download_checkpoints.DEMO_ASSETS)
    assert demo == 6  # the three demo pairs
    assert [planned.target for planned in files[:demo]] == [str(tmp_path / "assets" / name)
                                                            for name in download_checkpoints.DEMO_ASSETS]
    assert all(planned.from_hub for planned in files[demo:])
    assert len(files) == demo + 2 + 2 + len(download_checkpoints.AUXILIARY[1]) + 2
