"""Shot-cut detection for the face tracker with PySceneDetect's ``ContentDetector``, as the original uses it.

A face track must not run across a cut (the crop would jump to another shot), so tracking happens per
scene. Frames are fed one at a time while the video streams, instead of letting scenedetect open the file.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
from scenedetect import FrameTimecode
from scenedetect.detectors import ContentDetector


class SceneCutDetector:
    """Feed RGB frames in order with ``update``; ``scenes()`` gives [start, end) frame ranges."""

    def __init__(self, threshold: float = 27.0, min_scene_len: int = 15, fps: float = 25.0):
        self._detector = ContentDetector(threshold=threshold, min_scene_len=min_scene_len)
        self._fps = fps
        self.cuts: list[int] = []
        self._num_frames = 0

    def update(self, frame_rgb: np.ndarray) -> None:
        timecode = FrameTimecode(self._num_frames, fps=self._fps)
        frame_bgr = cv2.cvtColor(np.ascontiguousarray(frame_rgb), cv2.COLOR_RGB2BGR)
        self.cuts += [cut.frame_num for cut in self._detector.process_frame(timecode, frame_bgr)]
        self._num_frames += 1

    def scenes(self) -> list[tuple[int, int]]:
        """[start, end) of every scene seen so far; the whole video when there is no cut."""
        bounds = [0, *self.cuts, self._num_frames]
        return [(start, end) for start, end in itertools.pairwise(bounds) if end > start]
