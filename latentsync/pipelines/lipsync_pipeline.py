"""``LipsyncPipeline``: inpaint the mouth of aligned face crops in VAE latent space, conditioned on audio.

This module is the latent-space core: faces and per-frame audio embeddings in, generated faces out, 16
frames per U-Net call. Reading videos, finding faces and pasting them back live in ``lipsync_video``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import AutoencoderKL, DDIMScheduler, DiffusionPipeline
from diffusers.utils.torch_utils import randn_tensor
from einops import rearrange

from ..face.mask import mask_to_latent_size
from ..face.restore import paste_surrounding_pixels_back
from ..models.deep_cache import DeepCacheUNet
from ..models.unet import UNet3DConditionModel

StepCallback = Callable[[int, torch.Tensor, torch.Tensor], None]


class LipsyncPipeline(DiffusionPipeline):
    """Holds ``vae``, ``audio_encoder`` (``Audio2Feature``), ``unet`` and ``scheduler``.

    Conventions reproduced from the reference (they matter for the released checkpoints):
    one noise image per video, repeated over every frame; the U-Net input is
    ``[noisy latents, mask, masked-image latents, reference latents]``; classifier-free guidance puts the
    null (all-zero) audio first; latents are scaled by the VAE's ``scaling_factor`` (0.18215).
    """

    model_cpu_offload_seq = "unet->vae"

    def __init__(self, vae: AutoencoderKL, audio_encoder, unet: UNet3DConditionModel, scheduler: DDIMScheduler,
                 resolution: int = 256):
        super().__init__()
        self.register_modules(vae=vae, audio_encoder=audio_encoder, unet=unet, scheduler=scheduler)
        self.register_to_config(resolution=resolution)  # face crop size the U-Net was trained on
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.num_frames = 16

    @property
    def latent_channels(self) -> int:
        return self.vae.config.latent_channels

    def prepare_initial_noise(self, height: int, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """One ``(1, C, 1, h, w)`` Gaussian draw for the whole video, scaled by ``init_noise_sigma``."""
        shape = (1, self.latent_channels, 1, height // self.vae_scale_factor, width // self.vae_scale_factor)
        noise = randn_tensor(shape, generator=generator, device=self.unet.device, dtype=self.unet.dtype)
        return noise * self.scheduler.init_noise_sigma

    def _latent_scale(self) -> tuple[float, float]:
        config = self.vae.config
        return config.scaling_factor, getattr(config, "shift_factor", None) or 0.0

    def encode_images(self, pixel_values: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(F, 3, H, W)`` in [-1, 1] -> scaled latents ``(1, C, F, h, w)`` (a posterior sample, as the reference)."""
        scale, shift = self._latent_scale()
        pixel_values = pixel_values.to(device=self.vae.device, dtype=self.vae.dtype)
        latents = self.vae.encode(pixel_values).latent_dist.sample(generator=generator)
        return rearrange((latents - shift) * scale, "f c h w -> 1 c f h w")

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Scaled latents ``(1, C, F, h, w)`` -> images ``(F, 3, H, W)``, roughly in [-1, 1]."""
        scale, shift = self._latent_scale()
        latents = rearrange(latents, "b c f h w -> (b f) c h w") / scale + shift
        return self.vae.decode(latents.to(self.vae.dtype)).sample

    def denoise(self, latents: torch.Tensor, mask: torch.Tensor, masked_image_latents: torch.Tensor,
                ref_latents: torch.Tensor, audio_embeds: torch.Tensor, num_inference_steps: int = 20,
                guidance_scale: float = 1.5, generator: torch.Generator | None = None,
                step_callback: StepCallback | None = None, deep_cache_interval: int | None = None) -> torch.Tensor:
        """DDIM loop on one frame window. Tensors are ``(1, C, F, h, w)``; ``audio_embeds`` is ``(F, tokens, dim)``.

        Guidance is on when ``guidance_scale > 1``; then the batch is ``[null audio, audio]``.
        ``step_callback(step_index, timestep, latents)`` sees the latents after each step.
        ``deep_cache_interval`` turns on DeepCache (full U-Net every N steps, shallow branch in between).
        """
        unet = self.unet if deep_cache_interval is None else DeepCacheUNet(self.unet, deep_cache_interval)
        do_cfg = guidance_scale > 1.0
        conditioning = torch.cat([mask, masked_image_latents, ref_latents], dim=1)
        if do_cfg:
            conditioning = torch.cat([conditioning] * 2)
            audio_embeds = torch.cat([torch.zeros_like(audio_embeds), audio_embeds])
        self.scheduler.set_timesteps(num_inference_steps, device=latents.device)
        for i, t in enumerate(self.progress_bar(self.scheduler.timesteps)):
            model_input = torch.cat([latents] * 2) if do_cfg else latents
            model_input = torch.cat([self.scheduler.scale_model_input(model_input, t), conditioning], dim=1)
            noise_pred = unet(model_input, t, encoder_hidden_states=audio_embeds).sample
            if do_cfg:
                noise_uncond, noise_audio = noise_pred.chunk(2)
                noise_pred = noise_uncond + guidance_scale * (noise_audio - noise_uncond)
            latents = self.scheduler.step(noise_pred, t, latents, eta=0.0, generator=generator).prev_sample
            if step_callback is not None:
                step_callback(i, t, latents)
        return latents

    @torch.no_grad()
    def __call__(self, pixel_values: torch.Tensor, masked_pixel_values: torch.Tensor, mask: torch.Tensor,
                 audio_embeds: torch.Tensor, num_inference_steps: int = 20, guidance_scale: float = 1.5,
                 generator: torch.Generator | None = None, initial_noise: torch.Tensor | None = None,
                 deep_cache_interval: int | None = None) -> torch.Tensor:
        """Generate the mouth region of aligned faces; the tensor-in / tensor-out entry point.

        Args:
            pixel_values: ``(F, 3, H, W)`` aligned faces in [-1, 1] (also the reference frames).
            masked_pixel_values: ``pixel_values`` times the mask (inpaint region zeroed).
            mask: ``(F, 1, H, W)`` or ``(1, 1, H, W)``; 1 = keep, 0 = generate.
            audio_embeds: ``(F, tokens, dim)`` Whisper chunks, one per frame.
            initial_noise: the video's ``(1, C, 1, h, w)`` draw (``prepare_initial_noise``); reuse it for every
                window of a video so all frames start from identical noise, as the reference does.

        Returns ``(F, 3, H, W)`` faces in [-1, 1]: generated where the mask is 0, the input where it is 1.
        Frames are processed ``self.num_frames`` at a time.
        """
        num_frames, _, height, width = pixel_values.shape
        if audio_embeds.shape[0] != num_frames:
            raise ValueError(f"{num_frames} faces but {audio_embeds.shape[0]} audio embeddings; need one per frame")
        if initial_noise is None:
            initial_noise = self.prepare_initial_noise(height, width, generator)
        mask = mask.expand(num_frames, -1, -1, -1)
        device, dtype = self.unet.device, self.unet.dtype
        outputs = []
        for start in range(0, num_frames, self.num_frames):
            window = slice(start, start + self.num_frames)
            frames = pixel_values[window].to(device=device, dtype=dtype)
            window_mask = mask[window].to(device=device, dtype=dtype)
            latent_mask = rearrange(mask_to_latent_size(window_mask, self.vae_scale_factor), "f c h w -> 1 c f h w")
            masked_latents = self.encode_images(masked_pixel_values[window], generator).to(dtype)
            ref_latents = self.encode_images(frames, generator).to(dtype)
            latents = initial_noise.to(device=device, dtype=dtype).repeat(1, 1, frames.shape[0], 1, 1)
            latents = self.denoise(latents, latent_mask, masked_latents, ref_latents,
                                   audio_embeds[window].to(device=device, dtype=dtype),
                                   num_inference_steps, guidance_scale, generator,
                                   deep_cache_interval=deep_cache_interval)
            decoded = self.decode_latents(latents).to(dtype)
            outputs.append(paste_surrounding_pixels_back(decoded, frames, window_mask))
        return torch.cat(outputs)
