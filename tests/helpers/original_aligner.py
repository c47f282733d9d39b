"""The original's face crop and paste-back (its ``AlignRestore``) in float32 or float16, written out whole-frame from the
face fixtures' README (B.4-B.6, F) and kornia's ``warp_affine`` / ``gaussian_blur2d`` recipes: a second, plain
transcription to compare the library's windowed, fused implementation with. Nothing here shares code with
``latentsync.face``.

Its float16 follows the original's GPU run where the original's tensors are float16 (the matrix and its inverse,
the normalising matrices, ``affine_grid``'s grid, the frame, the face, the masks, the blur and the blend); the
bilinear taps are taken in float32 from those float16 inputs and rounded to float16 (torch's CPU float16
``grid_sample`` cannot take a full-HD frame).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import InterpolationMode, resize

FILL = 127.0


def _pixel_to_normalized(height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
    matrix = torch.tensor([[[1.0, 0.0, -1.0], [0.0, 1.0, -1.0], [0.0, 0.0, 1.0]]])
    matrix[0, 0, 0] = matrix[0, 0, 0] * 2.0 / (width - 1.0)
    matrix[0, 1, 1] = matrix[0, 1, 1] * 2.0 / (height - 1.0)
    return matrix.to(dtype)


def _inverse(matrices: torch.Tensor) -> torch.Tensor:
    return torch.linalg.inv(matrices.float()).to(matrices.dtype)


def _homogeneous(matrix: torch.Tensor) -> torch.Tensor:
    return torch.cat([matrix, torch.tensor([[[0.0, 0.0, 1.0]]], dtype=matrix.dtype)], dim=1)


def warp_affine(source: torch.Tensor, matrix: torch.Tensor, size: tuple[int, int], fill: float | None = None
                ) -> torch.Tensor:
    """kornia's ``warp_affine`` of (1, C, H, W) ``source`` by the (1, 2, 3) ``matrix``, both in the same dtype, into
    ``size`` (h, w): bilinear, align_corners, zeros outside, or ``fill`` blended in by the warped all-ones image."""
    dtype = source.dtype
    height, width = source.shape[-2:]
    chain = _pixel_to_normalized(*size, dtype) @ (_homogeneous(matrix) @ _inverse(_pixel_to_normalized(height, width,
                                                                                                        dtype)))
    grid = F.affine_grid(_inverse(chain)[:, :2], [1, source.shape[1], *size], align_corners=True).float()

    def sample(image: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=True).to(dtype)

    if fill is None:
        return sample(source)
    return sample(source) + (1 - sample(torch.ones_like(source))) * fill


def crop_face(frame: np.ndarray, matrix: torch.Tensor, crop_size: tuple[int, int], resolution: int,
              dtype: torch.dtype) -> np.ndarray:
    """(H, W, 3) uint8 frame -> (res, res, 3) uint8 face: the warp in ``dtype``, truncated, Lanczos-resized."""
    crop_w, crop_h = crop_size
    image = torch.from_numpy(frame).permute(2, 0, 1)[None].to(dtype)
    crop = warp_affine(image, matrix[None].to(dtype), (crop_h, crop_w), FILL)[0].permute(1, 2, 0)
    return cv2.resize(crop.numpy().astype(np.uint8), (resolution, resolution), interpolation=cv2.INTER_LANCZOS4)


def _gaussian_blur(mask: torch.Tensor, size: int) -> torch.Tensor:
    """kornia's separable ``gaussian_blur2d`` with OpenCV's sigma for ``size``, kernel and filtering in the mask's
    dtype, reflected borders."""
    dtype = mask.dtype
    sigma = torch.tensor(0.3 * ((size - 1) * 0.5 - 1) + 0.8, dtype=dtype)
    offsets = torch.arange(size, dtype=dtype) - size // 2
    kernel = torch.exp(-offsets.pow(2.0) / (2 * sigma.pow(2.0)))
    kernel = kernel / kernel.sum()
    radius = size // 2
    along_x = F.conv2d(F.pad(mask, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, size))
    return F.conv2d(F.pad(along_x, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, size, 1))


def paste_face(frame: np.ndarray, face: torch.Tensor, matrix: torch.Tensor, crop_size: tuple[int, int],
               dtype: torch.dtype) -> np.ndarray:
    """(H, W, 3) uint8 frame with the (3, res, res) face in [-1, 1] pasted back, computed in ``dtype``."""
    height, width = frame.shape[:2]
    crop_w, crop_h = crop_size
    face = resize(face, [crop_h, crop_w], interpolation=InterpolationMode.BICUBIC, antialias=True).to(dtype)
    inverse = _inverse(_homogeneous(matrix[None].to(dtype)))[:, :2]
    inv_face = warp_affine(face[None], inverse, (height, width), FILL)[0]
    inv_face = (inv_face / 2 + 0.5).clamp(0, 1) * 255
    image = torch.from_numpy(frame).permute(2, 0, 1).to(dtype)
    inv_mask = warp_affine(torch.ones((1, 1, crop_h, crop_w), dtype=dtype), inverse, (height, width))
    padded = F.pad(inv_mask.float(), (1, 0, 1, 0), value=1e4)  # a 2x2 minimum, outside pixels ignored
    eroded = (-F.max_pool2d(-padded, 2, stride=1)).to(dtype)
    pasted = eroded[0] * inv_face
    edge = int(eroded.float().sum().item() ** 0.5) // 20
    center = cv2.erode(eroded[0, 0].float().numpy(), np.ones((2 * edge, 2 * edge), np.uint8))
    soft = _gaussian_blur(torch.from_numpy(center).to(dtype)[None, None], 2 * edge + 1)[0]
    blended = soft * pasted + (1 - soft) * image
    return blended.permute(1, 2, 0).to(torch.uint8).numpy()
