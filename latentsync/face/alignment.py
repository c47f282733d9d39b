"""Similarity alignment of a face from 3 landmarks into LatentSync's fixed crop (README B.2-B.4).

The constants and the numerics (float32, sample std, the smoothing bias in normalised units)
are those the released checkpoints were trained with; changing them shifts every crop.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from latentsync.face.warp import warp_frames_in_windows

# Template points at ratio 1: image-left eyebrow centre, image-right eyebrow centre, nose centre
# (the reference writes them as (19-2, 30-10), (56+2, 30-10), (37.5, 45-5)).
BASE_FACE_TEMPLATE = np.array([[17.0, 20.0], [58.0, 20.0], [37.5, 40.0]])
BASE_CROP_SIZE = (75, 100)  # (w, h) at ratio 1
CROP_FILL_VALUE = 127.0
PREVIOUS_BIAS_WEIGHT, CURRENT_BIAS_WEIGHT = 0.2, 0.8


@functools.cache
def _resize_pool() -> ThreadPoolExecutor:
    """Threads for the per-crop resizes: OpenCV runs an image this small on one core, and releases the GIL."""
    return ThreadPoolExecutor(max(1, torch.get_num_threads()), thread_name_prefix="crop-resize")


def crop_ratio(resolution: int) -> float:
    """Scale from the ratio-1 template to the crop for a working resolution (2.8 at 256)."""
    return resolution / 256 * 2.8


def face_template(resolution: int) -> np.ndarray:
    """(3, 2) float64 template points in crop pixels, e.g. (47.6, 56), (162.4, 56), (105, 112) at 256."""
    return BASE_FACE_TEMPLATE * crop_ratio(resolution)


def crop_size(resolution: int) -> tuple[int, int]:
    """Crop (w, h) with the reference's int() truncation: 210 x 280 at 256, 314 x 419 at 384."""
    ratio = crop_ratio(resolution)
    return int(BASE_CROP_SIZE[0] * ratio), int(BASE_CROP_SIZE[1] * ratio)


def similarity_transform(points: np.ndarray, template: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares similarity from 3 frame points to the template, in float32 like the reference.

    Returns the (2, 3) matrix (frame pixel -> crop pixel) and the raw smoothing bias: the nose
    point's offset between the *normalised* template and points (dimensionless, yet the
    reference adds it to the pixel translation).
    """
    source = torch.tensor(np.asarray(points), dtype=torch.float32)
    target = torch.tensor(np.asarray(template), dtype=torch.float32)
    source_mean, target_mean = source.mean(dim=0), target.mean(dim=0)
    source_centered, target_centered = source - source_mean, target - target_mean
    source_std, target_std = torch.std(source_centered), torch.std(target_centered)  # sample std of all 6 numbers
    source_normalized, target_normalized = source_centered / source_std, target_centered / target_std

    u, _, vh = torch.linalg.svd(source_normalized.T @ target_normalized)
    v = vh.mT
    rotation = v @ u.T
    if torch.det(rotation) < 0:
        v[:, -1] = -v[:, -1]
        rotation = v @ u.T

    scale = target_std / source_std
    translation = target_mean.reshape(2, 1) - scale * (rotation @ source_mean.reshape(2, 1))
    matrix = torch.cat([scale * rotation, translation], dim=1)
    return matrix, target_normalized[2] - source_normalized[2]


@dataclass(frozen=True)
class AlignedFaces:
    """Aligned faces of a batch of frames, with what paste-back needs."""

    faces: torch.Tensor  # (B, 3, res, res) uint8, on the frames' device
    affine_matrices: torch.Tensor  # (B, 2, 3) float32 frame pixel -> crop pixel, on the frames' device
    boxes: torch.Tensor  # (B, 4) int64 crop box x1, y1, x2, y2 = 0, 0, crop_w, crop_h (CPU)


class FaceAligner:
    """Crops faces to the LatentSync template; keeps the translation-smoothing state across frames.

    The reference builds one aligner per pipeline call and feeds the frames in video order, so
    frame k's matrix depends on frames 0..k-1 through ``p_bias``. Call ``reset()`` before a new video.
    """

    def __init__(self, resolution: int = 256, smooth: bool = True) -> None:
        self.resolution = resolution
        self.smooth = smooth
        self.template = face_template(resolution)
        self.crop_size = crop_size(resolution)
        self.p_bias: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the smoothing state (start of a new video)."""
        self.p_bias = None

    def estimate_affine(self, landmarks3: np.ndarray) -> torch.Tensor:
        """(B, 3, 2) or (3, 2) landmark points, in video order -> (B, 2, 3) float32 CPU matrices.

        With smoothing, each matrix's translation gets p = 0.2 * p_previous + 0.8 * bias (p = bias
        on the first frame after a reset) and the state advances frame by frame.
        """
        points = np.asarray(landmarks3, dtype=np.float64).reshape(-1, 3, 2)
        matrices = []
        for frame_points in points:
            matrix, bias = similarity_transform(frame_points, self.template)
            if self.smooth:
                if self.p_bias is not None:
                    bias = self.p_bias * PREVIOUS_BIAS_WEIGHT + bias * CURRENT_BIAS_WEIGHT
                self.p_bias = bias
                matrix[:, 2] = matrix[:, 2] + bias
            matrices.append(matrix)
        return torch.stack(matrices)

    def crop(
        self, frames: torch.Tensor, affine_matrices: torch.Tensor, device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """(B, H, W, 3) uint8 frames -> (B, crop_h, crop_w, 3) uint8 crops, fill 127, truncated (not rounded).

        Only a window of each frame around its crop is copied to ``device`` (default: the frames') and converted
        to float; the crops equal those of a whole-frame warp bit for bit (``warp_frames_in_windows``). ``dtype``
        float16 warps in the original's precision (the matrix, the grid and the samples rounded to float16).
        """
        crop_w, crop_h = self.crop_size
        crops = warp_frames_in_windows(frames, affine_matrices, (crop_h, crop_w), CROP_FILL_VALUE, device, dtype)
        return crops.to(torch.uint8).permute(0, 2, 3, 1)

    def resize_crops(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, crop_h, crop_w, 3) uint8 -> (B, 3, res, res) uint8 with OpenCV Lanczos4 (the reference's numerics).

        The non-square crop is stretched to a square. Runs on the CPU (OpenCV, the crops spread over threads) and
        returns to the crops' device.
        """
        size = (self.resolution, self.resolution)
        resized = list(_resize_pool().map(functools.partial(cv2.resize, dsize=size, interpolation=cv2.INTER_LANCZOS4),
                                          crops.cpu().numpy()))
        return torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2).to(crops.device)

    def __call__(self, frames: torch.Tensor, landmarks3: np.ndarray, dtype: torch.dtype = torch.float32
                 ) -> AlignedFaces:
        """Align a batch of consecutive frames (B, H, W, 3) uint8 given their (B, 3, 2) landmark points, warping in
        ``dtype`` (``crop``)."""
        affine_matrices = self.estimate_affine(landmarks3).to(frames.device)
        faces = self.resize_crops(self.crop(frames, affine_matrices, dtype=dtype))
        crop_w, crop_h = self.crop_size
        boxes = torch.tensor([[0, 0, crop_w, crop_h]], dtype=torch.int64).expand(len(faces), 4).clone()
        return AlignedFaces(faces=faces, affine_matrices=affine_matrices, boxes=boxes)
