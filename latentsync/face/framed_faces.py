"""Frames after paste-back together with where their faces are: what a post-paste-back hook (face enhancement)
needs to find each face again, in its own geometry or in LatentSync's crop."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class FramedFaces:
    """One face per frame; every tensor on the frames' device except ``five_points`` (any device)."""

    frames: torch.Tensor  # (B, H, W, 3) uint8 RGB, the generated faces already pasted in
    five_points: torch.Tensor  # (B, 5, 2) float32 frame pixels: eye centres, nose tip, mouth corners (image-left first)
    affine_matrices: torch.Tensor  # (B, 2, 3) frame pixel -> crop pixel, the matrices the faces were cropped with
    crop_size: tuple[int, int]  # the aligner's (crop_w, crop_h); the crop was stretched to resolution x resolution
    resolution: int  # side of the generated face (and of the mouth mask)

    def __len__(self) -> int:
        return len(self.frames)
