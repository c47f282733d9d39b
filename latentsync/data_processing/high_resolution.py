"""Stage 5 (optional, off by default as in the original): keep clips whose one face is large enough everywhere.

A clip is kept when S3FD finds exactly one face in every frame and that face's box is at least the target
resolution wide and high, so the aligned crop is never upscaled. Kept clips are copied to ``high_resolution/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from latentsync.data_processing.media import FPS, copy_file
from latentsync.data_processing.records import ClipResult, kept, rejected
from latentsync.data_processing.s3fd_stage import S3FDStage
from latentsync.data_processing.stage import output_name
from latentsync.io.video_reader import VideoReader


@dataclass(frozen=True)
class HighResolutionFilter(S3FDStage):
    folder: ClassVar[str] = "high_resolution"
    resolution: int = 256

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        detector = self.models()
        smallest = float("inf")
        for index, frame in enumerate(VideoReader(source, fps=FPS).frames()):
            boxes = detector.detect_faces(frame, conf_th=self.conf_th, scales=(1.0,))
            if len(boxes) != 1:
                return rejected("not_one_face", f"frame {index} shows {len(boxes)} faces", frame=index,
                                faces=len(boxes))
            x1, y1, x2, y2 = boxes[0, :4]
            smallest = min(smallest, x2 - x1, y2 - y1)
            if smallest < self.resolution:
                return rejected("face_too_small", f"face of {smallest:.0f} px in frame {index} is smaller than "
                                f"{self.resolution} px", frame=index, face_size=round(float(smallest), 1))
        name = output_name(clip)
        copy_file(source, output_dir / name)
        return kept(name, face_size=round(float(smallest), 1))
