"""Reading the training configs (``configs/unet/*.yaml``, ``configs/syncnet/*.yaml``) with every key checked.

A typo in a key would otherwise be ignored silently and train something else than intended, so an unknown key
fails, naming it and the keys its section accepts; a missing required key fails, naming it. Optional keys get
their documented default. The ``model`` sections are checked against the model constructors themselves.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from latentsync.errors import InputError
from latentsync.models.motion_module import VanillaTemporalModule
from latentsync.models.syncnet_blocks import DownEncoder2D
from latentsync.models.unet import UNet3DConditionModel

REQUIRED = object()
"""Marks a key without a default."""

UNET_SCHEMA: dict[str, dict[str, Any]] = {
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
}

SYNCNET_SCHEMA: dict[str, dict[str, Any]] = {
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
}

# The only rates the audio front ends (Whisper, the SyncNet mel) and the frame/audio alignment support.
SUPPORTED_AUDIO_SAMPLE_RATE = 16000
SUPPORTED_VIDEO_FPS = 25


def load_unet_training_config(path: str | os.PathLike) -> DictConfig:
    """A U-Net training config with every key checked and the optional ones filled in."""
    config = _load(path)
    _check_sections(config, {**UNET_SCHEMA, "model": None}, path)
    _check_keys(config.model, _constructor_keys(UNet3DConditionModel), path, "model")
    if "motion_module_kwargs" in config.model and config.model.motion_module_kwargs is not None:
        _check_keys(config.model.motion_module_kwargs, _constructor_keys(VanillaTemporalModule, skip={"in_channels"}),
                    path, "model.motion_module_kwargs")
    _check_rates(config, path)
    check_training_length(config, path)
    if OmegaConf.select(config, "data.train_fileslist") in ("", None) and config.data.train_data_dir in ("", None):
        raise InputError(f"{path}: set data.train_fileslist (one video per line) or data.train_data_dir")
    return config


def load_syncnet_training_config(path: str | os.PathLike) -> DictConfig:
    """A SyncNet training config with every key checked and the optional ones filled in."""
    config = _load(path)
    _check_sections(config, {**SYNCNET_SCHEMA, "model": None}, path)
    if set(config.model.keys()) != {"audio_encoder", "visual_encoder"}:
        raise InputError(f"{path}: the model section needs exactly audio_encoder and visual_encoder, "
                         f"got {sorted(config.model.keys())}")
    encoder_keys = _constructor_keys(DownEncoder2D, skip={"gradient_checkpointing"})
    for tower in ("audio_encoder", "visual_encoder"):
        _check_keys(config.model[tower], encoder_keys, path, f"model.{tower}")
    _check_rates(config, path)
    check_training_length(config, path)
    if config.data.train_fileslist in ("", None) and config.data.train_data_dir in ("", None):
        raise InputError(f"{path}: set data.train_fileslist (one video per line) or data.train_data_dir")
    return config


def _load(path: str | os.PathLike) -> DictConfig:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config {path} not found; pass an existing YAML file (see configs/)")
    try:
        config = OmegaConf.load(path)
    except (OSError, OmegaConfBaseException, ValueError) as error:
        raise InputError(f"config {path} is not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(config, DictConfig):
        raise InputError(f"config {path} must be a mapping of sections (data, run, ...)")
    return config


def _check_sections(config: DictConfig, schema: dict[str, dict[str, Any] | None], path) -> None:
    """Unknown sections/keys and missing required keys fail; defaults fill the optional keys in place."""
    for section in config:
        if section not in schema:
            raise InputError(f"{path}: unknown section '{section}' (known: {', '.join(schema)})")
    for section, keys in schema.items():
        if section not in config or not isinstance(config[section], DictConfig):
            raise InputError(f"{path}: missing section '{section}'")
        if keys is None:
            continue
        _check_keys(config[section], set(keys), path, section)
        for key, default in keys.items():
            if key not in config[section]:
                if default is REQUIRED:
                    raise InputError(f"{path}: missing key '{section}.{key}'")
                config[section][key] = default


def _check_keys(section: DictConfig, known: set[str], path, name: str) -> None:
    for key in section:
        if key not in known:
            raise InputError(f"{path}: unknown key '{name}.{key}' (known keys of {name}: {', '.join(sorted(known))})")


def _constructor_keys(cls: type, skip: set[str] = frozenset()) -> set[str]:
    return {name for name in inspect.signature(cls.__init__).parameters if name != "self" and name not in skip}


def _check_rates(config: DictConfig, path) -> None:
    if config.data.audio_sample_rate != SUPPORTED_AUDIO_SAMPLE_RATE or config.data.video_fps != SUPPORTED_VIDEO_FPS:
        raise InputError(f"{path}: data.audio_sample_rate {config.data.audio_sample_rate} / data.video_fps "
                         f"{config.data.video_fps} are unsupported; the processed data must be 16000 Hz and 25 fps")


def check_training_length(config: DictConfig, path: str | os.PathLike) -> None:
    """Refuse a config that would train no step: ``run.max_train_steps`` is a positive count or -1 (U-Net only:
    then ``run.max_train_epochs`` epochs, as the original), and ``run.max_train_epochs`` is positive or -1.

    Called by both config loaders, so a launcher that loads the config fails before starting any process.
    """
    run = config.run
    epochs = run.get("max_train_epochs")
    for key, value in (("max_train_steps", run.max_train_steps), ("max_train_epochs", epochs)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise InputError(f"{path}: run.{key} is {value!r}; give a whole number")
    if epochs is not None and (epochs == 0 or epochs < -1):
        raise InputError(f"{path}: run.max_train_epochs {epochs} would train no epoch; give a positive count, "
                         "or -1 to let run.max_train_steps decide")
    if run.max_train_steps == -1:
        if epochs is None:
            raise InputError(f"{path}: run.max_train_steps -1 is not supported here; give a positive step count")
        if epochs == -1:
            raise InputError(f"{path}: run.max_train_steps and run.max_train_epochs are both -1, so nothing says "
                             "how long to train; set run.max_train_steps (or run.max_train_epochs)")
    elif run.max_train_steps < 1:
        raise InputError(f"{path}: run.max_train_steps {run.max_train_steps} would train no step; give a positive "
                         "count (or -1 with run.max_train_epochs)")


def total_train_steps(run: DictConfig, batches_per_epoch: int) -> int:
    """``run.max_train_steps``, or with -1 ``run.max_train_epochs`` x the batches of one epoch, as the original."""
    if run.max_train_steps == -1:
        return run.max_train_epochs * batches_per_epoch
    return run.max_train_steps


def check_steps_left(global_step: int, max_steps: int, source: str) -> None:
    """Refuse a start (``ckpt.resume_ckpt_path`` or ``--resume``) whose global step leaves nothing to train."""
    if global_step >= max_steps:
        raise InputError(f"{source} starts at global_step {global_step}, but training ends at step {max_steps} "
                         "(run.max_train_steps, or run.max_train_epochs x batches per epoch): no step would be "
                         "trained; raise run.max_train_steps")
