"""One U-Net training step as a function: batch + models -> losses and every intermediate.

The trainer calls it every step; the parity tests call the same code with the reference run's random
draws injected through ``UNetStepDraws``, so what is tested is what trains. Backward, clipping and the
optimizer step live in ``latentsync.training.optimization``.

The step follows the original ``train_unet.py``: VAE-encode target, masked and reference frames (posterior
samples), add (mixed) noise at one uniform timestep per video, predict the noise from the 13-channel input
[noisy, mask, masked, reference], then supervise with the noise MSE and, in pixel space, LPIPS on the lower
half, TREPA on the clip and the SyncNet loss of the one-step x0 estimate decoded by the VAE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDIMScheduler
from einops import rearrange
from torch import nn

from latentsync.losses.perceptual import lower_half_lpips
from latentsync.losses.sync_loss import cosine_loss
from latentsync.losses.trepa import TREPALoss
from latentsync.models.stable_syncnet import StableSyncNet, image_sequences_from_frames
from latentsync.pipelines.latent_inpainting import mask_to_latent_size
from latentsync.training.latents import from_diffusion_scale, posterior_sample, standard_normal, to_diffusion_scale
from latentsync.training.noise import frame_shared_noise, mixed_noise, predicted_original
from latentsync.training.step_settings import LOSS_NAMES, UNetStepSettings


@dataclass
class UNetStepDraws:
    """Every random number of a step; a field left ``None`` is drawn from the step's generator.

    vae_eps: {"gt", "masked", "ref"} -> standard-normal (B*F, 4, h, w) posterior-sample draws.
    noise_shared_raw / noise_ind_raw: standard-normal (B, 4, F, h, w) draws of the mixed noise (without
        mixed noise only ``noise_shared_raw`` is used: its frame 0 is repeated over the frames).
    timesteps: (B,) integer diffusion timesteps, one per video.
    """

    vae_eps: dict[str, torch.Tensor] = field(default_factory=dict)
    noise_shared_raw: torch.Tensor | None = None
    noise_ind_raw: torch.Tensor | None = None
    timesteps: torch.Tensor | None = None


@dataclass
class UNetStepModels:
    """The trained U-Net and the frozen helpers. Unused helpers (weight 0 / switch off) may be ``None``.

    syncnet_resolution / syncnet_lower_half / syncnet_latent_space come from the SyncNet config's ``data``.
    """

    unet: nn.Module
    vae: AutoencoderKL
    noise_scheduler: DDIMScheduler
    syncnet: StableSyncNet | None = None
    syncnet_resolution: int = 256
    syncnet_lower_half: bool = True
    syncnet_latent_space: bool = False
    lpips: nn.Module | None = None
    trepa: TREPALoss | None = None


@dataclass
class UNetStepOutput:
    loss: torch.Tensor  # weighted total, carries the graph
    losses: dict[str, torch.Tensor]  # detached 0-dim "recon", "sync", "lpips", "trepa", "total" (0 when off)
    intermediates: dict[str, torch.Tensor]


def unet_training_step(batch: dict, audio_embeds: torch.Tensor | None, models: UNetStepModels,
                       settings: UNetStepSettings, draws: UNetStepDraws | None = None,
                       generator: torch.Generator | None = None) -> UNetStepOutput:
    """Forward pass and losses of one step on a ``UNetDataset`` batch already on the device.

    ``audio_embeds`` is the (B, F, 50, D) Whisper window of the batch's frames (or ``None`` without audio
    layers). Random draws absent from ``draws`` come from ``generator`` (``None``: torch's global RNG).
    """
    draws = draws or UNetStepDraws()
    vae, scheduler = models.vae, models.noise_scheduler
    num_frames = settings.num_frames
    device = batch["gt_pixel_values"].device
    steps: dict[str, torch.Tensor] = {}

    def flat(name: str) -> torch.Tensor:
        return rearrange(batch[name], "b f c h w -> (b f) c h w").to(vae.dtype)

    gt_pixel_values = flat("gt_pixel_values")
    with torch.no_grad():
        for name, key in (("gt", "gt_pixel_values"), ("masked", "masked_pixel_values"), ("ref", "ref_pixel_values")):
            pixels = gt_pixel_values if name == "gt" else flat(key)
            latents = posterior_sample(vae, pixels, draws.vae_eps.get(name), generator)
            latents = rearrange(latents, "(b f) c h w -> b c f h w", f=num_frames)
            steps[f"{name}_latents"] = to_diffusion_scale(vae, latents)
    vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
    masks = mask_to_latent_size(flat("masks"), vae_scale_factor)
    steps["masks_latent"] = rearrange(masks, "(b f) c h w -> b c f h w", f=num_frames)

    gt_latents = steps["gt_latents"]
    steps["noise"] = noise = _noise(gt_latents, draws, settings, generator)
    timesteps = draws.timesteps
    if timesteps is None:
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (gt_latents.shape[0],),
                                  device=generator.device if generator is not None else device, generator=generator)
    timesteps = timesteps.to(device=device, dtype=torch.long)
    steps["noisy_latents"] = noisy_latents = scheduler.add_noise(gt_latents, noise, timesteps)
    steps["unet_input"] = unet_input = torch.cat(
        [noisy_latents, steps["masks_latent"], steps["masked_latents"], steps["ref_latents"]], dim=1
    )

    # A float16 VAE (CUDA) gives float16 latents; the trained U-Net's own dtype takes them (exactly), so it runs
    # with or without autocast, which then casts them back as the original feeds them.
    unet_dtype = next(models.unet.parameters()).dtype
    autocast = settings.autocast_dtype is not None
    with torch.autocast(device_type=device.type, dtype=settings.autocast_dtype or torch.float32, enabled=autocast):
        pred_noise = models.unet(unet_input.to(unet_dtype), timesteps, encoder_hidden_states=audio_embeds).sample
    steps["pred_noise"] = pred_noise
    steps["pred_latents"] = pred_latents = predicted_original(scheduler.alphas_cumprod, noisy_latents, pred_noise,
                                                              timesteps)

    losses: dict[str, torch.Tensor] = {}
    if settings.uses("recon"):
        losses["recon"] = F.mse_loss(pred_noise.float(), noise.float(), reduction="mean")

    pixel_syncnet = settings.uses("sync") and not models.syncnet_latent_space
    if pixel_syncnet or settings.uses("lpips") or settings.uses("trepa"):
        latents = rearrange(pred_latents, "b c f h w -> (b f) c h w").to(vae.dtype)
        steps["pred_pixel_values"] = pred_pixel_values = vae.decode(from_diffusion_scale(vae, latents)).sample
        if settings.uses("lpips"):
            losses["lpips"] = lower_half_lpips(models.lpips, pred_pixel_values, gt_pixel_values)
        if settings.uses("trepa"):
            to_video = "(b f) c h w -> b c f h w"
            losses["trepa"] = models.trepa(rearrange(pred_pixel_values, to_video, f=num_frames),
                                           rearrange(gt_pixel_values, to_video, f=num_frames))

    if settings.uses("sync"):
        steps["syncnet_input"] = syncnet_input = _syncnet_input(steps, models, num_frames)
        mel = batch["mel"].to(syncnet_input.dtype)
        vision_embeds, audio_embeds_sync = models.syncnet(syncnet_input, mel)
        ones = torch.ones((syncnet_input.shape[0], 1), dtype=torch.float32, device=device)
        losses["sync"] = cosine_loss(vision_embeds.float(), audio_embeds_sync.float(), ones).mean()

    total = sum(settings.weight(name) * losses[name] for name in LOSS_NAMES if name in losses)
    zero = torch.zeros((), device=device)
    logged = {name: losses.get(name, zero).detach() for name in LOSS_NAMES}
    logged["total"] = total.detach()
    return UNetStepOutput(loss=total, losses=logged, intermediates=steps)


def _noise(latents: torch.Tensor, draws: UNetStepDraws, settings: UNetStepSettings,
           generator: torch.Generator | None) -> torch.Tensor:
    def draw(given: torch.Tensor | None) -> torch.Tensor:
        return given.to(latents) if given is not None else standard_normal(latents, generator)

    shared_raw = draw(draws.noise_shared_raw)  # drawn first, as the original
    if not settings.use_mixed_noise:
        return frame_shared_noise(shared_raw)
    return mixed_noise(shared_raw, draw(draws.noise_ind_raw), settings.mixed_noise_alpha)


def _syncnet_input(steps: dict[str, torch.Tensor], models: UNetStepModels, num_frames: int) -> torch.Tensor:
    """The frozen SyncNet's view of the prediction: decoded pixels (resized to its resolution) or latents."""
    if models.syncnet_latent_space:
        frames = rearrange(steps["pred_latents"], "b c f h w -> b f c h w")
    else:
        pixels = steps["pred_pixel_values"]
        size = models.syncnet_resolution
        if pixels.shape[-1] != size or pixels.shape[-2] != size:
            pixels = F.interpolate(pixels, size=(size, size), mode="bicubic")
        frames = rearrange(pixels, "(b f) c h w -> b f c h w", f=num_frames)
    syncnet_dtype = next(models.syncnet.parameters()).dtype
    return image_sequences_from_frames(frames, models.syncnet_lower_half).to(syncnet_dtype)
