"""The base of the stages that count faces with S3FD: its weights and the per-worker model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from latentsync.data_processing.stage import Stage
from latentsync.models.s3fd import DEFAULT_S3FD_PATH, S3FD


@dataclass(frozen=True)
class S3FDStage(Stage):
    uses_gpu: ClassVar[bool] = True
    s3fd_weights: str = str(DEFAULT_S3FD_PATH)
    conf_th: float = 0.9

    def load(self, device: torch.device) -> S3FD:
        return S3FD.from_checkpoint(self.s3fd_weights, device)
