"""The switches and weights of the U-Net training step, from a config's ``run`` section (light: the launcher asks
which losses a run uses before the training code loads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from omegaconf import DictConfig

if TYPE_CHECKING:
    import torch

LOSS_NAMES = ("recon", "sync", "lpips", "trepa")


@dataclass
class UNetStepSettings:
    """The ``run`` switches and weights that shape the step (see ``from_config``)."""

    num_frames: int = 16
    pixel_space_supervise: bool = True
    use_syncnet: bool = True
    use_mixed_noise: bool = True
    mixed_noise_alpha: float = 1.0
    recon_loss_weight: float = 1.0
    sync_loss_weight: float = 0.05
    perceptual_loss_weight: float = 0.1
    trepa_loss_weight: float = 10.0
    autocast_dtype: torch.dtype | None = None  # the U-Net forward's autocast dtype; None = no autocast

    def __post_init__(self):
        if not any(self.uses(name) for name in LOSS_NAMES):
            raise ValueError("every loss weight is 0 or switched off (run.*_loss_weight, use_syncnet, "
                             "pixel_space_supervise): the U-Net step would train nothing")

    @classmethod
    def from_config(cls, config: DictConfig, autocast_dtype: torch.dtype | None = None) -> UNetStepSettings:
        """From a whole U-Net training config (``configs/unet/*.yaml``)."""
        run = config.run
        return cls(
            num_frames=config.data.num_frames,
            pixel_space_supervise=run.pixel_space_supervise,
            use_syncnet=bool(run.use_syncnet and config.model.add_audio_layer),
            use_mixed_noise=run.use_mixed_noise,
            mixed_noise_alpha=run.mixed_noise_alpha,
            recon_loss_weight=run.recon_loss_weight,
            sync_loss_weight=run.sync_loss_weight,
            perceptual_loss_weight=run.perceptual_loss_weight,
            trepa_loss_weight=run.trepa_loss_weight,
            autocast_dtype=autocast_dtype,
        )

    def weight(self, name: str) -> float:
        return getattr(self, {"lpips": "perceptual"}.get(name, name) + "_loss_weight")

    def uses(self, name: str) -> bool:
        """Whether the term is computed at all: non-zero weight and its switch on."""
        if self.weight(name) == 0:
            return False
        if name == "recon":
            return True
        if name == "sync":
            return self.use_syncnet
        return self.pixel_space_supervise  # lpips, trepa
