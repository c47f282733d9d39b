"""Sync score of a whole video: find face tracks, crop them, and score each crop against its audio.

Two protocols stage the video for SyncNet: ``original`` (default) scores what the original's scripts produce
on disk (re-encodes, JPEG frames, ``mp4v`` crop videos: see ``original_staging``), so LSE-C / LSE-D compare
with the paper's; ``lossless`` scores the decoded frames and crops in memory, untouched by any re-encode.
Two passes over the frames keep memory bounded: the first detects faces and scene cuts, the second cuts only
the frames that belong to a track.
"""

from __future__ import annotations

import functools
import os
import statistics
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from latentsync.analysis.face_box_tracks import link_box_tracks
from latentsync.analysis.scene_detection import SceneCutDetector
from latentsync.analysis.sync_scoring import SyncScore
from latentsync.analysis.syncnet_crops import TrackCropper
from latentsync.analysis.syncnet_eval import SAMPLES_PER_FRAME, SyncNetEval
from latentsync.analysis.syncnet_v2 import load_syncnet_v2
from latentsync.errors import InputError
from latentsync.evaluation.original_staging import OriginalStaging
from latentsync.evaluation.protocols import SYNC_PROTOCOLS
from latentsync.face.landmarks import create_landmark_detector
from latentsync.io.audio_reader import load_audio, to_pcm16
from latentsync.io.video_reader import VideoReader
from latentsync.models.s3fd import S3FD

FaceBoxDetector = Callable[[np.ndarray], Sequence[np.ndarray]]
"""RGB frame -> (x1, y1, x2, y2) boxes of the faces in it."""


