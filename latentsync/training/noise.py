"""The diffusion noise of U-Net training: one draw shared by all frames, optionally mixed with per-frame noise.

Sharing the noise over frames (arXiv 2308.09716) matches inference, which starts every frame from the
same latent noise; mixing in an independent part (the "mixed noise" prior of arXiv 2305.10474) keeps
frames from collapsing onto each other.
"""

from __future__ import annotations

import math

import torch


def mixed_noise(shared_raw: torch.Tensor, ind_raw: torch.Tensor, alpha: float) -> torch.Tensor:
    """(B, C, F, h, w) unit-variance noise: frame 0 of ``shared_raw`` scaled by ``sqrt(a^2/(1+a^2))``, repeated over
    frames, plus ``ind_raw`` scaled by ``sqrt(1/(1+a^2))``. Both raw draws are standard normal of the latent shape."""
    shared = shared_raw * math.sqrt(alpha**2 / (1 + alpha**2))
    shared = shared[:, :, 0:1].repeat(1, 1, shared_raw.shape[2], 1, 1)
    return ind_raw * math.sqrt(1 / (1 + alpha**2)) + shared


def frame_shared_noise(raw: torch.Tensor) -> torch.Tensor:
    """(B, C, F, h, w) noise: frame 0 of the standard-normal ``raw`` repeated over all frames."""
    return raw[:, :, 0:1].repeat(1, 1, raw.shape[2], 1, 1)


def predicted_original(alphas_cumprod: torch.Tensor, noisy_latents: torch.Tensor, pred_noise: torch.Tensor,
                       timesteps: torch.Tensor) -> torch.Tensor:
    """One-step x0 estimate ``(x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)`` per video (epsilon prediction).

    Not clipped, as the original's training step, and in ``pred_noise``'s dtype as the original computes it (float16
    under CUDA autocast: the losses behind it see the same rounding).
    """
    alpha_prod = alphas_cumprod.to(noisy_latents.device, pred_noise.dtype)[timesteps].view(-1, 1, 1, 1, 1)
    return (noisy_latents - (1 - alpha_prod) ** 0.5 * pred_noise) / alpha_prod**0.5
