"""Stage 6: every frame aligned to the training crop -> ``affine_transformed/`` (audio kept).

Landmarks come from the backend of the release the data is for (``auto``: InsightFace for 512 px / 1.6,
face-alignment for 256 px / 1.5, as inference), or the one named; the crop from ``FaceAligner`` (the same
3-point similarity alignment, smoothing and Lanczos resize as inference), one aligner per clip. A clip with a
frame without a face is rejected, as the original drops videos whose alignment raises "face not detected".

``encoding``: ``standard`` encodes the aligned frames once (H.264 CRF 18, with the audio); ``original``
reproduces the original's two encodes: the frames at CRF 13, then that video joined with the audio re-encoded
at libx264's defaults (CRF 23).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from latentsync.data_processing.media import FPS, SAMPLE_RATE, fit_audio, load_clip_audio
from latentsync.data_processing.records import KEPT, ClipResult, kept, rejected
from latentsync.data_processing.stage import Stage, output_name
from latentsync.errors import InputError
from latentsync.face.alignment import FaceAligner
from latentsync.face.warp import ALIGN_DTYPES
from latentsync.face.landmarks import FaceLandmarkDetector, create_landmark_detector
from latentsync.face.landmarks.factory import DEFAULT_WEIGHTS_DIR
from latentsync.face.landmarks.selection import RELEASE_BACKENDS, release_for_resolution, require_release_backend
from latentsync.io.encodings import EncoderSettings
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter

# The original's aligned clips: frames written at CRF 13, then re-encoded with the audio at libx264's defaults.
ORIGINAL_ENCODES = (EncoderSettings(crf=13, preset="medium"), EncoderSettings(crf=23, preset="medium"))
ALIGNED_ENCODINGS = ("standard", "original")


@dataclass(frozen=True)
class AffineTransform(Stage):
    folder: ClassVar[str] = "affine_transformed"
    uses_gpu: ClassVar[bool] = True
    resolution: int = 256
    landmark_detector: str = "auto"
    landmark_weights_dir: str = str(DEFAULT_WEIGHTS_DIR)
    encoding: str = "standard"
    align_dtype: str = "float32"  # float16: the original's crops (its aligner is float16 on the GPU)

    @property
    def backend(self) -> str:
        """The landmark backend used: the named one, or for ``auto`` the release's (``release_for_resolution``)."""
        if self.landmark_detector != "auto":
            return self.landmark_detector
        return RELEASE_BACKENDS[release_for_resolution(self.resolution)]

    def check(self) -> None:
        """Build the backend once on the CPU: a missing package or weight file is reported before any work."""
        if self.encoding not in ALIGNED_ENCODINGS:
            raise InputError(f"unknown encoding {self.encoding!r}; choose one of {', '.join(ALIGNED_ENCODINGS)}")
        if self.landmark_detector == "auto":
            require_release_backend(release_for_resolution(self.resolution), self.landmark_weights_dir)
        super().check()

    def load(self, device: torch.device) -> FaceLandmarkDetector:
        return create_landmark_detector(self.backend, device, self.landmark_weights_dir)

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        reader = VideoReader(source, fps=FPS)
        num_frames = reader.count_frames()
        name = output_name(clip)
        audio = fit_audio(load_clip_audio(source), num_frames)
        if self.encoding == "standard":
            writer = VideoWriter(output_dir / name, audio=audio, sample_rate=SAMPLE_RATE, fps=FPS)
            return self._align_into(writer, reader, num_frames, name)
        first, second = ORIGINAL_ENCODES
        with tempfile.TemporaryDirectory() as staging:
            writer = VideoWriter(Path(staging) / "aligned.mp4", fps=FPS, crf=first.crf, preset=first.preset)
            result = self._align_into(writer, reader, num_frames, name)
            if result.decision == KEPT:
                with VideoWriter(output_dir / name, audio=audio, sample_rate=SAMPLE_RATE, fps=FPS, crf=second.crf,
                                 preset=second.preset) as final:
                    for frame in VideoReader(writer.path, fps=FPS).frames():
                        final.write(frame)
        return result

    def _align_into(self, writer: VideoWriter, reader: VideoReader, num_frames: int, name: str) -> ClipResult:
        """Every aligned frame into ``writer``, closed when all have a face; else discarded and the clip rejected."""
        detector = self.models()
        aligner = FaceAligner(self.resolution)
        try:
            for index, frame in enumerate(reader.frames()):
                face = detector.detect_frame(frame)
                if face is None:
                    writer.discard()
                    return rejected("no_face", f"no face in frame {index} of {num_frames}", frame=index)
                dtype = ALIGN_DTYPES[self.align_dtype]
                aligned = aligner(torch.from_numpy(frame)[None], face.points[None], dtype).faces[0]
                writer.write(aligned.permute(1, 2, 0).cpu().numpy())
        except BaseException:
            writer.discard()
            raise
        writer.close()
        return kept(name, frames=num_frames)
