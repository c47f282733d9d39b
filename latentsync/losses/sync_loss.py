"""The SyncNet objective: binary cross-entropy on the cosine similarity of audio and visual embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cosine_loss(vision_embeds: torch.Tensor, audio_embeds: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample BCE of ``cos(vision, audio)`` against labels ``y`` (B, 1): 1 = in sync, 0 = off sync.

    The similarity is a valid probability only because SyncNet embeddings are non-negative. Returns (B,)
    (a scalar when B == 1, as the original squeezes); callers average it. Pass float32 embeddings: the
    BCE is not autocast-safe.
    """
    sims = F.cosine_similarity(vision_embeds, audio_embeds)
    return F.binary_cross_entropy(sims.unsqueeze(1), y, reduction="none").squeeze()
