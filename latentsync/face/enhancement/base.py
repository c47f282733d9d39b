"""The contract every face restorer meets, so the blending and the pipeline hook never depend on a runtime."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from latentsync.face.enhancement.spec import FaceTemplate


class FaceEnhancer(ABC):
    """Restores faces aligned to its template.

    ``restore`` takes (B, 3, input_size, input_size) RGB faces in [-1, 1] (LatentSync's pixel convention, any
    float dtype and device), each warped so that its eye centres, nose tip and mouth corners lie on
    ``template.points_at(input_size)``, and returns restored faces of the same shape, dtype, device and range.
    Whatever range and colour order the network needs is the enhancer's own business.
    """

    title: str  # the model's name as people know it, e.g. "GFPGAN v1.4"
    input_size: int  # the side of the square faces it takes
    template: FaceTemplate  # where the faces' five points must be in that square

    @abstractmethod
    def restore(self, faces: torch.Tensor) -> torch.Tensor:
        """Restored (B, 3, input_size, input_size) faces in [-1, 1]."""
