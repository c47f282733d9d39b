"""Extra Whisper windows across the 30 s boundaries, so the features have no seam there (``--audio_context overlap``).

Whisper encodes 30 s at a time and the original cuts the audio into back-to-back windows, so at 30 s, 60 s, ...
the last frame of one window (attending only to what came before, at the last position) is followed by the first
of the next (attending only to what follows, at position 0): the features jump and the lips glitch there. With
``overlap`` one more 30 s window is encoded centred on each boundary; encoder frames within ``SEAM_CORE_FRAMES`` of
the boundary come from it, the next ``SEAM_FADE_FRAMES`` cross-fade linearly back to the back-to-back windows'.
So every feature is at least 5 s from the edge of any window it comes from (the audio's start and end aside), and
the features further than 10 s from a boundary are the back-to-back windows', bit for bit.
"""

from __future__ import annotations

import torch
from whisper.audio import N_FRAMES

SEAM_CORE_FRAMES = 250  # encoder frames (5 s at 50 Hz) on each side of a boundary taken wholly from its window
SEAM_FADE_FRAMES = 250  # the following encoder frames that cross-fade back


def seam_windows(num_mel_frames: int) -> list[tuple[int, int]]:
    """``(start, end)`` log-mel ranges of the 30 s windows centred on each boundary between back-to-back windows
    (``end`` is cut at the audio's end; the encoder then sees the rest zero-padded, as for the last window)."""
    half = N_FRAMES // 2
    return [(boundary - half, min(boundary + half, num_mel_frames))
            for boundary in range(N_FRAMES, num_mel_frames, N_FRAMES)]


def seam_weights() -> torch.Tensor:
    """Share ``(N_FRAMES // 2,)`` of a seam window's features in each of its encoder frames (float32, 1 in the middle,
    0 towards both edges)."""
    middle = N_FRAMES // 4  # the boundary, in encoder frames of a seam window: between frames middle - 1 and middle
    frames = torch.arange(N_FRAMES // 2)
    distance = torch.where(frames >= middle, frames - middle, middle - 1 - frames)
    return ((SEAM_CORE_FRAMES + SEAM_FADE_FRAMES - distance) / SEAM_FADE_FRAMES).clamp(0, 1).float()


def blend_seam(features: torch.Tensor, seam: torch.Tensor, mel_start: int) -> None:
    """Cross-fade the encoder frames ``seam`` of the window starting at log-mel frame ``mel_start`` into
    ``features`` (in place, ``(T, layers, dim)``); frames of weight 0 keep their values exactly."""
    first = mel_start // 2
    weights = seam_weights()[:len(seam), None, None]
    part = features[first:first + len(seam)]
    part.copy_(torch.lerp(part, seam, weights))


def jump_ratios(features: torch.Tensor) -> torch.Tensor:
    """How big the seams are, to compare the contexts on one's own audio (``benchmarks/bench_audio_seams.py``).

    ``(T - 1,)``: the change from each encoder frame to the next (L2 over layers and channels) over the median
    change; entry ``b - 1`` is the jump across a boundary at frame ``b`` (30 s: 1500).
    """
    jumps = (features[1:] - features[:-1]).flatten(1).norm(dim=1)
    return jumps / jumps.median()
