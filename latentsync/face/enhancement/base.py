"""The contract every face restorer meets, so the blending and the pipeline hook never depend on a runtime."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch


class FaceEnhancer(ABC):
    """Restores aligned face crops.

    ``restore`` takes (B, 3, H, W) RGB faces in [-1, 1] (LatentSync's pixel convention, any float dtype and
    device) and returns restored faces of the same shape, dtype, device and range. Whatever size, range and
    colour order the network needs is the enhancer's own business.
    """

    title: str  # the model's name as people know it, e.g. "GFPGAN v1.4"

    @abstractmethod
    def restore(self, faces: torch.Tensor) -> torch.Tensor:
        """Restored (B, 3, H, W) faces in [-1, 1]."""
