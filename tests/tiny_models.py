"""Tiny randomly initialised models for CPU tests (the real weights cannot be downloaded here)."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL


def tiny_vae(seed: int = 0) -> AutoencoderKL:
    """A 4-level VAE (spatial factor 8, 4 latent channels) like sd-vae-ft-mse, with a few thousand weights."""
    torch.manual_seed(seed)
    return AutoencoderKL(block_out_channels=(8, 8, 8, 8), down_block_types=("DownEncoderBlock2D",) * 4,
                         up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, norm_num_groups=4,
                         layers_per_block=1).eval()
