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


def _setup_env_copy(tmp_path, python_script: str):
    """``setup_env.sh`` in a folder of its own whose ``.venv/bin/python`` is ``python_script`` (no ffmpeg install)."""
    shutil.copy(REPO_ROOT / "setup_env.sh", tmp_path)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(python_script)
    python.chmod(0o755)
    (tmp_path / "ffmpeg").symlink_to("/bin/true")  # so the script does not try to install one
    return [str(tmp_path / "setup_env.sh")], {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"}


@pytest.mark.parametrize("download_exit, last_lines", [
    (2, ["error: 8 file(s)", "the environment itself is ready (.venv with every package, checked above); only the "
                             "files above are missing"]),
    (1, ["Traceback (most recent call last):", "error: the download stopped with exit code 1 (its output is above); "
         "the packages passed the check, the weights are incomplete: run ./setup_env.sh again (present files are kept)"]),
])
def test_setup_env_after_a_failed_download_says_what_failed(tmp_path, download_exit, last_lines):
    """./setup_env.sh: packages installed and checked, then the download fails: offline (its report, exit 2: the
    environment is ready) or crashed (a traceback: no claim of readiness, its exit code)."""
    output = "error: 8 file(s)" if download_exit == 2 else "Traceback (most recent call last):"
    command, env = _setup_env_copy(tmp_path, f'#!/bin/sh\nif [ "$2" = scripts.download_checkpoints ]; then '
                                             f'echo "{output}" >&2; exit {download_exit}; fi\n')
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == download_exit
    assert result.stderr.splitlines()[-2:] == last_lines
    assert "environment ready: .venv" not in result.stdout


@pytest.mark.slow
def test_setup_env_stops_on_a_torchvision_that_does_not_match_torch(tmp_path):
    """The packages install, but torchvision was built for another torch (its first import fails as such a build
    does): one error line naming torchvision, torch and the fix, exit 2, no download tried, no claim of readiness."""
    broken = tmp_path / "broken"
    (broken / "torchvision").mkdir(parents=True)
    (broken / "torchvision" / "__init__.py").write_text(
        'raise RuntimeError("operator torchvision::nms does not exist")\n')
    (tmp_path / "checkout").mkdir()
    command, env = _setup_env_copy(tmp_path / "checkout", textwrap.dedent(f"""\
        #!/bin/sh
        if [ "$1 $2" = "-m pip" ]; then exit 0; fi
        if [ "$2" = scripts.download_checkpoints ]; then echo "download started" >&2; exit 1; fi
        PYTHONPATH="{broken}:{REPO_ROOT}" exec "{sys.executable}" "$@"
        """))
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: torchvision ") and len(result.stderr.splitlines()) == 1, result.stderr
    assert (" does not work with torch " in result.stderr
            and "(RuntimeError: operator torchvision::nms does not exist); fix: .venv/bin/pip install --force-reinstall"
            in result.stderr and "then run ./setup_env.sh again" in result.stderr), result.stderr
    assert "ready" not in result.stdout + result.stderr and "download started" not in result.stderr


def test_setup_env_help_and_unknown_option(tmp_path):
    result = subprocess.run([str(REPO_ROOT / "setup_env.sh"), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    assert "./setup_env.sh --with-enhancers  also the ONNX face restorers" in result.stdout
    result = subprocess.run([str(REPO_ROOT / "setup_env.sh"), "--bogus"], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (2, f"error: unknown option --bogus (see {REPO_ROOT}/setup_env.sh "
                                                     "--help)\n")


def test_demo_clips_come_first(tmp_path):
    files = download_checkpoints.planned_files(["1.6", "1.5"], True, tmp_path / "checkpoints", tmp_path / "assets")
    demo = len(download_checkpoints.DEMO_ASSETS)
    assert demo == 6  # the three demo pairs
    assert [planned.target for planned in files[:demo]] == [str(tmp_path / "assets" / name)
                                                            for name in download_checkpoints.DEMO_ASSETS]
    assert all(planned.from_hub for planned in files[demo:])
    assert len(files) == demo + 2 + 2 + len(download_checkpoints.AUXILIARY[1]) + 2
