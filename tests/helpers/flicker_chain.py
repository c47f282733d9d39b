"""The data-processing chain of the end-to-end test, with a sync measure that reads a code the clips carry.

Offset finding is tested elsewhere, so here each clip carries its own sync code (frame brightness and audio
loudness follow the same random per-frame pattern) and ``FlickerSyncMeasure`` reads it back: the offsets are
exact and checkable. ``run_chain`` is the entry point of the subprocess that a test kills mid-run; Ray's workers
import this module (by name, from the checkout) to unpickle the stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentsync.data_processing.affine_transform import AffineTransform
from latentsync.data_processing.av_sync import AudioVisualSync, SyncMeasurement
from latentsync.data_processing.broken_videos import BrokenVideoFilter
from latentsync.data_processing.driver import run_pipeline
from latentsync.data_processing.resample import Resample
from latentsync.data_processing.segments import Segmenter
from latentsync.data_processing.shots import ShotSplitter
from latentsync.data_processing.visual_quality import VisualQualityFilter
from latentsync.errors import InputError
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader

SAMPLES_PER_FRAME = 640


@dataclass(frozen=True)
class FlickerSyncMeasure:
    """Offset = the lag that best matches per-frame brightness to per-frame audio loudness (SyncNet's sign:
    video frame i matches audio frame i - offset); confidence = 10 x that correlation."""

    max_lag: int = 12
    min_frames: int = 25

    def load(self, device: torch.device) -> None:
        return None

    def measure(self, models: None, path: Path) -> SyncMeasurement:
        brightness = np.array([frame.mean() for frame in VideoReader(path).frames()])
        audio = load_audio(path)
        num_frames = min(len(brightness), len(audio) // SAMPLES_PER_FRAME)
        if num_frames < self.min_frames:
            raise InputError(f"{path.name} has {num_frames} frames; the flicker measure needs {self.min_frames}")
        loudness = np.sqrt(np.square(audio[: num_frames * SAMPLES_PER_FRAME].reshape(num_frames, -1)).mean(1))
        video, sound = _changes(brightness[:num_frames]), _changes(loudness)
        correlations = {}
        for offset in range(-self.max_lag, self.max_lag + 1):
            frames = np.arange(max(0, offset), min(num_frames, num_frames + offset))
            correlations[offset] = float(np.mean(video[frames] * sound[frames - offset]))
        best = max(correlations, key=correlations.get)
        return SyncMeasurement(best, 10 * correlations[best])


def _changes(values: np.ndarray) -> np.ndarray:
    """Frame-to-frame changes, standardised: the flicker stands out of the slow drift of a moving face."""
    changes = np.diff(values, prepend=values[0])
    return (changes - changes.mean()) / (changes.std() + 1e-9)


def chain(weights: Path) -> list:
    """The pipeline's stages with the test's settings: 2-s segments (short clips), the flicker sync measure,
    a quality threshold every random-weight score passes."""
    return [BrokenVideoFilter(), Resample(), ShotSplitter(), Segmenter(seconds=2), AffineTransform(256, "mediapipe"),
            AudioVisualSync(3.0, sync_measure=FlickerSyncMeasure()),
            VisualQualityFilter(-1e6, str(weights))]


def run_chain(raw: str, output_root: str, weights: str) -> int:
    """Entry point of the subprocess that the kill-and-restart test interrupts."""
    torch.set_num_threads(1)
    return run_pipeline(raw, chain(Path(weights)), output_root, progress=False).clips_processed
