"""``LipsyncReport``: what one lip-sync call made, as plain data (a batch's driver, the demo and a Ray task's caller
read it without loading the model code)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class LipsyncReport:
    """What one ``pipe(...)`` call made: where (``output_path``, or ``frames`` in memory) and how."""

    output_path: Path | None
    num_output_frames: int
    num_video_frames: int
    frames_without_face: int  # planned for lip sync, but no face was found: passed through unchanged
    seconds: float
    seed: int  # the noise seed used (a drawn one when -1 was asked for)
    frames_passed_through: int = 0  # output frames the frame plan showed unchanged (silence kept, audio ended)
    frames_generated: int = 0  # output frames lip-synced outright
    frames_cross_faded: int = 0  # output frames blending a lip-synced frame over the source (silence edges)
    sync_mode: str = "bounce"
    speaker: str = "largest"  # the face choice, with the tracks it chose
    frames: np.ndarray | None = None  # (M, H, W, 3) uint8 RGB, when no output path was given
    audio: np.ndarray | None = None  # the output's soundtrack, mono float32 at ``sample_rate``: as long as the frames
    sample_rate: int = 16000

    def summary(self) -> str:
        """One line for the log: the frame counts, the sync mode and the speaker."""
        return (f"{self.num_output_frames} output frames (sync mode {self.sync_mode}, speaker {self.speaker}): "
                f"{self.frames_generated} lip-synced, {self.frames_cross_faded} cross-faded, "
                f"{self.frames_passed_through} passed through, {self.frames_without_face} without a face")
