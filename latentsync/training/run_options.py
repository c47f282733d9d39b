"""What a training run is asked to do beyond its YAML config: the options of ``train_syncnet`` and ``train_unet``
(light, so the launcher checks a run before the training code loads)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from latentsync.locations import DEFAULT_CHECKPOINTS_DIR, DEFAULT_VAE, CheckpointLayout


@dataclass
class SyncNetTrainOptions:
    config_path: str | os.PathLike
    resume: str | None = None  # "latest", a run folder, or checkpoint-STEP.pt of this trainer
    vae_model_path: str | os.PathLike = DEFAULT_VAE  # only for a latent-space SyncNet
    report_to: str = "none"  # or "tensorboard"
    mixed_precision: str = "auto"
    device: str | None = None
    fresh_val_samples: bool = False  # True: new validation samples each time, as the original (a noisier curve)


@dataclass
class UNetTrainOptions:
    unet_config_path: str | os.PathLike
    resume: str | None = None  # "latest", a run folder, or checkpoint-STEP.pt of this trainer
    vae_model_path: str | os.PathLike = DEFAULT_VAE
    checkpoints_dir: str | os.PathLike = DEFAULT_CHECKPOINTS_DIR  # where the weights not given below are
    whisper_model_path: str | os.PathLike | None = None  # None: tiny.pt for 384-wide audio attention, small.pt for 768
    trepa_ckpt_path: str | os.PathLike | None = None  # None: the ViT-g in checkpoints_dir/auxiliary
    trepa_half_precision: bool | None = None  # None: as frozen_model_precision decides (fp16 on CUDA)
    validation: bool = True
    sync_model_path: str | os.PathLike | None = None  # the classic SyncNet that scores validation videos
    s3fd_path: str | os.PathLike | None = None  # the face detector of that score (checkpoints_dir/auxiliary)
    face_backend: str = "auto"  # landmarks that align the validation clip: the release's, as inference
    align_dtype: str = "float32"  # precision of the validation clip's crops and pastes; float16: the original's
    report_to: str = "none"
    mixed_precision: str = "auto"
    device: str | None = None

    def __post_init__(self) -> None:
        layout = CheckpointLayout(self.checkpoints_dir)
        self.trepa_ckpt_path = self.trepa_ckpt_path or layout.vit_g
        self.sync_model_path = self.sync_model_path or layout.syncnet_v2
        self.s3fd_path = self.s3fd_path or layout.s3fd

    def syncnet_path(self, syncnet_config: DictConfig) -> Path:
        """The SyncNet config's ``ckpt.inference_ckpt_path``; ``checkpoints/...`` is in ``checkpoints_dir``."""
        return CheckpointLayout(self.checkpoints_dir).resolve(syncnet_config.ckpt.inference_ckpt_path)

    def whisper_path(self, cross_attention_dim: int) -> Path:
        """``--whisper_model_path``, else the Whisper model the config's audio width calls for."""
        return Path(self.whisper_model_path or CheckpointLayout(self.checkpoints_dir).whisper(cross_attention_dim))
