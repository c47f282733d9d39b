"""SyncNet accuracy as the original computes it, on tiny processed clips with a fixed seed.

The reference is recomputed here the way the original ``eval_syncnet_acc.py`` does, from the dataset's
samples: frames -> (VAE latents x 0.18215) -> (B, F*C, H, W) -> lower half -> cosine > 0.5 against y.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange
from omegaconf import OmegaConf
from safetensors.torch import load_file

from latentsync.cli import eval_syncnet_acc
from latentsync.data import SyncNetDataset
from latentsync.models.stable_syncnet import StableSyncNet, load_stable_syncnet
from latentsync.training.syncnet_accuracy import syncnet_accuracy
from tests.helpers.paths import REPO_ROOT, shared_path
from tests.helpers.training_data import make_processed_dataset, write_fileslist

LATENT_SYNCNET = {  # 16 frames x 4 latent channels of 64x64 faces (8x8 latents) vs the tiny audio tower
    "visual_encoder": {"in_channels": 64, "block_out_channels": [32, 32, 64], "downsample_factors": [2, 2, 2],
                       "attn_blocks": [0, 0, 0], "dropout": 0.0},
}


def write_setup(root, resolution: int, latent_space: bool):
    """A SyncNet config whose validation list is two processed clips, and its checkpoint."""
    fileslist = write_fileslist(make_processed_dataset(num_clips=2, seconds=2.4, resolution=resolution),
                                root / "val.txt")
    model = OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml")).model
    if latent_space:
        model.visual_encoder = LATENT_SYNCNET["visual_encoder"]
        torch.manual_seed(0)
        state_dict = StableSyncNet(model).state_dict()
    else:
        state_dict = load_file(shared_path("parity", "syncnet", "tiny_syncnet.safetensors"))
    ckpt_path = root / "syncnet.pt"
    torch.save({"state_dict": state_dict, "global_step": 0}, ckpt_path)
    config = OmegaConf.create({
        "model": model,
        "ckpt": {"inference_ckpt_path": str(ckpt_path)},
        "data": {"num_val_samples": 8, "batch_size": 3, "num_workers": 0, "latent_space": latent_space,
                 "num_frames": 16, "resolution": resolution, "val_fileslist": str(fileslist), "val_data_dir": "",
                 "audio_mel_cache_dir": str(root / "mel"), "lower_half": not latent_space,
                 "audio_sample_rate": 16000, "video_fps": 25},
        "run": {"seed": 42},
    })
    OmegaConf.save(config, root / "syncnet.yaml")
    return root / "syncnet.yaml", config


def reference_accuracy(config, syncnet, vae=None, seed=42) -> tuple[int, int]:
    """The original's loop: num_val_samples // batch_size batches, passing over the list again when short."""
    dataset = SyncNetDataset.from_config(config.data, split="val", seed=seed)
    generator = torch.Generator().manual_seed(seed)
    num_batches = config.data.num_val_samples // config.data.batch_size
    assert len(dataset) < config.data.batch_size  # so each pass over the list is one batch
    correct = total = 0
    for epoch in range(num_batches):
        dataset.set_epoch(epoch)
        items = [dataset[i] for i in range(len(dataset))]
        frames = torch.stack([item["frames"] for item in items])
        audio = torch.stack([item["audio_samples"] for item in items])
        y = torch.stack([item["y"] for item in items]).flatten()
        if vae is not None:
            with torch.no_grad():
                latents = vae.encode(rearrange(frames, "b f c h w -> (b f) c h w")).latent_dist.sample(generator)
            frames = rearrange(latents * 0.18215, "(b f) c h w -> b f c h w", f=config.data.num_frames)
        frames = rearrange(frames, "b f c h w -> b (f c) h w")
        if config.data.lower_half:
            frames = frames[:, :, frames.shape[2] // 2 :, :]
        with torch.no_grad():
            vision_embeds, audio_embeds = syncnet(frames, audio)
        preds = (F.cosine_similarity(vision_embeds, audio_embeds) > 0.5).float()
        correct += int((preds == y).sum())
        total += len(y)
    return correct, total


@pytest.fixture(scope="module")
def pixel_setup(tmp_path_factory):
    return write_setup(tmp_path_factory.mktemp("syncnet_acc"), resolution=32, latent_space=False)


def test_pixel_syncnet_accuracy_equals_the_original_loop(pixel_setup):
    config_path, config = pixel_setup
    syncnet = load_stable_syncnet(config).eval()
    result = syncnet_accuracy(config, syncnet)
    # 8 // 3 = 2 batches; the list has 2 clips, so each pass is one batch of 2 and the second pass redraws
    assert result.total == 4
    assert (result.correct, result.total) == reference_accuracy(config, syncnet)
    assert syncnet_accuracy(config, syncnet) == result  # fixed seed: same samples, same score


@pytest.mark.slow
def test_latent_syncnet_goes_through_the_vae(tmp_path):
    from tests.helpers.train_models import tiny_train_vae

    config_path, config = write_setup(tmp_path, resolution=64, latent_space=True)
    syncnet = load_stable_syncnet(config).eval()
    vae = tiny_train_vae()
    vae.config.scaling_factor = 0.18215
    result = syncnet_accuracy(config, syncnet, vae=vae)
    assert (result.correct, result.total) == reference_accuracy(config, syncnet, vae)
    with pytest.raises(ValueError, match="needs the VAE"):
        syncnet_accuracy(config, syncnet)

    vae.save_pretrained(tmp_path / "vae")
    assert eval_syncnet_acc.main(["--config_path", str(config_path), "--vae_model_path", str(tmp_path / "vae"),
                                  "--device", "cpu", "--dtype", "float32"]) == 0


@pytest.mark.slow
def test_shell_script_takes_config_path_like_the_original(pixel_setup, tmp_path):
    config_path, config = pixel_setup
    expected = syncnet_accuracy(config, load_stable_syncnet(config).eval(), num_samples=6, batch_size=2, seed=7)
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "eval" / "eval_syncnet_acc.sh"), "--config_path", str(config_path),
         "--num_samples", "6", "--batch_size", "2", "--seed", "7", "--device", "cpu", "--dtype", "float32"],
        env={**os.environ, "PYTHON": sys.executable}, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    match = re.search(r"Accuracy score: ([\d.]+)% \((\d+)/(\d+) samples\)", result.stdout)
    assert match and (int(match[2]), int(match[3])) == (expected.correct, expected.total) == (expected.correct, 6)


def test_bad_config_path_is_one_error_line(tmp_path, capsys):
    assert eval_syncnet_acc.main(["--config_path", str(tmp_path / "missing.yaml")]) == 2
    assert capsys.readouterr().err.startswith("error: SyncNet config")
