"""Is there a face in the video at all? Answered in seconds, before minutes of model loading.

A few frames spread over the video are tried first; a talking-head video has a face in one of them, so the
usual cost is one detector start and a handful of detections. Only when none of them shows a face are the
remaining frames scanned, stopping at the first face, so a face present in a few frames is never refused.
The full per-frame detection of the run stays where it is.
"""

from __future__ import annotations

import contextlib
import itertools
import os

import numpy as np
import torch
from tqdm.auto import tqdm

from latentsync.errors import NoFaceError
from latentsync.face.landmarks import create_landmark_detector
from latentsync.face.landmarks.detector import FaceLandmarkDetector
from latentsync.face.landmarks.factory import DEFAULT_WEIGHTS_DIR
from latentsync.io.video_reader import VideoReader

SAMPLED_FRAMES = 8
SCAN_BATCH = 16


def sampled_frame_indices(num_frames: int, num_samples: int = SAMPLED_FRAMES) -> list[int]:
    """``num_samples`` indices spread evenly over ``0..num_frames-1`` (each window's middle), ascending."""
    count = min(num_samples, num_frames)
    return sorted({int((k + 0.5) * num_frames / count) for k in range(count)})


def require_a_face(video_path: str | os.PathLike, backend: str = "mediapipe",
                   device: torch.device | str = "cpu", weights_dir: str | os.PathLike = DEFAULT_WEIGHTS_DIR) -> None:
    """Raise ``NoFaceError`` (an ``InputError``) when the landmark ``backend`` finds no face in any frame of ``video_path``.

    ``weights_dir`` holds the face_alignment / insightface weights.
    """
    reader = VideoReader(video_path)
    detector = create_landmark_detector(backend, device, weights_dir)
    try:
        if _any_face(detector, _sampled_frames(reader, sampled_frame_indices(reader.estimated_num_frames))):
            return
        frames = reader.frames()
        # Shown only on a terminal and after 2 s: usually the scan is short, and an error should stay one line.
        with tqdm(total=reader.estimated_num_frames, desc="looking for a face", unit="frame", delay=2, leave=False,
                  disable=None) as bar:
            while batch := list(itertools.islice(frames, SCAN_BATCH)):
                if _any_face(detector, batch):
                    return
                bar.update(len(batch))
    finally:
        detector.close()
    raise NoFaceError(f"no face was found in any frame of {str(reader.path)!r}; use a video in which the speaker's "
                     "face is visible and roughly frontal")


def _sampled_frames(reader: VideoReader, indices: list[int]) -> list[np.ndarray]:
    """The frames at ``indices``, fewer when the header overestimated the length."""
    frames: list[np.ndarray] = []
    with contextlib.suppress(IndexError):
        frames.extend(reader.iter_frames(indices))
    return frames


def _any_face(detector: FaceLandmarkDetector, frames: list[np.ndarray]) -> bool:
    return bool(frames) and any(face is not None for face in detector.detect(frames))
