"""The base of the stages that count faces as the original's filters do: mediapipe face detection, one per worker."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch

from latentsync.data_processing.stage import Stage
from latentsync.errors import InputError
from latentsync.face.mediapipe_face_boxes import MediapipeFaceBoxes


@dataclass(frozen=True)
class MediapipeFaceStage(Stage):
    def check(self) -> None:
        if importlib.util.find_spec("mediapipe") is None:
            raise InputError(f"the {self.folder} stage counts faces with mediapipe, which is not installed; "
                             "pip install mediapipe")

    def load(self, device: torch.device) -> MediapipeFaceBoxes:
        return MediapipeFaceBoxes()  # CPU only, as in the original
