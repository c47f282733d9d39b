"""How long a training run lasts: ``run.max_train_steps``, or ``run.max_train_epochs`` epochs (U-Net only)."""

from __future__ import annotations

import os

from omegaconf import DictConfig

from latentsync.errors import InputError


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