class LosslessStaging:
    """``--protocol lossless``: the decoded frames (25 fps grid) and audio of the video, nothing re-encoded."""

    def __init__(self, video_path: str | Path):
        self.video_path = video_path
        self.reader = VideoReader(video_path)

    @functools.cached_property
    def audio(self) -> np.ndarray:
        """The 16 kHz int16 audio, read once a face track was found (a faceless video is reported as such)."""
        return to_pcm16(load_audio(self.video_path))

    def frames(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(scene-detection frame, face-detection frame) pairs: the same frame, full size."""
        for frame in tqdm(self.reader.frames(), total=self.reader.estimated_num_frames, desc="face detection",
                          leave=False):
            yield frame, frame

    def crop_frames(self, first: int) -> Iterator[np.ndarray]:
        return self.reader.frames(first)

    def track_clip(self, index: int, crops_bgr: list[np.ndarray], audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.stack(crops_bgr), audio


@dataclass(frozen=True)
class VideoSyncScore:
    """LSE-C (``confidence``) and LSE-D (``min_dist``) averaged over the face tracks, plus each track's score."""

    av_offset: int
    confidence: float
    min_dist: float
    tracks: list[SyncScore]


class VideoSyncScorer:
    """Scores videos with the classic SyncNet (``SyncNetEval``) on the crops of every long-enough face track."""

    def __init__(self, syncnet: SyncNetEval, detect_faces: FaceBoxDetector, min_track: int = 50,
                 min_face_size: float = 100, crop_scale: float = 0.4, on_close: Callable[[], None] | None = None,
                 protocol: str = "original"):
        if protocol not in SYNC_PROTOCOLS:
            raise InputError(f"unknown protocol {protocol!r}; choose one of {', '.join(SYNC_PROTOCOLS)}")
        self.syncnet = syncnet
        self.detect_faces = detect_faces
        self.min_track = min_track
        self.min_face_size = min_face_size
        self.crop_scale = crop_scale
        self.protocol = protocol
        self._on_close = on_close

    def close(self) -> None:
        """Release the face detector's resources (``on_close``); the scorer is unusable afterwards."""
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    def __enter__(self) -> VideoSyncScorer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __call__(self, video_path: str | Path) -> VideoSyncScore:
        if self.protocol == "lossless":
            return self._score(video_path, LosslessStaging(video_path))
        with tempfile.TemporaryDirectory(prefix="latentsync-sync-") as folder:  # removed whatever happens
            return self._score(video_path, OriginalStaging(video_path, Path(folder)))

    def _score(self, video_path: str | Path, staging: LosslessStaging | OriginalStaging) -> VideoSyncScore:
        scene_cuts = SceneCutDetector()
        detections = []
        for scene_frame, frame in staging.frames():
            scene_cuts.update(scene_frame)
            detections.append(self.detect_faces(frame))
        tracks = link_box_tracks(detections, scene_cuts.scenes(), self.min_track, min_face_size=self.min_face_size)
        if not tracks:
            raise InputError(
                f"no face track of more than {self.min_track} frames with faces over {self.min_face_size:g} px "
                f"in {video_path}; SyncNet scores need a clearly visible talking face"
            )
        cropper = TrackCropper(tracks, self.crop_scale)
        first_frame = min(int(track.frames[0]) for track in tracks)
        last_frame = max(int(track.frames[-1]) for track in tracks)
        for index, frame in enumerate(staging.crop_frames(first_frame), start=first_frame):
            if index > last_frame:
                break
            cropper.update(index, frame)
        scores = []
        for index, (track, crops) in enumerate(zip(tracks, cropper.crops, strict=True)):
            audio = staging.audio[int(track.frames[0]) * SAMPLES_PER_FRAME:
                                  (int(track.frames[-1]) + 1) * SAMPLES_PER_FRAME]
            scores.append(self.syncnet.evaluate(*staging.track_clip(index, crops, audio)))
        return VideoSyncScore(
            av_offset=int(statistics.fmean(score.av_offset for score in scores)),
            confidence=statistics.fmean(score.confidence for score in scores),
            min_dist=statistics.fmean(score.min_dist for score in scores),
            tracks=scores,
        )


def s3fd_box_detector(detector: S3FD, conf_th: float = 0.9, scale: float = 0.25) -> FaceBoxDetector:
    """Face boxes as the original sync-confidence protocol finds them: S3FD at 1/4 size, confidence above 0.9."""

    def detect_faces(frame: np.ndarray) -> list[np.ndarray]:
        return list(detector.detect_faces(frame, conf_th=conf_th, scales=(scale,))[:, :4])

    return detect_faces


def load_video_sync_scorer(syncnet_path: str | os.PathLike, device: torch.device, detector: str = "s3fd",
                           s3fd_path: str | os.PathLike | None = None,
                           landmark_weights_dir: str | os.PathLike | None = None, min_track: int = 50,
                           min_face_size: float = 100, batch_size: int = 20,
                           protocol: str = "original") -> VideoSyncScorer:
    """The scorer of the sync-confidence evaluation: the classic SyncNet at ``syncnet_path`` on the face tracks of
    ``detector`` (``s3fd``, the published protocol, with ``s3fd_path``; or a landmark backend, whose weights are in
    ``landmark_weights_dir``). Close it (or use it as a context manager) to free the face detector.

    Raises ``CheckpointError`` for missing weights before anything is read.
    """
    syncnet = SyncNetEval(load_syncnet_v2(syncnet_path, device), device, batch_size=batch_size)
    if detector == "s3fd":
        s3fd = S3FD.from_checkpoint(s3fd_path, device)
        return VideoSyncScorer(syncnet, s3fd_box_detector(s3fd), min_track, min_face_size, protocol=protocol)
    landmarks = create_landmark_detector(detector, device, landmark_weights_dir)

    def detect_faces(frame: np.ndarray) -> list[np.ndarray]:
        face = landmarks.detect_frame(frame)
        return [] if face is None else [face.box]

    return VideoSyncScorer(syncnet, detect_faces, min_track, min_face_size, on_close=landmarks.close,
                           protocol=protocol)
