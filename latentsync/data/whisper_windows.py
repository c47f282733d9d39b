"""The Whisper conditioning of a U-Net batch: per clip features (cached on disk) cut to the sampled frames."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from latentsync.whisper.audio2feature import Audio2Feature


def whisper_windows(audio_encoder: Audio2Feature, video_paths: Sequence[str],
                    start_indices: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """(B, num_frames, window * layers, dim) float32: the windows of frames ``start .. start + num_frames - 1``.

    Same chunking as inference (``crop_overlap_audio_window``). Build the encoder with
    ``cache_dir=data.audio_embeds_cache_dir`` so each clip's features are computed once.
    """
    windows = [
        audio_encoder.crop_overlap_audio_window(audio_encoder.audio2feat(path), int(start))
        for path, start in zip(video_paths, start_indices)
    ]
    return torch.stack(windows)
