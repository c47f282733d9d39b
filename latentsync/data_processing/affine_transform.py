"""Stage 6: every frame aligned to the training crop -> ``affine_transformed/`` (audio kept).

Landmarks come from the project's backends and the crop from ``FaceAligner`` (the same 3-point similarity
alignment, smoothing and Lanczos resize as inference), one aligner per clip. A clip with a frame without a
face is rejected, as the original drops videos whose alignment raises "face not detected".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from latentsync.data_processing.media import FPS, SAMPLE_RATE, fit_audio, load_clip_audio
from latentsync.data_processing.records import ClipResult, kept, rejected
from latentsync.data_processing.stage import Stage, output_name
from latentsync.face.alignment import FaceAligner
from latentsync.face.landmarks import FaceLandmarkDetector, create_landmark_detector
from latentsync.face.landmarks.factory import DEFAULT_WEIGHTS_DIR
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter


@dataclass(frozen=True)
class AffineTransform(Stage):
    folder: ClassVar[str] = "affine_transformed"
    uses_gpu: ClassVar[bool] = True
    resolution: int = 256
    landmark_detector: str = "mediapipe"
    landmark_weights_dir: str = str(DEFAULT_WEIGHTS_DIR)

    def load(self, device: torch.device) -> FaceLandmarkDetector:
        return create_landmark_detector(self.landmark_detector, device, self.landmark_weights_dir)

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        detector = self.models()
        reader = VideoReader(source, fps=FPS)
        num_frames = reader.count_frames()
        aligner = FaceAligner(self.resolution)
        name = output_name(clip)
        writer = VideoWriter(output_dir / name, audio=fit_audio(load_clip_audio(source), num_frames),
                             sample_rate=SAMPLE_RATE, fps=FPS)
        try:
            for index, frame in enumerate(reader.frames()):
                face = detector.detect_frame(frame)
                if face is None:
                    writer.discard()
                    return rejected("no_face", f"no face in frame {index} of {num_frames}", frame=index)
                aligned = aligner(torch.from_numpy(frame)[None], face.points[None]).faces[0]
                writer.write(aligned.permute(1, 2, 0).cpu().numpy())
        except BaseException:
            writer.discard()
            raise
        writer.close()
        return kept(name, frames=num_frames)
