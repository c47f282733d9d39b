"""The per-window face enhancement the lip-sync pipeline calls on its output frames, right after paste-back.

Each face is warped from its frame into the restorer's template (``template_warp``), the window's faces are
restored in one batch, and the result is warped back and blended into the frame: ``strength`` overall, only
inside the face (where LatentSync pasted its face, feathered), and with the generated mouth protected by a
feathered map of the same mask LatentSync inpainted with, carried into the frame by the crop's matrix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from latentsync.face.enhancement.base import FaceEnhancer
from latentsync.face.enhancement.blending import FEATHER_FRACTION, blend_restored, mouth_protection_map
from latentsync.face.enhancement.defaults import DEFAULT_MOUTH_PROTECTION, DEFAULT_STRENGTH
from latentsync.face.enhancement.template_warp import similarity_to_template, template_mask, warp_to_template
from latentsync.face.framed_faces import FramedFaces
from latentsync.face.mask import load_fixed_mask
from latentsync.face.paste_back import blend_masks_from_coverage, paste_window, resize_faces_to_crop
from latentsync.face.warp import invert_affine, warp_affine, warp_affine_with_coverage


@dataclass
class FaceEnhancement:
    """Callable ``FramedFaces -> (B, H, W, 3) uint8 frames`` with their faces restored (the input frames untouched).

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

    def restore_in_template(self, faces: FramedFaces) -> tuple[torch.Tensor, torch.Tensor]:
        """The restored faces (B, 3, S, S) in [-1, 1] in the restorer's template, and the frame -> template matrices."""
        size = self.enhancer.input_size
        to_template = similarity_to_template(faces.five_points, self.enhancer.template.points_at(size))
        to_template = to_template.to(faces.frames.device)
        restored = self.enhancer.restore(warp_to_template(faces.frames, to_template, size).div_(127.5).sub_(1))
        return restored, to_template

    @torch.no_grad()
    def __call__(self, faces: FramedFaces) -> torch.Tensor:
        frames = faces.frames
        if self.strength == 0.0 or len(frames) == 0:
            return frames
        frame_size = tuple(frames.shape[1:3])
        device = frames.device
        affine_matrices = faces.affine_matrices.float().to(device)
        # Only the pixels paste-back may have changed: the crop's footprint in the frame.
        top, left, bottom, right = window = paste_window(affine_matrices, faces.crop_size, frame_size)
        if bottom <= top or right <= left:
            return frames
        restored, to_template = self.restore_in_template(faces)
        size = restored.shape[-1]
        back = warp_affine(restored, invert_affine(to_template), frame_size, window=window)
        # The mouth map reaches the frame the way the generated face did (paste-back's resize and warp); the same
        # grid gives the crop's coverage, hence paste-back's feathered mask.
        protection = resize_faces_to_crop(self.protection_map(faces.resolution, device), faces.crop_size).clamp_(0, 1)
        protection, coverage = warp_affine_with_coverage(protection.expand(len(frames), -1, -1, -1),
                                                         invert_affine(affine_matrices), frame_size, window)
        face_mask = blend_masks_from_coverage(coverage).soft.mul_(
            template_mask(to_template, size, self.feather_fraction * size, window))
        generated = frames[:, top:bottom, left:right].permute(0, 3, 1, 2).float()
        blended = blend_restored(generated, back.add_(1).mul_(127.5), self.strength, face_mask, protection,
                                 self.mouth_protection)
        output = frames.clone()
        output[:, top:bottom, left:right] = blended.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        return output
