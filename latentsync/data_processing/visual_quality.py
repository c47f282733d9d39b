"""Stage 9: keep visually good clips -> ``high_visual_quality/``.

HyperIQA scores the first, middle and last frame (centre crop 224, ImageNet normalisation) and the clip is
kept, copied unchanged, when the mean score is at least the threshold (40 with the KonIQ weights, as the
original).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch

from latentsync.data_processing.media import FPS, copy_file
from latentsync.data_processing.records import ClipResult, kept, rejected
from latentsync.data_processing.stage import Stage, output_name
from latentsync.io.video_reader import VideoReader
from latentsync.locations import CheckpointLayout

if TYPE_CHECKING:  # the model loads in the workers, not when the run is checked
    from latentsync.models.hyperiqa import HyperIQA


@dataclass(frozen=True)
class VisualQualityFilter(Stage):
    folder: ClassVar[str] = "high_visual_quality"
    uses_gpu: ClassVar[bool] = True
    threshold: float = 40.0
    hyperiqa_weights: str = str(CheckpointLayout().hyperiqa)

    def load(self, device: torch.device) -> HyperIQA:
        from latentsync.models.hyperiqa import HyperIQA

        return HyperIQA.from_checkpoint(self.hyperiqa_weights, device)

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        reader = VideoReader(source, fps=FPS)
        hyperiqa = self.models()
        frames = np.stack(list(reader.iter_frames(hyperiqa.frame_indices(reader.count_frames()))))
        score = round(hyperiqa.score_frames(frames), 4)
        if score < self.threshold:
            return rejected("low_visual_quality", f"quality {score:.2f} < {self.threshold:g}", quality=score)
        name = output_name(clip)
        copy_file(source, output_dir / name)
        return kept(name, quality=score)
