"""Where the new audio is silent, so the source mouth can stay still there (``--silence keep``).

Lip-sync models keep the lips moving through pauses and after speech ends. With ``keep``, every run of audio
frames quieter than ``threshold_db`` (RMS over the frame's samples, in dB relative to full scale 1.0) that lasts at
least ``min_seconds`` shows the source frames instead, cross-faded over ``fade_frames`` frames inside the run at
each edge next to speech, so the mouth neither jumps shut nor open.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from latentsync.utils.loudness import frame_loudness_db

logger = logging.getLogger(__name__)

SILENCE_MODES = ("generate", "keep")
DEFAULT_SILENCE_DB = -45.0
DEFAULT_SILENCE_MIN_SECONDS = 0.4
FADE_FRAMES = 3


def silent_runs(silent: np.ndarray, min_frames: int) -> list[range]:
    """The runs of consecutive True values at least ``min_frames`` long."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], silent.astype(np.int8), [0]])))
    return [range(start, stop) for start, stop in zip(edges[::2], edges[1::2]) if stop - start >= min_frames]


def silence_weights(waveform: np.ndarray, num_frames: int, fps: float, sample_rate: int,
                    threshold_db: float = DEFAULT_SILENCE_DB, min_seconds: float = DEFAULT_SILENCE_MIN_SECONDS,
                    fade_frames: int = FADE_FRAMES) -> np.ndarray:
    """Generate weight of each of ``num_frames`` audio frames: 0 inside a long enough silence, 1 elsewhere, and
    ``1 - d / (fade_frames + 1)`` on the ``d``-th frame of a silence next to speech (the audio's start and end are
    no such edge). Logs the seconds kept."""
    silent = frame_loudness_db(waveform, num_frames, fps, sample_rate) < threshold_db
    runs = silent_runs(silent, max(1, math.ceil(min_seconds * fps - 1e-9)))
    weights = np.ones(num_frames, np.float32)
    for run in runs:
        offsets = np.arange(len(run), dtype=np.float64)
        from_start = offsets if run.start > 0 else np.full(len(run), np.inf)
        from_stop = offsets[::-1] if run.stop < num_frames else np.full(len(run), np.inf)
        fade = np.maximum(1 - (np.minimum(from_start, from_stop) + 1) / (fade_frames + 1), 0.0)
        weights[run.start:run.stop] = fade
    kept = int((weights == 0).sum())
    logger.info("silence: the source passes through in %d stretch(es) of silence, %.2f s kept (%d frames), "
                "with %d-frame cross-fades", len(runs), kept / fps, kept, fade_frames)
    return weights
