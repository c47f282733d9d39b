"""Stage 5 (optional, off by default as in the original): keep clips whose one face is large enough everywhere.

As the original's filter: mediapipe face detection (confidence 0.5) must find exactly one face in every frame,
and that face's box (truncated to whole pixels) must be at least the target resolution wide and high, so the
aligned crop is never upscaled. Kept clips are copied to ``high_resolution/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from latentsync.data_processing.media import FPS, copy_file
from latentsync.data_processing.mediapipe_stage import MediapipeFaceStage
from latentsync.data_processing.records import ClipResult, kept, rejected
from latentsync.data_processing.stage import output_name
from latentsync.io.video_reader import VideoReader


@dataclass(frozen=True)
class HighResolutionFilter(MediapipeFaceStage):
    folder: ClassVar[str] = "high_resolution"
    resolution: int = 256

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        detector = self.models()
        smallest = None
        for index, frame in enumerate(VideoReader(source, fps=FPS).frames()):
            boxes = detector.detect_all(frame)
            if len(boxes) != 1:
                return rejected("not_one_face", f"frame {index} shows {len(boxes)} faces", frame=index,
                                faces=len(boxes))
            height, width = frame.shape[:2]
            size = min(int(boxes[0][2] * width), int(boxes[0][3] * height))
            smallest = size if smallest is None else min(smallest, size)
            if size < self.resolution:
                return rejected("face_too_small", f"face of {size} px in frame {index} is smaller than "
                                f"{self.resolution} px", frame=index, face_size=size)
        if smallest is None:
            return rejected("no_frames", "the clip has no video frame")
        name = output_name(clip)
        copy_file(source, output_dir / name)
        return kept(name, face_size=smallest)
