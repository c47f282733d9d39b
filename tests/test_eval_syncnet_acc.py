"""eval_syncnet_acc.sh on tiny processed videos (demo1 shrunk to 32x32) with the tiny StableSyncNet fixture."""

from __future__ import annotations

import itertools
import re
import subprocess

import cv2
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from eval import eval_syncnet_acc
from latentsync.errors import InputError
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from tests.paths import REPO_ROOT, shared_path
from tests.shell_env import environment_without_python, require_project_venv


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Two 32x32 'processed' videos (40 and 30 frames) and a config + checkpoint of the tiny SyncNet."""
    folder = tmp_path_factory.mktemp("syncnet_acc")
    source = shared_path("media", "demo1_video.mp4")
    frames = [cv2.resize(frame, (32, 32), interpolation=cv2.INTER_AREA)
              for frame in itertools.islice(VideoReader(source).frames(), 70)]
    audio = load_audio(source)
    videos_dir = folder / "videos"
    videos_dir.mkdir()
    for name, start, count in (("a.mp4", 0, 40), ("b.mp4", 40, 30)):
        clip_audio = audio[start * 640 : (start + count) * 640]
        with VideoWriter(videos_dir / name, audio=clip_audio, preset="ultrafast") as writer:
            for frame in frames[start : start + count]:
                writer.write(frame)

    ckpt_path = folder / "stable_syncnet.pt"
    torch.save({"state_dict": load_file(shared_path("parity", "syncnet", "tiny_syncnet.safetensors")),
                "global_step": 0}, ckpt_path)
    config = OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml"))
    config.data = {"latent_space": False, "num_frames": 16, "resolution": 32, "lower_half": True,
                   "audio_sample_rate": 16000, "video_fps": 25}
    config.ckpt = {"inference_ckpt_path": str(ckpt_path)}
    config_path = folder / "tiny_syncnet.yaml"
    OmegaConf.save(config, config_path)
    return videos_dir, config_path


def test_shell_script_reports_accuracy_over_positive_and_negative_pairs(setup, tmp_path):
    videos_dir, config_path = setup
    require_project_venv()
    result = subprocess.run(
        [str(REPO_ROOT / "eval" / "eval_syncnet_acc.sh"), "--config_path", str(config_path),
         "--videos_dir", str(videos_dir), "--num_clips", "6", "--batch_size", "4", "--device", "cpu"],
        env=environment_without_python(), cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    match = re.search(r"Accuracy: ([\d.]+)% \((\d+)/12 pairs, 6 clips\)", result.stdout)
    assert match and float(match[1]) == pytest.approx(int(match[2]) / 12 * 100, abs=0.01)


def test_same_seed_same_accuracy_and_latent_configs_are_refused(setup, tmp_path):
    videos_dir, config_path = setup
    arguments = ["--config_path", str(config_path), "--videos_dir", str(videos_dir), "--num_clips", "4", "--device", "cpu"]
    assert eval_syncnet_acc.main(arguments) == eval_syncnet_acc.main(arguments)

    latent_config = OmegaConf.load(config_path)
    latent_config.data.latent_space = True
    OmegaConf.save(latent_config, tmp_path / "latent.yaml")
    with pytest.raises(InputError, match="latent-space"):
        eval_syncnet_acc.main(["--config_path", str(tmp_path / "latent.yaml"), "--videos_dir", str(videos_dir)])


def test_clip_pairs_are_aligned_and_shifted_mel_windows(setup):
    videos_dir, config_path = setup
    config = OmegaConf.load(config_path)
    (frames, aligned, shifted), = eval_syncnet_acc.clip_pairs(videos_dir / "a.mp4", config, 1, 5,
                                                              np.random.default_rng(0))
    assert frames.shape == (16, 3, 32, 32) and frames.min() >= -1 and frames.max() <= 1
    assert aligned.shape == shifted.shape == (1, 80, 52) and not np.array_equal(aligned, shifted)
