"""Training checkpoints ``checkpoint-{step}.pt`` in the released format, and the run folder that holds them.

A checkpoint is ``{"state_dict", "global_step"}`` (SyncNet adds its loss curves), exactly what the original
writes, so inference and the original code load it unchanged. Each file is written beside its target and
renamed (``save_checkpoint``), so a crash or Ctrl-C never leaves a half-written checkpoint.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from latentsync.errors import InputError
from latentsync.models.checkpoint_io import save_checkpoint

CHECKPOINT_DIR = "checkpoints"
_CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)\.pt$")


def checkpoint_path(run_dir: str | os.PathLike, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"checkpoint-{step}.pt"


def save_training_checkpoint(run_dir: str | os.PathLike, step: int, state_dict: dict[str, torch.Tensor],
                             **extras) -> Path:
    """Write ``run_dir/checkpoints/checkpoint-{step}.pt`` atomically and return its path."""
    path = checkpoint_path(run_dir, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, state_dict, global_step=step, **extras)
    return path


def step_of_checkpoint(path: str | os.PathLike) -> int | None:
    """The step in a ``checkpoint-{step}.pt`` file name, or ``None`` for any other name."""
    match = _CHECKPOINT_NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def create_run_dir(output_root: str | os.PathLike, configs: dict[str, DictConfig | str | os.PathLike]) -> Path:
    """Make a fresh ``output_root/train-YYYY_MM_DD-HH:MM:SS[-n]`` folder and copy the configs used into it.

    A run never writes into another run's folder: a name already taken gets a ``-2``, ``-3``, ... suffix.
    ``configs`` maps a file name (``unet.yaml``) to the config as used (or the path of the file to copy).
    Fails with ``InputError`` naming the folder when it cannot be written.
    """
    output_root = Path(output_root)
    stamp = datetime.now().strftime("%Y_%m_%d-%H-%M-%S")
    try:
        output_root.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            run_dir = output_root / (f"train-{stamp}" if attempt == 1 else f"train-{stamp}-{attempt}")
            try:
                run_dir.mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise InputError(f"too many runs started at {stamp} in {output_root}")
        (run_dir / CHECKPOINT_DIR).mkdir()
        for name, config in configs.items():
            if isinstance(config, DictConfig):
                OmegaConf.save(config, run_dir / name)
            else:
                shutil.copyfile(config, run_dir / name)
    except OSError as error:
        raise InputError(f"output folder {output_root} is not writable ({error.strerror}); set "
                         "data.train_output_dir to a folder you can write to") from None
    return run_dir
