"""Sync score of a whole video: find face tracks, crop them, and score each crop against its audio.

Two protocols stage the video for SyncNet: ``original`` (default) scores what the original's scripts produce
on disk (re-encodes, JPEG frames, ``mp4v`` crop videos: see ``original_staging``), so LSE-C / LSE-D compare
with the paper's; ``lossless`` scores the decoded frames and crops in memory, untouched by any re-encode.
Two passes over the frames keep memory bounded: the first detects faces and scene cuts, the second cuts only
the frames that belong to a track.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentsync.evaluation.face_tracking import TrackCropper, track_faces
from latentsync.evaluation.original_staging import OriginalStaging
from latentsync.evaluation.scene_detection import SceneCutDetector
from latentsync.evaluation.sync_scoring import SyncScore
from latentsync.evaluation.syncnet_eval import SAMPLES_PER_FRAME, SyncNetEval
from latentsync.evaluation.syncnet_v2 import load_syncnet_v2
from latentsync.errors import InputError
from latentsync.face.landmarks import LANDMARK_DETECTORS, create_landmark_detector
from latentsync.io.audio_reader import load_audio, to_pcm16
from latentsync.io.video_reader import VideoReader
from latentsync.models.s3fd import DEFAULT_S3FD_PATH, S3FD
from latentsync.utils.checkpoints_dir import add_checkpoints_dir_argument
from latentsync.utils.cli_ranges import number_in_range, positive_int
from latentsync.utils.device import resolve_device

FACE_DETECTORS = ("s3fd", *LANDMARK_DETECTORS)

FaceBoxDetector = Callable[[np.ndarray], Sequence[np.ndarray]]
"""RGB frame -> (x1, y1, x2, y2) boxes of the faces in it."""
SYNC_PROTOCOLS = ("original", "lossless")


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
        tracks = track_faces(detections, scene_cuts.scenes(), self.min_track, min_face_size=self.min_face_size)
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


def add_scorer_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``scorer_from_args``, shared by the scripts that score videos."""
    add_checkpoints_dir_argument(parser)
    parser.add_argument("--initial_model", default=None,
                        help="classic SyncNet weights (default: CHECKPOINTS_DIR/auxiliary/syncnet_v2.model)")
    parser.add_argument("--detector", "--face_detector", dest="detector", default="s3fd", choices=FACE_DETECTORS,
                        help="face detector of the tracks: s3fd (default, the published LSE-C / LSE-D protocol) "
                             "or a landmark backend (mediapipe needs no extra weights)")
    parser.add_argument("--protocol", default="original", choices=SYNC_PROTOCOLS,
                        help="original (default): score what the original's staging produces (re-encode at 25 fps, "
                             "JPEG frames, mp4v crop videos, in a temporary folder), comparable with the paper; "
                             "lossless: score the decoded frames in memory")
    parser.add_argument("--s3fd_path", default=None,
                        help="S3FD weights (default: CHECKPOINTS_DIR/auxiliary/sfd_face.pth)")
    parser.add_argument("--min_track", type=positive_int, default=50,
                        help="shortest face track scored, in frames, at least 1")
    parser.add_argument("--min_face_size", type=number_in_range(float, 0), default=100,
                        help="smallest mean face size scored, in pixels, at least 0")
    parser.add_argument("--batch_size", type=positive_int, default=20, help="SyncNet windows per forward pass, at least 1")
    parser.add_argument("--device", default=None, help="cuda, cpu, ... (default: best available)")


def scorer_from_args(args: argparse.Namespace) -> VideoSyncScorer:
    """The scorer the options describe; close it (or use it as a context manager) to free the face detector.

    Raises ``CheckpointError`` for missing weights before anything is read.
    """
    device = resolve_device(args.device)
    auxiliary = args.checkpoints_dir / "auxiliary"
    syncnet_path = args.initial_model or auxiliary / "syncnet_v2.model"
    syncnet = SyncNetEval(load_syncnet_v2(syncnet_path, device), device, batch_size=args.batch_size)
    if args.detector == "s3fd":
        s3fd = S3FD.from_checkpoint(args.s3fd_path or auxiliary / DEFAULT_S3FD_PATH.name, device)
        return VideoSyncScorer(syncnet, s3fd_box_detector(s3fd), args.min_track, args.min_face_size,
                               protocol=args.protocol)
    landmarks = create_landmark_detector(args.detector, device, auxiliary)

    def detect_faces(frame: np.ndarray) -> list[np.ndarray]:
        face = landmarks.detect_frame(frame)
        return [] if face is None else [face.box]

    return VideoSyncScorer(syncnet, detect_faces, args.min_track, args.min_face_size, on_close=landmarks.close,
                           protocol=args.protocol)
