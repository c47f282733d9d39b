"""The U-Net YAML (``configs/unet/*.yaml``): the model it builds, the data it was trained on, how it runs.

Inference and the demo read the model, data and run settings they use, so only the keys there must be known
(``load_unet_config``); training needs every required key and fills the optional ones in
(``load_unet_training_config``). ``pipeline_settings`` maps the keys the lip-sync pipeline takes from it.
"""

from __future__ import annotations

import os

from omegaconf import DictConfig, OmegaConf

from latentsync.config.schema import (REQUIRED, Schema, check_keys, check_rates, check_sections, check_training_data,
                                      constructor_keys, read_config)
from latentsync.config.training_length import check_training_length
from latentsync.errors import InputError

UNET_SCHEMA: Schema = {
    "data": {
        "syncnet_config_path": REQUIRED, "train_output_dir": REQUIRED, "train_fileslist": "",
        "train_data_dir": "", "audio_embeds_cache_dir": REQUIRED, "audio_mel_cache_dir": REQUIRED,
        "val_video_path": REQUIRED, "val_audio_path": REQUIRED, "batch_size": REQUIRED, "num_workers": 0,
        "num_frames": REQUIRED, "resolution": REQUIRED, "mask_image_path": None, "audio_sample_rate": 16000,
        "video_fps": 25, "audio_feat_length": [2, 2],
    },
    "ckpt": {"resume_ckpt_path": "", "save_ckpt_steps": REQUIRED},
    "run": {
        "pixel_space_supervise": False, "use_syncnet": False, "sync_loss_weight": 0.0,
        "perceptual_loss_weight": 0.0, "recon_loss_weight": 1.0, "guidance_scale": 1.5, "trepa_loss_weight": 0.0,
        "inference_steps": 20, "trainable_modules": None, "seed": REQUIRED, "use_mixed_noise": True,
        "mixed_noise_alpha": 1.0, "mixed_precision_training": False, "enable_gradient_checkpointing": False,
        "max_train_steps": REQUIRED, "max_train_epochs": -1,
    },
    "optimizer": {"lr": REQUIRED, "scale_lr": False, "max_grad_norm": 1.0, "lr_scheduler": "constant",
                  "lr_warmup_steps": 0},
    "model": constructor_keys("latentsync.models.unet", "UNet3DConditionModel"),
}

# Lip-sync pipeline setting -> its key in a U-Net YAML (the training config of the release).
PIPELINE_SETTING_KEYS = {
    "resolution": "data.resolution",
    "num_frames": "data.num_frames",
    "video_fps": "data.video_fps",
    "audio_sample_rate": "data.audio_sample_rate",
    "audio_feat_length": "data.audio_feat_length",
    "mask_image_path": "data.mask_image_path",
    "num_inference_steps": "run.inference_steps",
    "guidance_scale": "run.guidance_scale",
    "seed": "run.seed",
}


def load_unet_config(path: str | os.PathLike) -> DictConfig:
    """The config at ``path`` as inference reads it: a ``model`` section, and no unknown section or key."""
    config = read_config(path, "U-Net config")
    if not isinstance(config.get("model"), DictConfig):
        raise InputError(f"U-Net config {path} has no model section; pass a config of configs/unet/")
    check_sections(config, UNET_SCHEMA, path, fill_defaults=False)
    if config.model.get("motion_module_kwargs") is not None:
        motion_module_keys = constructor_keys("latentsync.models.motion_module", "VanillaTemporalModule",
                                              skip=frozenset({"in_channels"}))
        check_keys(config.model.motion_module_kwargs, motion_module_keys, path, "model.motion_module_kwargs")
    return config


def load_unet_training_config(path: str | os.PathLike) -> DictConfig:
    """A U-Net training config: every required key there, the optional ones filled in, training that trains."""
    config = load_unet_config(path)
    check_sections(config, UNET_SCHEMA, path, fill_defaults=True)
    check_rates(config, path)
    check_training_length(config, path)
    check_training_data(config, path)
    return config


def pipeline_settings(config: DictConfig) -> dict:
    """The lip-sync pipeline settings a U-Net config sets (``PIPELINE_SETTING_KEYS``); absent keys are left out."""
    settings = {name: OmegaConf.select(config, key) for name, key in PIPELINE_SETTING_KEYS.items()}
    settings = {name: value for name, value in settings.items() if value is not None}
    if "audio_feat_length" in settings:
        settings["audio_feat_length"] = list(settings["audio_feat_length"])
    return settings
