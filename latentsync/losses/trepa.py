"""TREPA: temporal representation alignment, the distance between VideoMAEv2 features of generated and real clips.

It penalises what a per-frame loss cannot see (flicker, temporal inconsistency): both clips go through a
frozen video network and the L2-normalised pooled features are compared with an MSE.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from einops import rearrange

from latentsync.locations import CheckpointLayout
from latentsync.models.videomae import VisionTransformer, load_videomae

TREPA_INPUT_SIZE = 224


class TREPALoss:
    """``loss(fake, real)`` on (B, C, F, H, W) videos in [-1, 1]; gradients flow into ``fake`` only.

    Inputs are cast to the network's dtype (half precision halves ViT-g's activation memory), and the
    normalisation and the MSE run in it too, as the original computes them.
    """

    def __init__(self, model: VisionTransformer):
        self.model = model.eval().requires_grad_(False)

    @property
    def dtype(self) -> torch.dtype:
        return self.model.fc_norm.weight.dtype

    def features(self, videos: torch.Tensor) -> torch.Tensor:
        """(B, C, F, H, W) in [-1, 1] -> (B, D) features: bicubic 224x224 per frame, mapped to [0, 1] and clamped."""
        num_frames = videos.shape[2]
        frames = rearrange(videos, "b c f h w -> (b f) c h w")
        frames = F.interpolate(frames, size=(TREPA_INPUT_SIZE, TREPA_INPUT_SIZE), mode="bicubic")
        videos = rearrange(frames, "(b f) c h w -> b c f h w", f=num_frames)
        videos = (videos / 2 + 0.5).clamp(0, 1)
        return self.model.forward_features(videos.to(self.dtype))

    def __call__(self, videos_fake: torch.Tensor, videos_real: torch.Tensor) -> torch.Tensor:
        feats_fake = F.normalize(self.features(videos_fake), p=2, dim=1)
        feats_real = F.normalize(self.features(videos_real), p=2, dim=1)
        return F.mse_loss(feats_fake, feats_real)


def load_trepa_loss(ckpt_path: str | os.PathLike = CheckpointLayout().vit_g, half_precision: bool = True,
                    gradient_checkpointing: bool = False, device: torch.device | str = "cpu",
                    model_config: dict | None = None) -> TREPALoss:
    """TREPA on the released ViT-g/14 (SSv2 fine-tuned); fp16 by default, as the original trains it.

    ``model_config`` (``VisionTransformer`` keyword arguments) selects another network size (tests).
    """
    dtype = torch.float16 if half_precision else torch.float32
    model = load_videomae(ckpt_path, model_config, gradient_checkpointing=gradient_checkpointing, device=device,
                          dtype=dtype)
    return TREPALoss(model)
