"""The per-window face post-processor the lip-sync pipeline calls on generated faces, before paste-back.

It restores the aligned faces of one window in one batch (no extra alignment or warp: the crop is already
the face), then blends: ``strength`` overall, and the generated mouth protected by a feathered map of the same
mask LatentSync inpainted with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from latentsync.face.enhancement.base import FaceEnhancer
from latentsync.face.enhancement.blending import FEATHER_FRACTION, blend_restored, mouth_protection_map
from latentsync.face.mask import load_fixed_mask

DEFAULT_STRENGTH = 0.8
# How much of the generated mouth is kept over the restored one inside the protected region: the restorer
# may add detail there but not redraw the lip shape that follows the audio.
DEFAULT_MOUTH_PROTECTION = 0.8


@dataclass
class FaceEnhancement:
    """Callable ``(B, 3, res, res) faces in [-1, 1] -> enhanced faces`` (same shape, dtype, device).

    ``mask_image_path`` is the run's custom mouth mask (``--mask_image_path``), if any, so the protected region
    is exactly the one that was generated. The protection map is built once per face size and device.
    """

    enhancer: FaceEnhancer
    strength: float = DEFAULT_STRENGTH
    mouth_protection: float = DEFAULT_MOUTH_PROTECTION
    mask_image_path: str | os.PathLike | None = None
    feather_fraction: float = FEATHER_FRACTION
    _protection: dict[tuple[int, torch.device], torch.Tensor] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for label, value in (("strength", self.strength), ("mouth protection", self.mouth_protection)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"face enhance {label} must be between 0 and 1, got {value}")

    def protection_map(self, resolution: int, device: torch.device) -> torch.Tensor:
        """(1, 1, res, res): 1 over the generated mouth region, feathered, on ``device``."""
        key = (resolution, device)
        if key not in self._protection:
            keep_mask = load_fixed_mask(resolution, self.mask_image_path)
            self._protection[key] = mouth_protection_map(keep_mask, self.feather_fraction).to(device)
        return self._protection[key]

    @torch.no_grad()
    def __call__(self, faces: torch.Tensor) -> torch.Tensor:
        if self.strength == 0.0 or len(faces) == 0:
            return faces
        if faces.shape[-1] != faces.shape[-2]:
            raise ValueError(f"faces must be square aligned crops, got {tuple(faces.shape)}")
        restored = self.enhancer.restore(faces)
        protection = self.protection_map(faces.shape[-1], faces.device)
        return blend_restored(faces, restored, self.strength, protection, self.mouth_protection)
