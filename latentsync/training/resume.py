"""Exact resume: everything besides the weights that a run needs to continue as if it had never stopped.

The original restarts its optimizer from scratch. Here each ``checkpoint-{step}.pt`` gets a bundle beside it,
``checkpoint-{step}.resume.pt``, with the optimizer, LR scheduler and GradScaler states, the RNG states of every
rank (torch, CUDA, numpy, random) and data positions (epoch, samples already consumed) and a fingerprint of
the config. Resuming from step k and running to n gives the weights of an uninterrupted run to n (bit-identical
on CPU in fp32). The bundle is written after its checkpoint, atomically, so the newest bundle always resumes.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from latentsync.errors import InputError
from latentsync.io.atomic_file import replaced_atomically
from latentsync.training.checkpointing import CHECKPOINT_DIR, step_of_checkpoint

BUNDLE_SUFFIX = ".resume.pt"
BUNDLE_FORMAT = 1
# Keys that do not change what is computed: a resumed run may set them differently.
NEUTRAL_KEYS = {
    "data.train_output_dir", "data.num_workers", "data.val_video_path", "data.val_audio_path",
    "data.num_val_samples", "data.val_fileslist", "data.val_data_dir",
    "data.audio_embeds_cache_dir", "data.audio_mel_cache_dir",
    "ckpt.resume_ckpt_path", "ckpt.save_ckpt_steps", "ckpt.inference_ckpt_path",
    "run.max_train_steps", "run.max_train_epochs", "run.validation_steps", "run.inference_steps",
    "run.guidance_scale",
}
# ... unless the LR schedule depends on the run length.
LENGTH_FREE_SCHEDULERS = {"constant", "constant_with_warmup"}


def bundle_path(checkpoint: str | os.PathLike) -> Path:
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name[: -len(".pt")] + BUNDLE_SUFFIX)


def config_fingerprint(config: DictConfig) -> str:
    """A hash of every key that changes the computation (``NEUTRAL_KEYS`` aside)."""
    plain = OmegaConf.to_container(config, resolve=True)
    neutral = set(NEUTRAL_KEYS)
    scheduler = OmegaConf.select(config, "optimizer.lr_scheduler", default="constant")
    if scheduler not in LENGTH_FREE_SCHEDULERS:
        neutral -= {"run.max_train_steps", "run.max_train_epochs"}
    for dotted in neutral:
        section, _, key = dotted.partition(".")
        if isinstance(plain.get(section), dict):
            plain[section].pop(key, None)
    return hashlib.sha256(OmegaConf.to_yaml(OmegaConf.create(plain), sort_keys=True).encode()).hexdigest()


def capture_rng_state(device: torch.device) -> dict[str, Any]:
    """This process's torch, CUDA, numpy and ``random`` states, as plain tensors/tuples (``weights_only`` safe)."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached),
        "random": random.getstate(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    random.setstate(state["random"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def save_resume_bundle(checkpoint: str | os.PathLike, *, config: DictConfig, global_step: int,
                       rank_states: list[dict[str, Any]],
                       optimizer: torch.optim.Optimizer, lr_scheduler: Any, grad_scaler: Any | None,
                       extras: dict[str, Any] | None = None) -> Path:
    """Write the bundle beside ``checkpoint`` (call on rank 0 after the checkpoint itself is complete).

    ``rank_states`` holds one entry per rank, in rank order: its RNG states and its data sampler's position.
    """
    path = bundle_path(checkpoint)
    payload = {
        "format": BUNDLE_FORMAT,
        "global_step": global_step,
        "config_fingerprint": config_fingerprint(config),
        "world_size": len(rank_states),
        "rank_states": rank_states,
        "optimizer": optimizer.state_dict(),
        "lr_scheduler": None if lr_scheduler is None else lr_scheduler.state_dict(),
        "grad_scaler": None if grad_scaler is None else grad_scaler.state_dict(),
        "extras": extras or {},
    }
    with replaced_atomically(path) as partial:
        torch.save(payload, partial)
    return path


def find_resume_bundle(resume: str | os.PathLike, output_root: str | os.PathLike) -> Path:
    """The bundle that ``--resume`` names: ``latest`` (newest under ``output_root``), a run folder, a
    ``checkpoint-{step}.pt`` or its ``.resume.pt``. A bundle counts only when its checkpoint is complete."""
    if str(resume) == "latest":
        candidates = _bundles(Path(output_root).glob(f"*/{CHECKPOINT_DIR}/checkpoint-*{BUNDLE_SUFFIX}"))
        if not candidates:
            raise InputError(f"--resume latest: no resume bundle (checkpoint-*{BUNDLE_SUFFIX}) in any run under "
                             f"{output_root}; start without --resume")
        return max(candidates, key=lambda p: (p.stat().st_mtime, _bundle_step(p)))
    path = Path(resume)
    if path.is_dir():
        folder = path / CHECKPOINT_DIR if (path / CHECKPOINT_DIR).is_dir() else path
        candidates = _bundles(folder.glob(f"checkpoint-*{BUNDLE_SUFFIX}"))
        if not candidates:
            raise InputError(f"--resume {path}: the folder holds no resume bundle (checkpoint-*{BUNDLE_SUFFIX})")
        return max(candidates, key=_bundle_step)
    if path.name.endswith(BUNDLE_SUFFIX):
        bundle = path
    elif step_of_checkpoint(path) is not None:
        bundle = bundle_path(path)
    else:
        raise InputError(f"--resume {path}: expected 'latest', a run folder, checkpoint-STEP.pt or "
                         f"checkpoint-STEP{BUNDLE_SUFFIX}")
    if not _bundles([bundle]):
        raise InputError(f"--resume {path}: {bundle} or its checkpoint is missing; pass a checkpoint written by "
                         "this trainer (the original's checkpoints have no optimizer state)")
    return bundle


def load_resume_bundle(bundle: str | os.PathLike, config: DictConfig, world_size: int) -> dict[str, Any]:
    """Read a bundle and refuse it when it belongs to another config or another number of processes."""
    bundle = Path(bundle)
    try:
        payload = torch.load(bundle, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt files
        raise InputError(f"resume bundle {bundle} cannot be read ({error}); resume from an earlier checkpoint") from None
    if payload.get("format") != BUNDLE_FORMAT:
        raise InputError(f"resume bundle {bundle} has format {payload.get('format')}, expected {BUNDLE_FORMAT}")
    if payload["config_fingerprint"] != config_fingerprint(config):
        raise InputError(f"resume bundle {bundle} was written with another config; resume with the config saved "
                         f"in {bundle.parent.parent} (only {', '.join(sorted(NEUTRAL_KEYS))} may change)")
    if payload["world_size"] != world_size:
        raise InputError(f"resume bundle {bundle} was written by {payload['world_size']} processes, this run has "
                         f"{world_size}; relaunch with the same torchrun --nnodes/--nproc_per_node")
    payload["checkpoint_path"] = bundle.with_name(bundle.name[: -len(BUNDLE_SUFFIX)] + ".pt")
    return payload


def _bundle_step(bundle: Path) -> int:
    return int(bundle.name[len("checkpoint-"): -len(BUNDLE_SUFFIX)])


def _bundles(paths) -> list[Path]:
    """The bundles whose checkpoint file exists beside them."""
    return [p for p in paths if p.is_file() and p.with_name(p.name[: -len(BUNDLE_SUFFIX)] + ".pt").is_file()]
