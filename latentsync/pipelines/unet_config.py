"""The U-Net YAML as inference and the demo read it, with every key checked as the training configs are.

A misspelt key (``run.inferance_steps``) would otherwise be ignored and the run would use the default silently.
Keys that only training needs may be absent here: inference reads the model, data and run settings it uses.
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from latentsync.errors import CheckpointError, InputError
from latentsync.models.unet import UNet3DConditionModel
from latentsync.training.config import UNET_SCHEMA, _check_keys, _constructor_keys


def load_unet_config(path: str | os.PathLike) -> DictConfig:
    """The config at ``path``; an unknown section or key fails, naming it and the keys its section accepts."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"U-Net config {path} not found; pass --unet_config_path, "
                              "e.g. configs/unet/stage2_512.yaml")
    try:
        config = OmegaConf.load(path)
    except (OSError, OmegaConfBaseException, ValueError) as error:
        raise InputError(f"U-Net config {path} is not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(config, DictConfig) or not isinstance(config.get("model"), DictConfig):
        raise InputError(f"U-Net config {path} has no model section; pass a config of configs/unet/")
    for section in config:
        if section != "model" and section not in UNET_SCHEMA:
            raise InputError(f"{path}: unknown section '{section}' (known: model, {', '.join(UNET_SCHEMA)})")
        known = _constructor_keys(UNet3DConditionModel) if section == "model" else set(UNET_SCHEMA[section])
        _check_keys(config[section], known, path, section)
    return config
