"""VAE posterior samples in the diffusion model's latent scale, with an injectable noise draw."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL


def posterior_sample(vae: AutoencoderKL, pixels: torch.Tensor, eps: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``mean + std * eps`` of the VAE posterior of (N, 3, H, W) pixels, as ``latent_dist.sample()`` computes.

    ``eps`` is the standard-normal (N, C, h, w) draw; ``None`` draws it from ``generator`` (global RNG if ``None``).
    """
    posterior = vae.encode(pixels.to(vae.dtype)).latent_dist
    if eps is None:
        eps = standard_normal(posterior.mean, generator)
    return posterior.mean + posterior.std * eps.to(posterior.mean)


def standard_normal(like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A standard-normal draw shaped like ``like``, made on the generator's device.

    So a CPU generator can feed a GPU run; ``None`` draws from torch's global RNG on ``like``'s device.
    """
    device = generator.device if generator is not None else like.device
    return torch.randn(like.shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def to_diffusion_scale(vae: AutoencoderKL, latents: torch.Tensor) -> torch.Tensor:
    """``(z - shift) * scaling``: the latent scale the U-Net and the latent SyncNet work in."""
    return (latents - (vae.config.shift_factor or 0)) * vae.config.scaling_factor


def from_diffusion_scale(vae: AutoencoderKL, latents: torch.Tensor) -> torch.Tensor:
    """The inverse of ``to_diffusion_scale``, before ``vae.decode``."""
    return latents / vae.config.scaling_factor + (vae.config.shift_factor or 0)
