"""The geometry of face enhancement: each face from its output frame into the restorer's template, and back.

GFPGAN, CodeFormer and GPEN were trained on faces aligned to a five-point template (FFHQ's at 512 px: eye centres,
nose tip and mouth corners at fixed places, the face about half the image wide). LatentSync's crop frames the face
differently (eyebrows to chin, stretched to a square, about twice as large), so a restorer fed that crop sees a face
it was not trained on. Here each face is warped from the frame (after paste-back) by the similarity that puts its
five tracked points on the template, and the restored face is warped back by the inverse of the same matrix.
"""

from __future__ import annotations

import numpy as np
import torch

from latentsync.face.alignment import CROP_FILL_VALUE
from latentsync.face.paste_back import paste_window
from latentsync.face.warp import Window, warp_affine


def similarity_to_template(points: torch.Tensor, template: np.ndarray) -> torch.Tensor:
    """(B, 5, 2) frame points -> (B, 2, 3) float32 frame pixel -> template pixel matrices, on the points' device.

    The least-squares similarity (rotation, uniform scale, translation) of each face's points onto ``template``,
    as the restorers' own pipelines fit it, in closed form and batched (float64). The aligner's
    ``similarity_transform`` is a different estimator on purpose: the reference's 3-point fit, kept bit-exact
    for the crop the U-Net was trained on.
    """
    source = points.detach().double().cpu()
    target = torch.as_tensor(template, dtype=torch.float64)
    source_centre, target_centre = source.mean(dim=1, keepdim=True), target.mean(dim=0)
    x, y = (source - source_centre).unbind(-1)
    u, v = (target - target_centre).unbind(-1)
    norm = (x * x + y * y).sum(dim=1)
    a = (x * u + y * v).sum(dim=1) / norm  # scale * cos(angle)
    b = (x * v - y * u).sum(dim=1) / norm  # scale * sin(angle)
    linear = torch.stack([torch.stack([a, -b], dim=-1), torch.stack([b, a], dim=-1)], dim=-2)
    translation = target_centre - (linear @ source_centre.mT).squeeze(-1)
    return torch.cat([linear, translation[..., None]], dim=-1).float().to(points.device)


def warp_to_template(frames: torch.Tensor, to_template: torch.Tensor, size: int) -> torch.Tensor:
    """(B, H, W, 3) uint8 frames -> (B, 3, size, size) float32 faces in [0, 255] (bilinear, grey outside the frame).

    Only the frame rectangle the template square samples from is converted to float.
    """
    frame_size = tuple(frames.shape[1:3])
    top, left, bottom, right = paste_window(to_template, (size, size), frame_size)
    if bottom <= top or right <= left:  # the square lies outside the frame: warp the whole frame (all fill)
        top, left, bottom, right = 0, 0, *frame_size
    # Warping (frame - fill) with zero padding, then adding the fill back, is warp_affine's fill without its
    # extra coverage channel (bilinear weights sum to 1 inside the frame).
    source = frames[:, top:bottom, left:right].permute(0, 3, 1, 2).float().sub_(CROP_FILL_VALUE)
    return warp_affine(source, _shifted(to_template, left, top), (size, size)).add_(CROP_FILL_VALUE)


def _shifted(matrices: torch.Tensor, left: int, top: int) -> torch.Tensor:
    """``matrices`` for a source that starts at frame pixel (left, top): window pixel (x, y) is frame (x + left,
    y + top)."""
    offset = torch.tensor([left, top], dtype=matrices.dtype, device=matrices.device)
    moved = matrices.clone()
    moved[:, :, 2] += matrices[:, :, :2] @ offset
    return moved


def template_mask(to_template: torch.Tensor, size: int, feather: float, window: Window) -> torch.Tensor:
    """(B, 1, rows, cols) float32 over the frame ``window``: 1 where a frame pixel falls inside the template square,
    ramping linearly to 0 over ``feather`` template pixels at its border (so a face that reaches the square's edge
    gets no seam there), 0 outside. Computed from each pixel's template position, not warped."""
    top, left, bottom, right = window
    device = to_template.device
    ys, xs = torch.meshgrid(torch.arange(top, bottom, dtype=torch.float32, device=device),
                            torch.arange(left, right, dtype=torch.float32, device=device), indexing="ij")
    mask = torch.ones(len(to_template), 1, bottom - top, right - left, device=device)
    for row in to_template[:, :, None, None, :].unbind(1):  # the template x, then y, of every frame pixel
        position = row[..., 0] * xs + row[..., 1] * ys + row[..., 2]
        ramp = (torch.minimum(position, size - 1 - position) + 1).div_(max(feather, 1.0)).clamp_(0, 1)
        mask.mul_(ramp[:, None])
    return mask
