"""The SyncNet YAML (``configs/syncnet/*.yaml``): as the U-Net's lip-sync expert, and as a training run."""

from __future__ import annotations

import os

from omegaconf import DictConfig, OmegaConf

from latentsync.config.schema import (REQUIRED, Schema, check_keys, check_rates, check_sections, check_training_data,
                                      constructor_keys, read_config)
from latentsync.config.training_length import check_training_length
from latentsync.errors import InputError

SYNCNET_SCHEMA: Schema = {
    "ckpt": {"resume_ckpt_path": "", "inference_ckpt_path": "", "save_ckpt_steps": REQUIRED},
    "data": {
        "train_output_dir": REQUIRED, "num_val_samples": REQUIRED, "batch_size": REQUIRED,
        "gradient_accumulation_steps": 1, "num_workers": 0, "latent_space": False, "num_frames": REQUIRED,
        "resolution": REQUIRED, "train_fileslist": "", "train_data_dir": "", "val_fileslist": "",
        "val_data_dir": "", "audio_mel_cache_dir": REQUIRED, "lower_half": False, "audio_sample_rate": 16000,
        "video_fps": 25,
    },
    "optimizer": {"lr": REQUIRED, "max_grad_norm": 1.0},
    "run": {"max_train_steps": REQUIRED, "validation_steps": REQUIRED, "mixed_precision_training": False,
            "seed": REQUIRED},
    "model": {"audio_encoder", "visual_encoder"},
}
# What U-Net training reads of the SyncNet config behind its sync loss.
EXPERT_KEYS = ("model", "data.resolution", "data.lower_half", "data.latent_space", "ckpt.inference_ckpt_path")


def read_syncnet_config(path: str | os.PathLike, what: str = "SyncNet config") -> DictConfig:
    """A SyncNet config with no unknown section or key (``what`` names it in errors); nothing is filled in."""
    config = read_config(path, what)
    check_sections(config, SYNCNET_SCHEMA, path, fill_defaults=False)
    if isinstance(config.get("model"), DictConfig):
        encoder_keys = constructor_keys("latentsync.models.syncnet_blocks", "DownEncoder2D",
                                        skip=frozenset({"gradient_checkpointing"}))
        for tower in config.model:
            check_keys(config.model[tower], encoder_keys, path, f"model.{tower}")
    return config


def load_syncnet_config(path: str | os.PathLike) -> DictConfig:
    """The config of the trained SyncNet that U-Net training's sync loss uses (``data.syncnet_config_path``)."""
    config = read_syncnet_config(path, "SyncNet config (data.syncnet_config_path)")
    for key in EXPERT_KEYS:
        if OmegaConf.select(config, key) is None:
            raise InputError(f"SyncNet config {path} lacks '{key}'")
    if not config.ckpt.inference_ckpt_path:
        raise InputError(f"SyncNet config {path}: ckpt.inference_ckpt_path is empty; set it to the trained "
                         "SyncNet (checkpoints/stable_syncnet.pt)")
    return config


def load_syncnet_training_config(path: str | os.PathLike) -> DictConfig:
    """A SyncNet training config: every required key there, the optional ones filled in, training that trains."""
    config = read_syncnet_config(path, "config")
    check_sections(config, SYNCNET_SCHEMA, path, fill_defaults=True)
    if set(config.model.keys()) != {"audio_encoder", "visual_encoder"}:
        raise InputError(f"{path}: the model section needs exactly audio_encoder and visual_encoder, "
                         f"got {sorted(config.model.keys())}")
    check_rates(config, path)
    check_training_length(config, path)
    check_training_data(config, path)
    return config
