"""Checking a YAML config against the keys it may have, so a misspelt key fails instead of being ignored.

A typo in a key would otherwise be ignored silently and run something else than intended, so an unknown key
fails, naming it and the keys its section accepts; a missing required key fails, naming it. Optional keys get
their documented default. ``model`` sections are checked against the model constructors themselves.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from latentsync.errors import InputError

REQUIRED = object()
"""Marks a key without a default."""

Schema = dict[str, dict[str, Any] | set[str]]
"""Section -> key -> default (or ``REQUIRED``); a set lists the keys of a section that takes no defaults (``model``)."""


def read_config(path: str | os.PathLike, what: str = "config") -> DictConfig:
    """The YAML mapping at ``path``; ``what`` names it in the error (``InputError``) when it is missing or invalid."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} not found; pass an existing YAML file (see configs/)")
    try:
        config = OmegaConf.load(path)
    except (OSError, OmegaConfBaseException, ValueError) as error:
        raise InputError(f"{what} {path} is not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(config, DictConfig):
        raise InputError(f"{what} {path} must be a mapping of sections (model, data, run, ...)")
    return config


def check_sections(config: DictConfig, schema: Schema, path: str | os.PathLike, fill_defaults: bool) -> None:
    """Unknown sections and keys fail. With ``fill_defaults`` (training), every section must be there, a missing
    required key fails and the optional ones get their defaults in place."""
    for section in config:
        if section not in schema:
            raise InputError(f"{path}: unknown section '{section}' (known: {', '.join(schema)})")
    for section, keys in schema.items():
        if section not in config:
            if fill_defaults:
                raise InputError(f"{path}: missing section '{section}'")
            continue
        if not isinstance(config[section], DictConfig):
            raise InputError(f"{path}: section '{section}' must be a mapping of keys")
        check_keys(config[section], set(keys), path, section)
        if not fill_defaults or isinstance(keys, set):
            continue
        for key, default in keys.items():
            if key not in config[section]:
                if default is REQUIRED:
                    raise InputError(f"{path}: missing key '{section}.{key}'")
                config[section][key] = default


def check_keys(section: DictConfig, known: set[str], path: str | os.PathLike, name: str) -> None:
    """Every key of ``section`` (called ``name`` in the message) must be one of ``known``."""
    for key in section:
        if key not in known:
            raise InputError(f"{path}: unknown key '{name}.{key}' (known keys of {name}: {', '.join(sorted(known))})")


def constructor_keys(module: str, class_name: str, skip: frozenset[str] = frozenset()) -> set[str]:
    """The keyword arguments of ``module.class_name``'s own ``__init__``: the keys of a ``model`` section that builds
    it. Read from the module's source, so checking a config imports no torch (the demo page and a command's refusals
    come up in a second instead of ten)."""
    tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8"))
    (cls,) = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name]
    (init,) = [node for node in cls.body if isinstance(node, ast.FunctionDef) and node.name == "__init__"]
    arguments = init.args.posonlyargs + init.args.args + init.args.kwonlyargs
    return {argument.arg for argument in arguments if argument.arg != "self" and argument.arg not in skip}


# The only rates the audio front ends (Whisper, the SyncNet mel) and the frame/audio alignment support.
SUPPORTED_AUDIO_SAMPLE_RATE = 16000
SUPPORTED_VIDEO_FPS = 25


def check_rates(config: DictConfig, path: str | os.PathLike) -> None:
    """A training config's ``data.audio_sample_rate`` and ``data.video_fps`` must be the processed data's."""
    if config.data.audio_sample_rate != SUPPORTED_AUDIO_SAMPLE_RATE or config.data.video_fps != SUPPORTED_VIDEO_FPS:
        raise InputError(f"{path}: data.audio_sample_rate {config.data.audio_sample_rate} / data.video_fps "
                         f"{config.data.video_fps} are unsupported; the processed data must be 16000 Hz and 25 fps")


def check_training_data(config: DictConfig, path: str | os.PathLike) -> None:
    """A training config names its clips: ``data.train_fileslist`` or ``data.train_data_dir``."""
    if config.data.get("train_fileslist") in ("", None) and config.data.get("train_data_dir") in ("", None):
        raise InputError(f"{path}: set data.train_fileslist (one video per line) or data.train_data_dir")
