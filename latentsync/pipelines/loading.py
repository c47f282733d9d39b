"""Assemble a ready ``LipsyncPipeline`` from a U-Net config and one checkpoints folder (or explicit weight paths)."""

from __future__ import annotations

import logging
import os

import torch
from diffusers import AutoencoderKL, DDIMScheduler

from latentsync.config.unet_config import pipeline_settings
from latentsync.errors import CheckpointError
from latentsync.locations import CONFIGS_DIR, DEFAULT_CHECKPOINTS_DIR, DEFAULT_VAE
from latentsync.models.unet_loading import load_unet
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from latentsync.pipelines.pipeline_weights import check_pipeline_weights
from latentsync.pipelines.vae_check import PLACE_VAE_HINT, check_vae
from latentsync.utils.device import resolve_device, resolve_dtype, resolve_whisper_dtype
from latentsync.whisper import Audio2Feature

logger = logging.getLogger(__name__)


def load_scheduler() -> DDIMScheduler:
    """The DDIM scheduler of every release (``configs/scheduler_config.json``)."""
    return DDIMScheduler.from_pretrained(CONFIGS_DIR)


def load_vae(vae_model_path: str | os.PathLike, dtype: torch.dtype) -> AutoencoderKL:
    """Load the VAE (hub id or local folder) with the latent scaling the U-Net was trained with."""
    local_files_only = check_vae(vae_model_path)
    try:
        vae = AutoencoderKL.from_pretrained(str(vae_model_path), torch_dtype=dtype, local_files_only=local_files_only)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"VAE {vae_model_path} could not be loaded ({str(error).splitlines()[0]}); "
                              f"{PLACE_VAE_HINT}") from None
    vae.config.scaling_factor = 0.18215
    vae.config.shift_factor = 0
    return vae


def load_lipsync_pipeline(unet_config_path: str | os.PathLike, inference_ckpt_path: str | os.PathLike | None = None,
                          whisper_model_path: str | os.PathLike | None = None,
                          vae_model_path: str | os.PathLike = DEFAULT_VAE,
                          device: str | torch.device | None = None, dtype: str | torch.dtype | None = None,
                          audio_cache_dir: str | os.PathLike | None = None,
                          checkpoints_dir: str | os.PathLike = DEFAULT_CHECKPOINTS_DIR, face_backend: str = "auto",
                          mask_image_path: str | os.PathLike | None = None,
                          enhancers_dir: str | os.PathLike | None = None) -> LipsyncPipeline:
    """Build everything on ``device`` (auto: CUDA, MPS, CPU) in ``dtype`` (auto: fp16 on recent GPUs, else fp32).

    The U-Net YAML gives the architecture and every pipeline setting (``LipsyncPipeline.from_unet_config``).
    Weights not given explicitly are found in ``checkpoints_dir`` (``latentsync.locations.CheckpointLayout``): the
    U-Net, the Whisper model the config calls for, the landmark weights and the face restorers (``enhancers_dir``
    overrides their folder).
    """
    weights = check_pipeline_weights(unet_config_path, inference_ckpt_path, whisper_model_path, vae_model_path,
                                     checkpoints_dir)
    config = weights.config
    device = resolve_device(device if isinstance(device, (str, type(None))) else str(device))
    whisper_dtype = dtype if isinstance(dtype, torch.dtype) else resolve_whisper_dtype(dtype, device)
    dtype = dtype if isinstance(dtype, torch.dtype) else resolve_dtype(dtype, device)
    logger.info("loading models on %s in %s", device, dtype)
    window = {name: value for name, value in pipeline_settings(config).items()
              if name in ("num_frames", "audio_feat_length")}  # the Whisper windows the U-Net was trained on
    audio_encoder = Audio2Feature(weights.whisper_model_path, device=device, dtype=whisper_dtype,
                                  cache_dir=audio_cache_dir, **window)
    unet = load_unet(config, weights.inference_ckpt_path, device=device, dtype=dtype)
    vae = load_vae(vae_model_path, dtype).to(device)
    scheduler = load_scheduler()
    return LipsyncPipeline.from_unet_config(config, vae=vae, audio_encoder=audio_encoder, unet=unet,
                                            scheduler=scheduler, checkpoints_dir=checkpoints_dir,
                                            face_backend=face_backend, mask_image_path=mask_image_path,
                                            enhancers_dir=enhancers_dir)
