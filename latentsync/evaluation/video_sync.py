"""Sync score of a whole video: find face tracks, crop them, and score each crop against its audio.

Two passes over the frames keep memory bounded for long, high-resolution videos: the first detects
faces and scene cuts, the second cuts only the frames that belong to a track.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .face_tracking import TrackCropper, track_faces
from .scene_detection import SceneCutDetector
from .sync_scoring import SyncScore
from .syncnet_eval import SAMPLES_PER_FRAME, SyncNetEval
from .syncnet_v2 import load_syncnet_v2
from ..errors import InputError
from latentsync.face.landmarks import LANDMARK_DETECTORS, FaceLandmarkDetector, create_landmark_detector
from ..io.audio_reader import load_audio
from ..io.video_reader import VideoReader
from latentsync.utils.device import resolve_device

REPO_ROOT = Path(__file__).resolve().parents[1]

FaceBoxDetector = Callable[[np.ndarray], Sequence[np.ndarray]]
"""RGB frame -> (x1, y1, x2, y2) boxes of the faces in it."""


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
                 min_face_size: float = 100, crop_scale: float = 0.4):
        self.syncnet = syncnet
        self.detect_faces = detect_faces
        self.min_track = min_track
        self.min_face_size = min_face_size
        self.crop_scale = crop_scale

    def __call__(self, video_path: str | Path) -> VideoSyncScore:
        reader = VideoReader(video_path)
        scene_cuts = SceneCutDetector()
        detections = []
        for frame in tqdm(reader.frames(), total=reader.estimated_num_frames, desc="face detection", leave=False):
            scene_cuts.update(frame)
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
        for index, frame in enumerate(reader.frames(first_frame), start=first_frame):
            if index > last_frame:
                break
            cropper.update(index, frame)
        audio = (load_audio(video_path) * 32768).astype(np.int16)  # exact: load_audio decodes to s16, then / 32768
        scores = [
            self.syncnet.evaluate(
                np.stack(crops),
                audio[int(track.frames[0]) * SAMPLES_PER_FRAME: (int(track.frames[-1]) + 1) * SAMPLES_PER_FRAME],
            )
            for track, crops in zip(tracks, cropper.crops, strict=True)
        ]
        return VideoSyncScore(
            av_offset=int(statistics.fmean(score.av_offset for score in scores)),
            confidence=statistics.fmean(score.confidence for score in scores),
            min_dist=statistics.fmean(score.min_dist for score in scores),
            tracks=scores,
        )


def add_scorer_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``scorer_from_args``, shared by the scripts that score videos."""
    parser.add_argument("--initial_model", default=str(REPO_ROOT / "checkpoints/auxiliary/syncnet_v2.model"),
                        help="classic SyncNet weights")
    parser.add_argument("--face_detector", default="mediapipe", choices=LANDMARK_DETECTORS)
    parser.add_argument("--min_track", type=int, default=50, help="shortest face track scored, in frames")
    parser.add_argument("--min_face_size", type=float, default=100, help="smallest mean face size scored, in pixels")
    parser.add_argument("--batch_size", type=int, default=20, help="SyncNet windows per forward pass")
    parser.add_argument("--device", default=None, help="cuda, cpu, ... (default: best available)")


def scorer_from_args(args: argparse.Namespace) -> tuple[VideoSyncScorer, FaceLandmarkDetector]:
    """The scorer and the landmark detector it uses (close the detector when done)."""
    device = resolve_device(args.device)
    syncnet = SyncNetEval(load_syncnet_v2(args.initial_model, device), device, batch_size=args.batch_size)
    detector = create_landmark_detector(args.face_detector, device)

    def detect_faces(frame: np.ndarray) -> list[np.ndarray]:
        face = detector.detect_frame(frame)
        return [] if face is None else [face.box]

    return VideoSyncScorer(syncnet, detect_faces, args.min_track, args.min_face_size), detector
