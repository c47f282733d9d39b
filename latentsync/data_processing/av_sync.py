"""Stage 8: keep clips whose audio is in sync, correcting small offsets -> ``av_synced_{threshold}/``.

The offset and confidence are the standard sync-confidence protocol: S3FD face tracks, SyncNet-v2 crops and
the offset search over +-15 frames (``VideoSyncScorer``). A clip is kept when the confidence reaches the
threshold (3 in the original) and the offset is at most 6 frames; a non-zero offset is corrected by shifting
the audio by ``offset / 25`` s (the video stream is copied, the audio keeps its length, gaps are silent).

With SyncNet's convention, video frame ``i`` matches audio frame ``i - offset``: a positive offset means the
audio runs early, so it is delayed by ``offset`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import torch

from latentsync.data_processing.media import copy_file, load_clip_audio, remux_with_audio, shift_audio
from latentsync.data_processing.records import ClipResult, kept, rejected
from latentsync.data_processing.stage import Stage, output_name
from latentsync.errors import InputError
from latentsync.locations import CheckpointLayout

if TYPE_CHECKING:  # the models load in the workers, not when the run is checked
    from latentsync.evaluation.video_sync import VideoSyncScorer


@dataclass(frozen=True)
class SyncMeasurement:
    offset: int  # frames; video frame i matches audio frame i - offset
    confidence: float


class SyncMeasure(Protocol):
    """How a clip's offset and confidence are measured: models built once per worker, then one call per clip."""

    def load(self, device: torch.device) -> Any: ...

    def measure(self, models: Any, path: Path) -> SyncMeasurement: ...


@dataclass(frozen=True)
class SyncNetMeasure:
    """SyncNet-v2 on S3FD face tracks (conf 0.9 at scale 0.25, tracks over 50 frames, faces over 100 px)."""

    syncnet_weights: str = str(CheckpointLayout().syncnet_v2)
    s3fd_weights: str = str(CheckpointLayout().s3fd)
    min_track: int = 50
    min_face_size: float = 100
    batch_size: int = 20

    def load(self, device: torch.device) -> VideoSyncScorer:
        from latentsync.analysis.syncnet_eval import SyncNetEval
        from latentsync.analysis.syncnet_v2 import load_syncnet_v2
        from latentsync.evaluation.video_sync import VideoSyncScorer, s3fd_box_detector
        from latentsync.models.s3fd import S3FD

        syncnet = SyncNetEval(load_syncnet_v2(self.syncnet_weights, device), device, batch_size=self.batch_size)
        detector = S3FD.from_checkpoint(self.s3fd_weights, device)
        return VideoSyncScorer(syncnet, s3fd_box_detector(detector), self.min_track, self.min_face_size)

    def measure(self, models: VideoSyncScorer, path: Path) -> SyncMeasurement:
        score = models(path)
        return SyncMeasurement(score.av_offset, score.confidence)


@dataclass(frozen=True)
class AudioVisualSync(Stage):
    uses_gpu: ClassVar[bool] = True
    conf_threshold: float = 3.0
    max_offset: int = 6
    sync_measure: SyncMeasure = field(default_factory=SyncNetMeasure)

    @property
    def folder(self) -> str:
        return f"av_synced_{self.conf_threshold:g}"

    def load(self, device: torch.device) -> Any:
        return self.sync_measure.load(device)

    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        try:
            measured = self.sync_measure.measure(self.models(), source)
        except InputError as error:
            return rejected("no_face_track", str(error))
        measures = {"offset": measured.offset, "confidence": round(measured.confidence, 4)}
        if measured.confidence < self.conf_threshold:
            return rejected("low_sync_confidence",
                            f"confidence {measured.confidence:.2f} < {self.conf_threshold:g}", **measures)
        if abs(measured.offset) > self.max_offset:
            return rejected("offset_too_large", f"offset {measured.offset} frames > {self.max_offset}", **measures)
        name = output_name(clip)
        if measured.offset == 0:
            copy_file(source, output_dir / name)
        else:
            remux_with_audio(source, output_dir / name, shift_audio(load_clip_audio(source), measured.offset))
        return kept(name, **measures)
