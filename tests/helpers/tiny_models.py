"""Tiny randomly initialised models for CPU tests (the real weights cannot be downloaded here)."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL
from omegaconf import OmegaConf

from latentsync.models.checkpoint_io import save_checkpoint
from latentsync.models.unet import UNet3DConditionModel
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from latentsync.pipelines.loading import load_scheduler
from tests.helpers.paths import shared_path

TINY_RESOLUTION = 64


def tiny_vae(seed: int = 0) -> AutoencoderKL:
    """A 4-level VAE (spatial factor 8, 4 latent channels) like sd-vae-ft-mse, with a few thousand weights."""
    torch.manual_seed(seed)
    return AutoencoderKL(block_out_channels=(8, 8, 8, 8), down_block_types=("DownEncoderBlock2D",) * 4,
                         up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, norm_num_groups=4,
                         layers_per_block=1).eval()


def tiny_unet_model_config(cross_attention_dim: int) -> dict:
    return dict(block_out_channels=[32, 32, 32, 32], cross_attention_dim=cross_attention_dim, layers_per_block=1,
                attention_head_dim=8, motion_module_kwargs=dict(num_attention_heads=8,
                                                                attention_block_types=["Temporal_Self"] * 2))


def write_random_whisper(path: Path, seed: int = 0) -> Path:
    """An openai-whisper checkpoint with 64-dim audio features (the fake of ``../shared/parity/audio``'s sizes),
    random: for runs that need a Whisper of that width but not the reference values."""
    import whisper

    dims = whisper.model.ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=4,
                                         n_audio_layer=4, n_vocab=64, n_text_ctx=16, n_text_state=16, n_text_head=2,
                                         n_text_layer=1)
    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"dims": vars(dims), "model_state_dict": whisper.model.Whisper(dims).state_dict()}, path)
    return path


def write_tiny_release(directory: Path, seed: int = 0, whisper_model_path: Path | None = None) -> dict[str, Path]:
    """Files shaped like a release (U-Net config + ``latentsync_unet.pt``, Whisper, VAE folder), tiny and random.

    The Whisper is ``whisper_model_path`` (64-dim features) or else the fake checkpoint of
    ``../shared/parity/audio``; skips without either.
    """
    whisper_path = whisper_model_path or shared_path("parity", "audio", "whisper_tiny_fake.pt")
    directory.mkdir(parents=True, exist_ok=True)
    model = tiny_unet_model_config(cross_attention_dim=64)
    config_path = directory / "tiny_unet.yaml"
    OmegaConf.save({"data": {"resolution": TINY_RESOLUTION, "num_frames": 16}, "model": model}, config_path)
    torch.manual_seed(seed)
    unet = UNet3DConditionModel(**model)
    with torch.no_grad():  # random everywhere, including the zero-initialised layers
        for p in unet.parameters():
            p.normal_(0, 0.02)
    ckpt_path = directory / "latentsync_unet.pt"
    save_checkpoint(ckpt_path, unet.state_dict(), global_step=0)
    vae_path = directory / "vae"
    tiny_vae(seed).save_pretrained(vae_path)
    return dict(unet_config_path=config_path, inference_ckpt_path=ckpt_path, whisper_model_path=whisper_path,
                vae_model_path=vae_path)


# openai-whisper's tiny encoder; the decoder, never used here, is shrunk so the file stays small.
WHISPER_TINY_ENCODER = dict(n_mels=80, n_audio_ctx=1500, n_audio_state=384, n_audio_head=6, n_audio_layer=4)


def write_random_whisper_tiny(path: Path, seed: int = 0) -> Path:
    """A Whisper checkpoint with tiny's encoder architecture and random weights, in openai-whisper's format."""
    import whisper

    dims = whisper.model.ModelDimensions(n_vocab=64, n_text_ctx=16, n_text_state=16, n_text_head=2, n_text_layer=1,
                                         **WHISPER_TINY_ENCODER)
    torch.manual_seed(seed)
    model = whisper.model.Whisper(dims)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"dims": vars(dims), "model_state_dict": model.half().state_dict()}, path)
    return path


def tiny_pipeline(**settings) -> LipsyncPipeline:
    """A ``LipsyncPipeline`` of tiny random modules at 64 px, no Whisper (for what needs no audio features)."""
    torch.manual_seed(0)
    unet = UNet3DConditionModel(**tiny_unet_model_config(cross_attention_dim=64)).eval()
    return LipsyncPipeline(vae=tiny_vae(), audio_encoder=None, unet=unet, scheduler=load_scheduler(),
                           resolution=TINY_RESOLUTION, **settings)
