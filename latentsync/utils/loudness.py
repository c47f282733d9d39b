"""How loud the audio under each video frame is: what silence detection and the active-speaker choice read."""

from __future__ import annotations

import numpy as np


def frame_loudness_db(waveform: np.ndarray, num_frames: int, fps: float, sample_rate: int) -> np.ndarray:
    """RMS level in dBFS of each video frame's audio samples ``[k sr / fps, (k + 1) sr / fps)``; -inf past the end."""
    bounds = np.minimum(np.floor(np.arange(num_frames + 1) * sample_rate / fps).astype(np.int64), len(waveform))
    energy = np.concatenate([[0.0], np.cumsum(np.square(waveform, dtype=np.float64))])
    counts = np.diff(bounds)
    mean_square = (energy[bounds[1:]] - energy[bounds[:-1]]) / np.maximum(counts, 1)
    with np.errstate(divide="ignore"):
        return np.where(counts > 0, 10 * np.log10(np.maximum(mean_square, 0.0)), -np.inf)
