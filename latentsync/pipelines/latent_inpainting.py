"""``LatentInpaintingPipeline``: regenerate the masked part of aligned faces in VAE latent space, conditioned on audio.

This is the tensor core of lip-sync: faces, a mask and per-frame audio embeddings in, faces out. It knows
nothing about videos, landmarks or frames (``LipsyncPipeline`` builds on it), so tests and training
validation can drive it with plain tensors.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDIMScheduler, DiffusionPipeline
from diffusers.utils.torch_utils import randn_tensor
from einops import rearrange

from latentsync.models.deep_cache import DeepCacheUNet
from latentsync.models.unet import UNet3DConditionModel

StepCallback = Callable[[int, torch.Tensor, torch.Tensor], None]


def mask_to_latent_size(masks: torch.Tensor, vae_scale_factor: int = 8) -> torch.Tensor:
    """(B, 1, H, W) masks -> (B, 1, H / f, W / f) by nearest sampling: latent cell (i, j) takes pixel (f i, f j)."""
    height, width = masks.shape[-2:]
    return F.interpolate(masks, size=(height // vae_scale_factor, width // vae_scale_factor))


def keep_unmasked_pixels(decoded: torch.Tensor, original: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Keep the generated pixels only where the mask inpaints: decoded * (1 - mask) + original * mask.

    ``masks`` use the 1 = keep convention (the reference passes ``1 - masks`` to its helper, which
    is reproduced here including the order of operations). Computed in ``decoded``'s dtype and device.
    """
    inpaint = (1 - masks).to(decoded)
    return decoded * inpaint + original.to(decoded) * (1 - inpaint)


class LatentInpaintingPipeline(DiffusionPipeline):
    """Holds ``vae``, ``unet`` and ``scheduler``; generates ``config.num_frames`` frames per U-Net call.

    Conventions reproduced from the reference (they matter for the released checkpoints):
    one noise image per video, repeated over every frame; the U-Net input is
    ``[noisy latents, mask, masked-image latents, reference latents]``; classifier-free guidance puts the
    null (all-zero) audio first; latents are scaled by the VAE's ``scaling_factor`` (0.18215).
    """

    model_cpu_offload_seq = "unet->vae"

    def __init__(self, vae: AutoencoderKL, unet: UNet3DConditionModel, scheduler: DDIMScheduler,
                 num_frames: int = 16):
        super().__init__()
        self.register_modules(vae=vae, unet=unet, scheduler=scheduler)
        self.register_to_config(num_frames=num_frames)  # frames per U-Net call (its temporal window)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)

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
        """DDIM loop on frame windows. Tensors are ``(B, C, F, h, w)``; ``audio_embeds`` is ``(B F, tokens, dim)``.

        ``B`` windows are denoised side by side (``B = 1`` is the reference). Guidance is on when
        ``guidance_scale > 1``; then the batch is ``[null audio x B, audio x B]``.
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
    def inpaint(self, pixel_values: torch.Tensor, masked_pixel_values: torch.Tensor, mask: torch.Tensor,
                audio_embeds: torch.Tensor, num_inference_steps: int = 20, guidance_scale: float = 1.5,
                generator: torch.Generator | None = None, initial_noise: torch.Tensor | None = None,
                deep_cache_interval: int | None = None, windows_per_call: int = 1) -> torch.Tensor:
        """Generate the masked region of aligned faces.

        Args:
            pixel_values: ``(F, 3, H, W)`` aligned faces in [-1, 1] (also the reference frames).
            masked_pixel_values: ``pixel_values`` times the mask (inpaint region zeroed).
            mask: ``(F, 1, H, W)`` or ``(1, 1, H, W)``; 1 = keep, 0 = generate.
            audio_embeds: ``(F, tokens, dim)`` Whisper chunks, one per frame.
            initial_noise: the video's ``(1, C, 1, h, w)`` draw (``prepare_initial_noise``); reuse it for every
                window of a video so all frames start from identical noise, as the reference does.
            windows_per_call: up to this many consecutive full windows share one ``denoise`` call, stacked along
                the batch (fewer, larger U-Net calls: faster on a GPU with memory to spare); a shorter last
                window runs alone. Each window's result equals the one-window result within float noise.

        Returns ``(F, 3, H, W)`` faces in [-1, 1]: generated where the mask is 0, the input where it is 1.
        Frames are processed ``config.num_frames`` at a time.
        """
        num_frames, _, height, width = pixel_values.shape
        if audio_embeds.shape[0] != num_frames:
            raise ValueError(f"{num_frames} faces but {audio_embeds.shape[0]} audio embeddings; need one per frame")
        if windows_per_call < 1:
            raise ValueError(f"windows_per_call must be at least 1, got {windows_per_call}")
        if initial_noise is None:
            initial_noise = self.prepare_initial_noise(height, width, generator)
        mask = mask.expand(num_frames, -1, -1, -1)
        device, dtype = self.unet.device, self.unet.dtype
        outputs = []
        for group, window_length in self._window_groups(num_frames, windows_per_call):
            frames = pixel_values[group].to(device=device, dtype=dtype)
            group_mask = mask[group].to(device=device, dtype=dtype)
            latent_mask = rearrange(mask_to_latent_size(group_mask, self.vae_scale_factor),
                                    "(b f) c h w -> b c f h w", f=window_length)
            num_windows = latent_mask.shape[0]
            masked_latents, ref_latents = [], []
            for start in range(0, frames.shape[0], window_length):  # one window at a time: the generator's order
                window = slice(start, start + window_length)
                masked_latents.append(self.encode_images(masked_pixel_values[group][window], generator).to(dtype))
                ref_latents.append(self.encode_images(frames[window], generator).to(dtype))
            latents = initial_noise.to(device=device, dtype=dtype).repeat(num_windows, 1, window_length, 1, 1)
            latents = self.denoise(latents, latent_mask, torch.cat(masked_latents), torch.cat(ref_latents),
                                   audio_embeds[group].to(device=device, dtype=dtype),
                                   num_inference_steps, guidance_scale, generator,
                                   deep_cache_interval=deep_cache_interval)
            decoded = self.decode_latents(latents).to(dtype)
            outputs.append(keep_unmasked_pixels(decoded, frames, group_mask))
        return torch.cat(outputs)

    def _window_groups(self, num_frames: int, windows_per_call: int) -> list[tuple[slice, int]]:
        """``(frames of one denoise call, window length)``: full windows ``windows_per_call`` at a time, the rest alone."""
        window_length = self.config.num_frames
        full_frames = num_frames - num_frames % window_length
        step = window_length * windows_per_call
        groups = [(slice(start, min(start + step, full_frames)), window_length) for start in range(0, full_frames, step)]
        if full_frames < num_frames:
            groups.append((slice(full_frames, num_frames), num_frames - full_frames))
        return groups
