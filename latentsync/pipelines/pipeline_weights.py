"""Which files make a pipeline: the released models present in a checkpoints folder, and every weight file a
pipeline needs, checked before any is loaded. No torch here: commands and the demo page check these in a second."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from latentsync.config.unet_config import load_unet_config
from latentsync.locations import CONFIGS_DIR, DEFAULT_CHECKPOINTS_DIR, DEFAULT_VAE, CheckpointLayout, unet_setup_command
from latentsync.models.checkpoint_files import require_checkpoint_file
from latentsync.pipelines.vae_check import check_vae


@dataclass(frozen=True)
class ReleaseChoice:
    """A released model: the config it was trained with and where ``setup_env.sh`` puts its weights."""

    name: str
    unet_config_path: Path
    inference_ckpt_path: Path


def available_releases(checkpoints_dir: str | os.PathLike = DEFAULT_CHECKPOINTS_DIR) -> list[ReleaseChoice]:
    """The releases whose U-Net checkpoint is present (1.6 first)."""
    layout = CheckpointLayout(checkpoints_dir)
    releases = [
        ReleaseChoice("LatentSync 1.6 (512x512)", CONFIGS_DIR / "unet/stage2_512.yaml", layout.unet("1.6")),
        ReleaseChoice("LatentSync 1.5 (256x256)", CONFIGS_DIR / "unet/stage2.yaml", layout.unet("1.5")),
    ]
    return [release for release in releases if release.inference_ckpt_path.is_file()]


@dataclass(frozen=True)
class PipelineWeights:
    """The checked config and weight files of one pipeline."""

    config: DictConfig
    inference_ckpt_path: Path
    whisper_model_path: Path


def check_pipeline_weights(unet_config_path: str | os.PathLike, inference_ckpt_path: str | os.PathLike | None = None,
                           whisper_model_path: str | os.PathLike | None = None,
                           vae_model_path: str | os.PathLike = DEFAULT_VAE,
                           checkpoints_dir: str | os.PathLike = DEFAULT_CHECKPOINTS_DIR) -> PipelineWeights:
    """Every file the pipeline needs, checked before any is loaded (loading takes minutes): the config's keys, the
    U-Net and Whisper checkpoints (defaults from ``checkpoints_dir``) and the VAE; raises ``CheckpointError``."""
    config = load_unet_config(unet_config_path)
    layout = CheckpointLayout(checkpoints_dir)
    if inference_ckpt_path is None:
        inference_ckpt_path = layout.unet()
    if whisper_model_path is None:
        whisper_model_path = layout.whisper(config.model.cross_attention_dim)
    weights = PipelineWeights(config, require_checkpoint_file(inference_ckpt_path, "U-Net checkpoint",
                                                              unet_setup_command(inference_ckpt_path)),
                              require_checkpoint_file(whisper_model_path, "Whisper checkpoint"))
    check_vae(vae_model_path)
    return weights
