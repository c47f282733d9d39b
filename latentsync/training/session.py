"""What both trainers share around their loop: the run folder, seeding, precision, saving and resuming.

A ``TrainingSession`` is created on every rank; only rank 0 writes files. Saving a step writes the released
``checkpoint-{step}.pt`` first, then its resume bundle, each atomically, so the newest bundle always resumes.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from latentsync.data.loader import data_loader
from latentsync.errors import InputError
from latentsync.training.charts import MetricsLogger
from latentsync.training.checkpointing import create_run_dir, save_training_checkpoint
from latentsync.training.resume import capture_rng_state, find_resume_bundle, load_resume_bundle, restore_rng_state, save_resume_bundle
from latentsync.training.session_options import MIXED_PRECISION
from latentsync.utils.distributed import DistributedContext, barrier, gather_to_main, run_on_main
from latentsync.utils.kept_unless_failed import KeptUnlessFailed

logger = logging.getLogger(__name__)


@dataclass
class Precision:
    """The autocast dtype of the forward passes (``None`` = fp32) and whether a GradScaler is needed."""

    autocast_dtype: torch.dtype | None

    @property
    def needs_grad_scaler(self) -> bool:
        return self.autocast_dtype == torch.float16

    def grad_scaler(self, device: torch.device) -> torch.amp.GradScaler | None:
        return torch.amp.GradScaler(device.type) if self.needs_grad_scaler else None


def resolve_precision(mixed_precision_training: bool, choice: str, device: torch.device) -> Precision:
    """``run.mixed_precision_training`` + ``--mixed_precision``: fp16 autocast + GradScaler as the original
    (``auto`` on CUDA), bf16 where the device supports it (no scaler needed), fp32 otherwise.

    On the CPU ``auto`` trains in fp32: CPU fp16 autocast is slow and imprecise, and fp32 keeps resume exact.
    """
    if choice not in MIXED_PRECISION:
        raise InputError(f"--mixed_precision {choice!r}: choose one of {', '.join(MIXED_PRECISION)}")
    if not mixed_precision_training or choice == "no":
        return Precision(None)
    if choice == "auto":
        if device.type != "cuda":
            logger.warning("run.mixed_precision_training is on but %s has no fp16 training: training in fp32", device)
            return Precision(None)
        return Precision(torch.float16)
    if choice == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise InputError(f"--mixed_precision bf16: {torch.cuda.get_device_name(device)} has no bfloat16; "
                             "use --mixed_precision fp16")
        return Precision(torch.bfloat16)
    if device.type != "cuda":
        raise InputError("--mixed_precision fp16 needs a CUDA device; use bf16 or no on the CPU")
    return Precision(torch.float16)


def seed_everything(seed: int) -> None:
    """Seed torch (all devices), numpy and ``random``; callers pass ``seed + rank`` as the original does."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class TrainingSession(KeptUnlessFailed):
    """Run folder, metrics, resume bundle and checkpoint saving for one training run.

    Used as ``with``: a run that fails before its first step removes its run folder (it holds nothing but the
    copied config), so failed starts leave no empty ``train-<date>/`` folders behind.
    """

    def __init__(self, ctx: DistributedContext, config: DictConfig, output_root: str | os.PathLike,
                 configs_to_copy: dict[str, Any], resume: str | None, report_to: str):
        self.ctx = ctx
        self.config = config
        self.bundle = None
        if resume:
            bundle_file = run_on_main(lambda: find_resume_bundle(resume, output_root))
            self.bundle = load_resume_bundle(bundle_file, config, ctx.world_size)
            logger.info("resuming from %s (step %d)", bundle_file, self.bundle["global_step"])
        self.run_dir = Path(run_on_main(lambda: create_run_dir(output_root, configs_to_copy)))
        history = self.bundle["extras"].get("history") if self.bundle else None
        self.metrics = MetricsLogger(self.run_dir, report_to, history) if ctx.is_main else None
        self._points_at_start = self._logged_points()
        if ctx.is_main:
            logger.info("run folder %s", self.run_dir)

    def _logged_points(self) -> int:
        return sum(len(curve["steps"]) for curve in self.metrics.history.values()) if self.metrics else 0

    @property
    def resume_checkpoint(self) -> Path | None:
        """The ``checkpoint-{step}.pt`` to take the weights from when resuming."""
        return None if self.bundle is None else self.bundle["checkpoint_path"]

    def restore(self, optimizer: torch.optim.Optimizer, lr_scheduler: Any, grad_scaler: Any | None,
                sampler: Any) -> dict[str, Any]:
        """Load the bundle's optimizer/scheduler/scaler, this rank's RNG and data position; return its extras."""
        bundle = self.bundle
        optimizer.load_state_dict(bundle["optimizer"])
        if lr_scheduler is not None:
            lr_scheduler.load_state_dict(bundle["lr_scheduler"])
        if grad_scaler is not None:
            if bundle["grad_scaler"] is None:
                raise InputError("the resume bundle was written without a GradScaler (fp16) but this run uses one")
            grad_scaler.load_state_dict(bundle["grad_scaler"])
        rank_state = bundle["rank_states"][self.ctx.rank]
        restore_rng_state(rank_state["rng"], self.ctx.device)
        sampler.load_state_dict(rank_state["sampler"])
        return bundle["extras"]

    def save(self, step: int, state_dict: dict[str, torch.Tensor], *, optimizer: torch.optim.Optimizer,
             lr_scheduler: Any, grad_scaler: Any | None, sampler_state: dict[str, Any],
             checkpoint_extras: dict[str, Any] | None = None) -> Path | None:
        """Collective: every rank calls it. Rank 0 writes the checkpoint, then the resume bundle."""
        rank_states = gather_to_main({"rng": capture_rng_state(self.ctx.device), "sampler": sampler_state})
        path = None
        if self.ctx.is_main:
            path = save_training_checkpoint(self.run_dir, step, state_dict, **(checkpoint_extras or {}))
            save_resume_bundle(path, config=self.config, global_step=step, rank_states=rank_states,
                               optimizer=optimizer, lr_scheduler=lr_scheduler, grad_scaler=grad_scaler,
                               extras={"history": self.metrics.history})
            logger.info("saved %s", path)
        barrier()
        return path

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.close()

    def discard(self) -> None:
        """After a failure: close, and remove the run folder when no step was logged in this run (rank 0)."""
        self.close()
        if self.ctx.is_main and self._logged_points() == self._points_at_start:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            logger.info("removed the run folder %s: the run ended before its first step", self.run_dir)


def training_loader(dataset, sampler, data, device: torch.device, seed: int) -> DataLoader:
    """Its own generator, so starting an epoch never draws from the global RNG the training step uses.

    Fails before any step when the clips cannot fill one batch per process.
    """
    loader = data_loader(dataset, batch_size=data.batch_size, sampler=sampler, num_workers=data.num_workers,
                         drop_last=True, pin_memory=device.type == "cuda",
                         generator=torch.Generator().manual_seed(seed))
    if len(sampler) < data.batch_size:
        raise InputError(f"{len(dataset)} training clips cannot fill one batch of data.batch_size {data.batch_size} "
                         f"on each of {sampler.num_replicas} processes; add clips or lower the batch size")
    return loader


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
