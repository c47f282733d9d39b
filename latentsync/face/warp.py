"""Bilinear affine warp with the exact arithmetic of the reference (kornia 0.9 ``warp_affine``).

The reference aligns and pastes faces with kornia. Re-deriving its sampling grid step by step
(pixel -> normalised matrices, closed-form 3x3 inverse, linspace base grid, ``grid_sample``)
reproduces its crops bit for bit without depending on kornia. Everything runs on the device of
the input tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# (top, left, bottom, right) of a sub-rectangle of the destination image, end-exclusive.
Window = tuple[int, int, int, int]


def _homogeneous(matrices: torch.Tensor) -> torch.Tensor:
    """(B, 2, 3) affine matrices -> (B, 3, 3) with the row [0, 0, 1] appended."""
    last_row = torch.tensor([0.0, 0.0, 1.0], dtype=matrices.dtype, device=matrices.device)
    return torch.cat([matrices, last_row.expand(matrices.shape[0], 1, 3)], dim=1)


def _inverse_3x3(matrices: torch.Tensor) -> torch.Tensor:
    """Adjugate inverse from column cross products: the formula kornia uses, so the bits agree."""
    col_a, col_b, col_c = matrices[..., :, 0], matrices[..., :, 1], matrices[..., :, 2]
    row0 = torch.linalg.cross(col_b, col_c, dim=-1)
    row1 = torch.linalg.cross(col_c, col_a, dim=-1)
    row2 = torch.linalg.cross(col_a, col_b, dim=-1)
    det = (col_a * row0).sum(-1)
    return torch.stack([row0, row1, row2], dim=-2) / det[..., None, None]


def _pixel_to_normalized(height: int, width: int, device: torch.device) -> torch.Tensor:
    """(1, 3, 3) map from pixel centres to [-1, 1] with align_corners=True."""
    scale_x = 1.0 if width == 1 else 2.0 / (width - 1.0)
    scale_y = 1.0 if height == 1 else 2.0 / (height - 1.0)
    shift_x = 0.0 if width == 1 else -1.0
    shift_y = 0.0 if height == 1 else -1.0
    matrix = [[scale_x, 0.0, shift_x], [0.0, scale_y, shift_y], [0.0, 0.0, 1.0]]
    return torch.tensor([matrix], dtype=torch.float32, device=device)


def _base_coordinates(size: int, device: torch.device) -> torch.Tensor:
    if size == 1:
        return torch.zeros(1, dtype=torch.float32, device=device)
    return torch.linspace(-1.0, 1.0, size, dtype=torch.float32, device=device)


def invert_affine(matrices: torch.Tensor) -> torch.Tensor:
    """Inverse of (B, 2, 3) affine matrices, via a float32 LU inverse of the 3x3 extension (as kornia)."""
    return torch.linalg.inv(_homogeneous(matrices.float()))[:, :2, :]


def _sampling_grid(
    matrices: torch.Tensor, source_size: tuple[int, int], out_size: tuple[int, int], window: Window | None,
    device: torch.device,
) -> torch.Tensor:
    """grid_sample grid (B, rows, cols, 2) of the destination ``window`` for source -> destination ``matrices``."""
    height, width = source_size
    out_h, out_w = out_size
    top, left, bottom, right = window if window is not None else (0, 0, out_h, out_w)
    source_to_destination = _pixel_to_normalized(out_h, out_w, device) @ (
        _homogeneous(matrices.float().to(device)) @ _inverse_3x3(_pixel_to_normalized(height, width, device))
    )
    m = _inverse_3x3(source_to_destination)
    base_y, base_x = torch.meshgrid(
        _base_coordinates(out_h, device)[top:bottom], _base_coordinates(out_w, device)[left:right], indexing="ij"
    )
    grid_x = m[:, 0, 0, None, None] * base_x + m[:, 0, 1, None, None] * base_y + m[:, 0, 2, None, None]
    grid_y = m[:, 1, 0, None, None] * base_x + m[:, 1, 1, None, None] * base_y + m[:, 1, 2, None, None]
    return torch.stack([grid_x, grid_y], dim=-1)


def _sample(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def warp_affine_with_coverage(
    images: torch.Tensor, matrices: torch.Tensor, out_size: tuple[int, int], window: Window | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``warp_affine`` without fill, plus the coverage: the same warp of an all-ones image, (B, 1, rows, cols).

    One grid and one ``grid_sample`` call (the ones ride along as an extra channel) give both, bit-identical
    to warping the image and the ones separately: paste-back needs the face, its fill and its mask from the
    same grid.
    """
    images = images.float()
    grid = _sampling_grid(matrices, tuple(images.shape[-2:]), out_size, window, images.device)
    with_ones = torch.cat([images, torch.ones_like(images[:, :1])], dim=1)
    warped = _sample(with_ones, grid)
    return warped[:, :-1], warped[:, -1:]


def warp_affine(
    images: torch.Tensor,
    matrices: torch.Tensor,
    out_size: tuple[int, int],
    fill: float | None = None,
    window: Window | None = None,
) -> torch.Tensor:
    """Warp ``images`` (B, C, H, W, float) by ``matrices`` (B, 2, 3, source pixel -> destination pixel).

    Destination pixel (x, y) samples the source bilinearly at ``inverse(M) @ (x, y, 1)``, pixel
    centres on integer coordinates. Taps outside the source count as 0, or as ``fill`` when given
    (the reference's ``padding_mode="fill"``). ``out_size`` is (h, w). ``window`` restricts the
    output to a sub-rectangle of that (h, w) image, bit-identical to slicing the full result, so
    pasting a face back need not touch the whole frame. Returns (B, C, rows, cols) float32.
    """
    if fill is None:
        images = images.float()
        return _sample(images, _sampling_grid(matrices, tuple(images.shape[-2:]), out_size, window, images.device))
    warped, coverage = warp_affine_with_coverage(images, matrices, out_size, window)
    return warped + (1 - coverage) * fill
