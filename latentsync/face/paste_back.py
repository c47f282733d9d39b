"""Paste generated faces back into their frames with a feathered mask (README B.5).

Batched torch on the frames' device. The face only changes pixels inside its footprint in the
frame, so the work is done on a window around the footprints of the batch; the result equals
the reference's whole-frame computation (which the tests check against its fixtures).

Speed (this stage must never starve the models): one grid and one ``grid_sample`` give the face,
its fill and its mask; box erosions are a few elementwise minimums (log2 of the box size) instead of
max-pooling; the Gaussian blur runs as small matrix products against a banded (Toeplitz) matrix,
which CPU BLAS and GPUs do far faster than a one-channel convolution.

``dtype`` float16 runs it in the original's precision (its aligner is float16 on the GPU): the matrix and its
inverse, the warp, the masks, the blur and the blend are float16, the face area behind the feathering width is
summed in float32, as the original does (``latentsync.face.warp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import InterpolationMode, resize

from latentsync.face.warp import Window, invert_affine, warp_affine_with_coverage

# The reference warps the [-1, 1] face with the crop's uint8 fill value; it only reaches pixels
# that the mask zeroes or feathers, but it is kept for parity.
FACE_FILL_VALUE = 127.0
# Pixels beyond the face footprint that the window keeps: the bilinear footprint reaches one
# pixel past the mapped crop corners, plus one for float rounding of those corners.
WINDOW_MARGIN = 2
# Window sides are grown to multiples of this, so a moving face yields a handful of tensor shapes: CPU
# convolution backends (oneDNN) cache a kernel per input shape, and one shape per frame grew memory.
WINDOW_GRID = 64
# Outputs per matrix product of the blur: large enough for BLAS, small enough that the band stays dense.
BLUR_BLOCK = 64


@dataclass(frozen=True)
class BlendMasks:
    """Masks over the paste window, each (B, 1, rows, cols) in [0, 1], in the paste's dtype."""

    eroded: torch.Tensor  # warped crop mask after a 2x2 erosion: where the face is pasted
    center: torch.Tensor  # eroded again by 2 * w_edge so the feathering stays inside the face
    soft: torch.Tensor  # Gaussian-blurred center: the blend weight of the generated face


