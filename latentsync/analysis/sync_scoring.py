"""Offset search and confidence of the classic SyncNet evaluation (what LSE-D and LSE-C are).

For every video window and every audio shift in [-vshift, vshift] the Euclidean distance between the
lip and audio embeddings is averaged over the clip. The best shift gives the AV offset and its mean
distance (LSE-D); how far that minimum sits below the median over all shifts is the confidence (LSE-C).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class SyncScore:
    """Result of scoring one clip: ``av_offset`` in frames, ``min_dist`` (LSE-D), ``confidence`` (LSE-C)."""

    av_offset: int
    min_dist: float
    confidence: float
    mean_dists: torch.Tensor  # (2 * vshift + 1,) mean distance per candidate shift, index = vshift - offset


def offset_distances(video_feats: torch.Tensor, audio_feats: torch.Tensor, vshift: int = 15) -> torch.Tensor:
    """(N, 2*vshift+1) distances ``|video[i] - audio[i + j - vshift] + 1e-6|``, zero audio outside the clip.

    The zero rows take part in the distances, as in the original; with unrelated embeddings they are
    closer than any real audio, which pushes the arg-min to an extreme shift.
    """
    window = 2 * vshift + 1
    padded_audio = F.pad(audio_feats, (0, 0, vshift, vshift))
    shifted_audio = padded_audio.unfold(0, window, 1)[: len(video_feats)].transpose(1, 2)  # (N, window, dim)
    return F.pairwise_distance(video_feats[:, None, :].expand_as(shifted_audio), shifted_audio)


def score_sync(video_feats: torch.Tensor, audio_feats: torch.Tensor, vshift: int = 15) -> SyncScore:
    """Pick the shift with the smallest mean distance (first on ties); confidence = median - min."""
    # Reduce along a contiguous (shift, window) layout, as the original does, for the same float sums.
    mean_dists = offset_distances(video_feats, audio_feats, vshift).T.contiguous().mean(1)
    min_dist, min_index = torch.min(mean_dists, 0)
    return SyncScore(
        av_offset=vshift - int(min_index),
        min_dist=float(min_dist),
        confidence=float(torch.median(mean_dists) - min_dist),
        mean_dists=mean_dists,
    )
