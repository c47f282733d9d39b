"""Stage 7 (optional, off by default): drop aligned clips where alignment went wrong.

After alignment every frame should show exactly one face (the one it was aligned to); a second face or none
means the landmarks locked onto something else. As in the original, mediapipe face detection (confidence 0.5)
counts the faces of every aligned frame; kept clips are copied unchanged.
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
class AlignmentCheck(MediapipeFaceStage):
    folder: ClassVar[str] = "correctly_aligned"

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        detector = self.models()
        num_frames = 0
        for index, frame in enumerate(VideoReader(source, fps=FPS).frames()):
            faces = len(detector.detect_all(frame))
            if faces != 1:
                return rejected("not_one_face", f"aligned frame {index} shows {faces} faces", frame=index,
                                faces=faces)
            num_frames += 1
        if not num_frames:
            return rejected("no_frames", "the clip has no video frame")
        name = output_name(clip)
        copy_file(source, output_dir / name)
        return kept(name)
