"""StableSyncNet: the audio-visual sync expert that supervises LatentSync's U-Net (the SyncNet loss).

Two ``DownEncoder2D`` towers map a stack of frames (pixels or VAE latents) and the matching mel window
to unit-length, non-negative embeddings; their cosine similarity is the probability of being in sync.
The architecture comes entirely from the ``model`` section of ``configs/syncnet/*.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from einops import rearrange
from omegaconf import DictConfig, OmegaConf
from torch import nn

from latentsync.locations import AUXILIARY_SETUP_HINT
from latentsync.models.checkpoint_io import load_state_dict_strict, read_checkpoint
from latentsync.models.syncnet_blocks import DownEncoder2D, unit_embeddings


class StableSyncNet(nn.Module):
    """``forward(image_sequences, audio_sequences) -> (vision_embeds, audio_embeds)``, both (B, C) unit vectors.

    ``config`` is the ``model`` section: ``audio_encoder`` and ``visual_encoder``, each with ``in_channels``,
    ``block_out_channels``, ``downsample_factors``, ``attn_blocks`` and ``dropout``. The net is always in
    eval mode after construction: it is a frozen expert except while it is being trained itself.
    """

    def __init__(self, config: Mapping[str, Any], gradient_checkpointing: bool = False):
        super().__init__()
        config = _to_plain(config)
        self.audio_encoder = DownEncoder2D(**config["audio_encoder"], gradient_checkpointing=gradient_checkpointing)
        self.visual_encoder = DownEncoder2D(**config["visual_encoder"], gradient_checkpointing=gradient_checkpointing)
        self.eval()

    def forward(self, image_sequences: torch.Tensor,
                audio_sequences: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        vision_embeds = unit_embeddings(self.visual_encoder(image_sequences))
        audio_embeds = unit_embeddings(self.audio_encoder(audio_sequences))
        return vision_embeds, audio_embeds


def image_sequences_from_frames(frames: torch.Tensor, lower_half: bool) -> torch.Tensor:
    """(B, F, C, H, W) frames -> (B, F*C, H', W') SyncNet input, channel = C*frame + c, lower half if asked.

    The pixel SyncNets only see the mouth region: ``lower_half`` keeps rows H//2..H-1.
    """
    image_sequences = rearrange(frames, "b f c h w -> b (f c) h w")
    if lower_half:
        image_sequences = image_sequences[:, :, image_sequences.shape[2] // 2 :, :]
    return image_sequences


def load_stable_syncnet(config: DictConfig | str | Path, ckpt_path: str | Path | None = None,
                        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                        gradient_checkpointing: bool = False) -> StableSyncNet:
    """Build the net of a full SyncNet config and load its checkpoint strictly, frozen and in eval mode.

    ``ckpt_path`` defaults to the config's ``ckpt.inference_ckpt_path``. The training script saves
    ``{"state_dict": ..., "global_step": ..., <loss curves>}``; only ``state_dict`` is used.
    """
    if not isinstance(config, DictConfig):
        config = OmegaConf.load(config)
    ckpt_path = Path(ckpt_path or config.ckpt.inference_ckpt_path)
    state_dict, _ = read_checkpoint(ckpt_path, setup_hint=AUXILIARY_SETUP_HINT)  # before building a large net
    syncnet = StableSyncNet(config.model, gradient_checkpointing=gradient_checkpointing)
    load_state_dict_strict(syncnet, state_dict, str(ckpt_path),
                           hint="Check that the SyncNet config's model section matches the checkpoint.")
    return syncnet.to(device=device, dtype=dtype).requires_grad_(False).eval()


def _to_plain(config: Mapping[str, Any]) -> dict[str, Any]:
    return OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else dict(config)
