"""Which dtype each frozen model of U-Net training runs in, and which of them recompute activations.

The original trains on GPUs with the VAE and the frozen SyncNet in float16 (the VAE with gradient checkpointing
when the pixel-space losses backpropagate through its decoder, the SyncNet always with it), the TREPA ViT in
float16 with checkpointing, Whisper features computed in float16 by its GPU encoder, and validation under float16
autocast. Off CUDA every model stays float32 (CPU float16 is slow and imprecise); checkpointing only trades
memory for time, so it is the original's on every device. One function decides all of it, so a test on a CPU
machine can ask what a CUDA run does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import DictConfig


@dataclass(frozen=True)
class FrozenModelPrecision:
    vae_dtype: torch.dtype
    vae_gradient_checkpointing: bool
    syncnet_dtype: torch.dtype
    syncnet_gradient_checkpointing: bool
    trepa_dtype: torch.dtype
    trepa_gradient_checkpointing: bool
    whisper_dtype: torch.dtype
    validation_autocast_dtype: torch.dtype | None  # None: validation runs without autocast

    def describe(self) -> str:
        """One line for logs and the benchmark."""
        def name(dtype: torch.dtype) -> str:
            return str(dtype).removeprefix("torch.")

        def checkpointing(on: bool) -> str:
            return " + gradient checkpointing" if on else ""

        autocast = name(self.validation_autocast_dtype) if self.validation_autocast_dtype else "off"
        return (f"VAE {name(self.vae_dtype)}{checkpointing(self.vae_gradient_checkpointing)}; "
                f"SyncNet {name(self.syncnet_dtype)}{checkpointing(self.syncnet_gradient_checkpointing)}; "
                f"TREPA {name(self.trepa_dtype)}{checkpointing(self.trepa_gradient_checkpointing)}; "
                f"Whisper {name(self.whisper_dtype)}; validation autocast {autocast}")


def frozen_dtype(device: torch.device | str) -> torch.dtype:
    """The frozen models' dtype (of both trainers: the SyncNet trainer's VAE too): float16 on CUDA, else float32."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.float32


def frozen_model_precision(device: torch.device | str, config: DictConfig) -> FrozenModelPrecision:
    """The settings of the frozen models of a U-Net training ``config`` on ``device`` (see the module doc)."""
    half = frozen_dtype(device)
    return FrozenModelPrecision(
        vae_dtype=half,
        vae_gradient_checkpointing=bool(config.run.pixel_space_supervise),
        syncnet_dtype=half,
        syncnet_gradient_checkpointing=True,
        trepa_dtype=half,
        trepa_gradient_checkpointing=True,
        whisper_dtype=half,
        validation_autocast_dtype=validation_autocast_dtype(device),
    )


def validation_autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """Both trainers validate under float16 autocast on CUDA, as the original; elsewhere without autocast."""
    return torch.float16 if torch.device(device).type == "cuda" else None