def resize_faces_to_crop(faces: torch.Tensor, crop_size: tuple[int, int],
                         dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, 3, res, res) float faces -> (B, 3, crop_h, crop_w) ``dtype``, PIL-style antialiased bicubic.

    No clamping: the reference warps the slightly overshooting values as they are. float32 resizes in float32;
    float16 resizes in the faces' own dtype (the original's: its models' precision) and then rounds to float16.
    """
    crop_w, crop_h = crop_size
    faces = faces.float() if dtype == torch.float32 else faces
    return resize(faces, [crop_h, crop_w], interpolation=InterpolationMode.BICUBIC, antialias=True).to(dtype)


def paste_window(affine_matrices: torch.Tensor, crop_size: tuple[int, int], frame_size: tuple[int, int]) -> Window:
    """Frame rectangle (top, left, bottom, right) holding every pixel the batch's faces can change.

    A frame pixel gets face content when its crop position M @ (x, y, 1) lies within
    (-1, crop_w) x (-1, crop_h); the window bounds the frame-space image of that rectangle.
    Empty (bottom <= top or right <= left) when no face overlaps the frame.
    """
    crop_w, crop_h = crop_size
    frame_h, frame_w = frame_size
    inverse = invert_affine(affine_matrices).double().cpu().numpy()
    corners = np.array([[-1, -1, 1], [crop_w, -1, 1], [-1, crop_h, 1], [crop_w, crop_h, 1]], dtype=np.float64)
    points = corners @ inverse.transpose(0, 2, 1)  # (B, 4, 2) frame x, y
    left = max(math.floor(points[..., 0].min()) - WINDOW_MARGIN, 0)
    top = max(math.floor(points[..., 1].min()) - WINDOW_MARGIN, 0)
    right = min(math.ceil(points[..., 0].max()) + WINDOW_MARGIN + 1, frame_w)
    bottom = min(math.ceil(points[..., 1].max()) + WINDOW_MARGIN + 1, frame_h)
    if bottom <= top or right <= left:
        return top, left, bottom, right
    top, bottom = _snap_to_grid(top, bottom, frame_h)
    left, right = _snap_to_grid(left, right, frame_w)
    return top, left, bottom, right


def _snap_to_grid(start: int, end: int, limit: int) -> tuple[int, int]:
    """Grow [start, end) to a length that is a multiple of ``WINDOW_GRID`` (or the whole of [0, limit))."""
    length = min(-(-(end - start) // WINDOW_GRID) * WINDOW_GRID, limit)
    end = min(start + length, limit)
    return end - length, end


def _erode(masks: torch.Tensor, size: int) -> torch.Tensor:
    """Min over a size x size box covering rows y - size//2 .. y + size - 1 - size//2, outside pixels ignored.

    That offset is OpenCV's default anchor and kornia's origin for the 2x2 kernel (the extra
    pixel of an even box sits before the centre).
    """
    before, after = size // 2, size - 1 - size // 2
    padded = F.pad(masks, (before, after, before, after), mode="constant", value=math.inf)
    return _running_min(_running_min(padded, size, dim=-1), size, dim=-2)  # a box minimum is separable


def _running_min(values: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Minimum of each ``size`` consecutive entries along ``dim`` (exact; the result is ``size - 1`` shorter).

    Doubling spans (1, 2, 4, ...) take ceil(log2(size)) elementwise minimums instead of size comparisons.
    """
    span = 1
    while span < size:
        step = min(span, size - span)  # the last step overlaps the covered span when size is no power of two
        length = values.shape[dim] - step
        values = torch.minimum(values.narrow(dim, 0, length), values.narrow(dim, step, length))
        span += step
    return values


