"""One SyncNet training step as a function (forward and loss), shared by the trainer and the parity test.

As the original ``train_syncnet.py``: frames become a (B, F*C, H, W) stack (VAE latents first for a
latent SyncNet), the lower half is kept when the config says so, and the loss is the mean BCE of the
audio-visual cosine similarity against the in-sync label.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import AutoencoderKL
from einops import rearrange

from latentsync.losses.sync_loss import cosine_loss
from latentsync.models.stable_syncnet import StableSyncNet, image_sequences_from_frames
from latentsync.training.latents import posterior_sample, to_diffusion_scale


@dataclass
class SyncNetStepOutput:
    loss: torch.Tensor  # mean BCE, carries the graph (not divided by gradient_accumulation_steps)
    image_sequences: torch.Tensor  # the visual tower's input
    vision_embeds: torch.Tensor
    audio_embeds: torch.Tensor


def syncnet_training_step(batch: dict, syncnet: StableSyncNet, *, lower_half: bool, vae: AutoencoderKL | None = None,
                          vae_batch_size: int = 64, autocast_dtype: torch.dtype | None = None,
                          vae_eps: torch.Tensor | None = None,
                          generator: torch.Generator | None = None) -> SyncNetStepOutput:
    """Loss of a ``SyncNetDataset`` batch on the device: frames (B, F, 3, H, W), audio_samples, y (B, 1).

    With ``vae`` (latent SyncNet) the frames are encoded ``vae_batch_size`` at a time as posterior samples,
    whose standard-normal draws are ``vae_eps`` ((B*F, 4, h, w)) or come from ``generator``.
    """
    frames = batch["frames"]
    if vae is not None:
        frames = _latent_frames(vae, frames, vae_batch_size, vae_eps, generator)
    image_sequences = image_sequences_from_frames(frames, lower_half)
    device = image_sequences.device
    dtype = next(syncnet.parameters()).dtype
    with torch.autocast(device_type=device.type, dtype=autocast_dtype or torch.float32,
                        enabled=autocast_dtype is not None):
        vision_embeds, audio_embeds = syncnet(image_sequences.to(dtype), batch["audio_samples"].to(dtype))
    y = batch["y"].to(device=device, dtype=torch.float32)
    loss = cosine_loss(vision_embeds.float(), audio_embeds.float(), y).mean()
    return SyncNetStepOutput(loss=loss, image_sequences=image_sequences, vision_embeds=vision_embeds,
                             audio_embeds=audio_embeds)


@torch.no_grad()
def _latent_frames(vae: AutoencoderKL, frames: torch.Tensor, vae_batch_size: int, vae_eps: torch.Tensor | None,
                   generator: torch.Generator | None) -> torch.Tensor:
    """(B, F, 3, H, W) pixels -> (B, F, 4, h, w) VAE posterior samples in the diffusion scale."""
    pixels = rearrange(frames, "b f c h w -> (b f) c h w")
    latents = torch.cat([
        posterior_sample(vae, pixels[start : start + vae_batch_size],
                         None if vae_eps is None else vae_eps[start : start + vae_batch_size], generator)
        for start in range(0, len(pixels), vae_batch_size)
    ])
    return rearrange(to_diffusion_scale(vae, latents), "(b f) c h w -> b f c h w", f=frames.shape[1])
