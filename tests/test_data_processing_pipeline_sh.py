"""``./data_processing_pipeline.sh`` as the README runs it: its default landmark backend is installed and, without
its weights, says how to fetch them; a whole run prints no encoder statistics."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from latentsync.io.video_writer import VideoWriter
from tests.helpers.paths import REPO_ROOT
from tests.helpers.shell_env import environment_without_python, require_project_venv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def raw_folder(tmp_path_factory) -> Path:
    """One 2-s clip (a still picture, noise for sound): it goes through every encoding stage, and has no face."""
    raw = tmp_path_factory.mktemp("dataset") / "raw"
    raw.mkdir()
    frame = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    audio = np.random.default_rng(1).uniform(-0.3, 0.3, 50 * 640).astype(np.float32)
    with VideoWriter(raw / "clip.mp4", audio=audio) as writer:
        for _ in range(50):
            writer.write(frame)
    return raw


def _pipeline(*flags: str, cwd: Path) -> subprocess.CompletedProcess:
    require_project_venv()
    return subprocess.run([str(REPO_ROOT / "data_processing_pipeline.sh"), *flags], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=environment_without_python())


def test_the_default_backend_is_installed_and_names_its_missing_weights(raw_folder, tmp_path):
    """The README's command at its default 256 px aligns with face-alignment (installed by the requirements): with
    no weights it stops before any work, in one line naming the files and ``./setup_env.sh --auxiliary``."""
    result = _pipeline("--input_dir", str(raw_folder), "--output_root", "out", "--checkpoints_dir", "none", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: LatentSync 1.5 aligns faces with face_alignment, but its weights "
                                    "none/auxiliary/2DFAN4-cd938726ad.zip, none/auxiliary/s3fd-619a316812.pth are "
                                    "missing; put them in none/auxiliary: fetch them with ./setup_env.sh --auxiliary"), \
        result.stderr
    assert not (tmp_path / "out").exists()


def test_a_run_prints_no_encoder_statistics(raw_folder, tmp_path):
    """Every stage up to the aligned faces encodes (resample: AAC; shots, segments: H.264 + AAC): the terminal gets
    progress, the models' load lines and the summary, not libx264's and aac's statistics (161 of 171 lines before)."""
    from latentsync.analysis.syncnet_v2 import SyncNetV2
    from latentsync.models.hyperiqa import HyperNet
    from latentsync.models.s3fd import S3FDNet

    weights = tmp_path / "checkpoints" / "auxiliary"
    weights.mkdir(parents=True)
    torch.manual_seed(0)
    for model, name in ((SyncNetV2(), "syncnet_v2.model"), (S3FDNet(), "sfd_face.pth"),
                        (HyperNet(), "koniq_pretrained.pkl")):
        torch.save(model.state_dict(), weights / name)
    result = _pipeline("--input_dir", str(raw_folder), "--output_root", "out", "--checkpoints_dir", "checkpoints",
                       "--face_backend", "mediapipe", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "segmented            1 " in result.stdout, result.stdout  # the clip reached the last encoding stage
    for noise in ("[libx264 @", "[aac @", "[mp4 @", "Detecting scenes"):
        assert noise not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line and "clip/s" not in line and "s/clip" not in line]
    assert all(line.startswith("INFO loaded checkpoints/auxiliary/") for line in lines), result.stderr
