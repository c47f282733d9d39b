"""Stage 7 (optional, off by default): drop aligned clips where alignment went wrong.

After alignment every frame should show exactly one face (the one it was aligned to); a second face or none
means the landmarks locked onto something else. S3FD counts the faces of every aligned frame; kept clips are
copied unchanged, so the stage keeps the folder of the previous one and writes under its own name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from latentsync.data_processing.media import FPS, copy_file
from latentsync.data_processing.records import ClipResult, kept, rejected
from latentsync.data_processing.stage import Stage, output_name
from latentsync.io.video_reader import VideoReader
from latentsync.models.s3fd import DEFAULT_S3FD_PATH, S3FD


@dataclass(frozen=True)
class AlignmentCheck(Stage):
    folder: ClassVar[str] = "correctly_aligned"
    uses_gpu: ClassVar[bool] = True
    s3fd_weights: str = str(DEFAULT_S3FD_PATH)
    conf_th: float = 0.9

    def check(self) -> None:
        S3FD.check_weights(self.s3fd_weights)

    def load(self, device: torch.device) -> S3FD:
        return S3FD.from_checkpoint(self.s3fd_weights, device)

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        detector = self.models()
        for index, frame in enumerate(VideoReader(source, fps=FPS).frames()):
            faces = len(detector.detect_faces(frame, conf_th=self.conf_th, scales=(1.0,)))
            if faces != 1:
                return rejected("not_one_face", f"aligned frame {index} shows {faces} faces", frame=index,
                                faces=faces)
        name = output_name(clip)
        copy_file(source, output_dir / name)
        return kept(name)