def _gaussian_taps(radius: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Normalised taps of the kernel 2 * radius + 1 with OpenCV's sigma for that size, computed in float32."""
    kernel_size = 2 * radius + 1
    sigma = 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8
    offsets = torch.arange(kernel_size, dtype=torch.float32, device=device) - radius
    taps = torch.exp(-offsets.pow(2) / (2 * sigma**2))
    return (taps / taps.sum()).to(dtype)


def _correlate_last_dim(values: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Valid 1-D correlation of the last dim with ``taps``, ``BLUR_BLOCK`` outputs per row of a matrix product.

    Each block of outputs reads its block of inputs plus ``len(taps) - 1``; the (block + taps - 1, block)
    Toeplitz matrix is the same for every block, so the whole pass is one batched matmul.
    """
    num_taps = len(taps)
    length = values.shape[-1] - num_taps + 1
    num_blocks = -(-length // BLUR_BLOCK)
    values = F.pad(values, (0, num_blocks * BLUR_BLOCK + num_taps - 1 - values.shape[-1]))  # cut off below
    blocks = values.unfold(-1, BLUR_BLOCK + num_taps - 1, BLUR_BLOCK)  # (..., num_blocks, block + taps - 1)
    outputs = torch.arange(BLUR_BLOCK, device=values.device)
    toeplitz = torch.zeros(BLUR_BLOCK + num_taps - 1, BLUR_BLOCK, device=values.device, dtype=values.dtype)
    for tap in range(num_taps):
        toeplitz[outputs + tap, outputs] = taps[tap]
    # One (all blocks, block + taps - 1) GEMM: the overlapping blocks are copied out once, where a batched
    # matmul on the strided view would copy and multiply them one small matrix at a time on a CPU.
    blurred = blocks.reshape(-1, blocks.shape[-1]) @ toeplitz
    return blurred.reshape(*blocks.shape[:-1], BLUR_BLOCK).flatten(-2)[..., :length]


def _gaussian_blur(masks: torch.Tensor, radius: int) -> torch.Tensor:
    """Separable Gaussian, kernel 2 * radius + 1 with OpenCV's sigma for that size, reflect-101 borders."""
    taps = _gaussian_taps(radius, masks.device, masks.dtype)
    padded = F.pad(masks, (radius, radius, radius, radius), mode="reflect")
    rows_done = _correlate_last_dim(padded, taps)
    return _correlate_last_dim(rows_done.transpose(-1, -2), taps).transpose(-1, -2)


def blend_masks_from_coverage(coverage: torch.Tensor) -> BlendMasks:
    """The paste masks from the warped all-ones crop mask, (B, 1, rows, cols), in its dtype.

    Per face: w_edge = int(sqrt(area of the eroded mask)) // 20 sets both the second erosion
    (2 * w_edge square) and the blur (2 * w_edge + 1), so the feathering scales with the face
    size in the frame, not with the working resolution. The area is summed in float32 (a float16 sum of a
    face's pixels would overflow).
    """
    eroded = _erode(coverage, 2)
    edge_widths = [int(area**0.5) // 20 for area in eroded.float().sum(dim=(1, 2, 3)).tolist()]

    center = torch.empty_like(eroded)
    soft = torch.empty_like(eroded)
    for edge_width in sorted(set(edge_widths)):
        same_width = torch.tensor([w == edge_width for w in edge_widths], device=eroded.device)
        # OpenCV replaces the empty 0x0 kernel of a tiny face (w_edge 0) by its default 3x3.
        center[same_width] = _erode(eroded[same_width], 2 * edge_width if edge_width > 0 else 3)
        soft[same_width] = _gaussian_blur(center[same_width], edge_width)
    return BlendMasks(eroded=eroded, center=center, soft=soft)


def paste_faces_back(
    frames: torch.Tensor, faces: torch.Tensor, affine_matrices: torch.Tensor, crop_size: tuple[int, int],
    in_place: bool = False, dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Paste faces into their frames.

    frames: (B, H, W, 3) uint8; faces: (B, 3, res, res) float in [-1, 1] (any float dtype);
    affine_matrices: (B, 2, 3) frame pixel -> crop pixel, as returned by the aligner;
    crop_size: the aligner's (crop_w, crop_h). Returns (B, H, W, 3) uint8 frames (truncated,
    not rounded), on the frames' device, computed in ``dtype`` (float32, or float16 as the original's run, see
    the module docstring): new ones, or ``frames`` itself written over when ``in_place`` (saves copying whole
    frames when the caller owns them).
    """
    frame_size = tuple(frames.shape[1:3])
    affine_matrices = affine_matrices.to(frames.device, dtype).float()  # float16: the original's rounded matrix
    top, left, bottom, right = window = paste_window(affine_matrices, crop_size, frame_size)
    output = frames if in_place else frames.clone()
    if bottom <= top or right <= left:
        return output

    box_faces = resize_faces_to_crop(faces.to(frames.device), crop_size, dtype)
    warped, coverage = warp_affine_with_coverage(box_faces, invert_affine(affine_matrices, dtype), frame_size, window,
                                                 dtype)
    masks = blend_masks_from_coverage(coverage)
    # The reference's arithmetic, in place: fill outside the crop, [-1, 1] -> [0, 255], mask, blend.
    warped.add_((1 - coverage).mul_(FACE_FILL_VALUE)).div_(2).add_(0.5).clamp_(0, 1).mul_(255)
    pasted = warped.mul_(masks.eroded)
    original = output[:, top:bottom, left:right].permute(0, 3, 1, 2).to(dtype)
    blended = pasted.mul_(masks.soft).add_(original.mul_(1 - masks.soft))
    output[:, top:bottom, left:right] = blended.to(torch.uint8).permute(0, 2, 3, 1)
    return output
