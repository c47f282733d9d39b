"""Bilinear affine warp with the exact arithmetic of the reference (kornia 0.9 ``warp_affine``).

The reference aligns and pastes faces with kornia. Re-deriving its sampling grid step by step
(pixel -> normalised matrices, closed-form 3x3 inverse, linspace base grid, ``grid_sample``)
reproduces its crops bit for bit without depending on kornia. Everything runs on the device of
the input tensors, except that ``warp_frames_in_windows`` copies only windows of the frames to the
device it is given.

``ALIGN_DTYPES``: float32 (the default, what the tests compare with the reference's float32 fixtures) or float16,
the precision of the original's own run (its aligner is built in float16 on the GPU): the matrices, the sampling
grid (kornia's float16 chain: normalising matrices, a float32 inverse cast back, ``affine_grid``), the samples and
everything paste-back blends are then float16, so translations of several hundred pixels are rounded to 0.5-1 px.
The bilinear taps themselves are computed in float32 from the float16 grid and image and rounded to float16 (torch's
CPU float16 ``grid_sample`` reads out of bounds on full-HD frames); the original's GPU kernel also rounds the
unnormalised coordinates and the tap weights to float16, so its pixels differ from these by a level or two here and
there (the whole-frame float16 emulation of the tests sees at most 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from latentsync.face.align_precision import ALIGN_PRECISIONS

# (top, left, bottom, right) of a sub-rectangle of the destination image, end-exclusive.
Window = tuple[int, int, int, int]
ALIGN_DTYPES = {name: getattr(torch, name) for name in ALIGN_PRECISIONS}


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


def _cast_inverse(matrices: torch.Tensor) -> torch.Tensor:
    """Inverse of (B, 3, 3) matrices computed in float32 and returned in their dtype (kornia's inverse of
    float16 matrices)."""
    return torch.linalg.inv(matrices.float()).to(matrices.dtype)


def invert_affine(matrices: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Inverse of (B, 2, 3) affine matrices as ``dtype`` (the matrices are first rounded to it), via a float32 LU
    inverse of the 3x3 extension (as kornia)."""
    return _cast_inverse(_homogeneous(matrices.to(dtype)))[:, :2, :]


def _sampling_grid(
    matrices: torch.Tensor, source_size: tuple[int, int], out_size: tuple[int, int], window: Window | None,
    device: torch.device, dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """grid_sample grid (B, rows, cols, 2) of the destination ``window`` for source -> destination ``matrices``."""
    return torch.stack(_grid_coordinates(matrices, source_size, out_size, window, device, dtype), dim=-1)


def _grid_coordinates(
    matrices: torch.Tensor, source_size: tuple[int, int], out_size: tuple[int, int], window: Window | None,
    device: torch.device, dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The x and y of the sampling grid, each (B, rows, cols) float32, in grid_sample's normalised units; ``dtype``
    float16: the original's float16 grid (``_half_grid``), its values exact in float32."""
    if dtype == torch.float16:
        grid = _half_grid(matrices, source_size, out_size, window, device).float()
        return grid[..., 0], grid[..., 1]
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
    return grid_x, grid_y


def _half_grid(matrices: torch.Tensor, source_size: tuple[int, int], out_size: tuple[int, int],
               window: Window | None, device: torch.device) -> torch.Tensor:
    """The float16 sampling grid (B, rows, cols, 2) of the destination ``window``, built as kornia's ``warp_affine``
    builds it for float16 matrices: the matrices and the pixel-to-normalised maps in float16, their chain multiplied
    in float16, each inverse in float32 and cast back, then ``affine_grid``'s base grid times the matrix in float16
    (for the window's rows and columns only)."""
    half = torch.float16
    height, width = source_size
    out_h, out_w = out_size
    top, left, bottom, right = window if window is not None else (0, 0, out_h, out_w)
    source_to_destination = _pixel_to_normalized(out_h, out_w, device).to(half) @ (
        _homogeneous(matrices.to(device, half)) @ _cast_inverse(_pixel_to_normalized(height, width, device).to(half)))
    theta = _cast_inverse(source_to_destination)[:, :2, :]
    base_y, base_x = torch.meshgrid(torch.linspace(-1, 1, out_h, dtype=half, device=device)[top:bottom],
                                    torch.linspace(-1, 1, out_w, dtype=half, device=device)[left:right], indexing="ij")
    base = torch.stack([base_x, base_y, torch.ones_like(base_x)], dim=-1)
    grid = base.reshape(1, -1, 3).expand(len(theta), -1, -1) @ theta.transpose(1, 2)
    return grid.view(len(theta), *base.shape[:2], 2)


def _sample(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def warp_affine_with_coverage(
    images: torch.Tensor, matrices: torch.Tensor, out_size: tuple[int, int], window: Window | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``warp_affine`` plus the coverage: the same warp of an all-ones image, (B, 1, rows, cols), both ``dtype``.

    One grid and one ``grid_sample`` call (the ones ride along as an extra channel) give both, bit-identical
    to warping the image and the ones separately: paste-back needs the face, its fill and its mask from the
    same grid. float16: the images and the grid rounded as the original's float16 run has them, the samples too.
    """
    images = images.to(dtype).float()
    grid = _sampling_grid(matrices, tuple(images.shape[-2:]), out_size, window, images.device, dtype)
    warped = _sample(torch.cat([images, torch.ones_like(images[:, :1])], dim=1), grid).to(dtype)
    return warped[:, :-1], warped[:, -1:]


def warp_affine(
    images: torch.Tensor, matrices: torch.Tensor, out_size: tuple[int, int], window: Window | None = None
) -> torch.Tensor:
    """Warp ``images`` (B, C, H, W, float) by ``matrices`` (B, 2, 3, source pixel -> destination pixel).

    Destination pixel (x, y) samples the source bilinearly at ``inverse(M) @ (x, y, 1)``, pixel
    centres on integer coordinates; taps outside the source count as 0 (the reference's fill
    value comes from the coverage: ``warp_affine_with_coverage``, ``warp_frames_in_windows``).
    ``out_size`` is (h, w). ``window`` restricts the output to a sub-rectangle of that (h, w) image,
    bit-identical to slicing the full result, so pasting a face back need not touch the whole frame.
    Returns (B, C, rows, cols) float32.
    """
    images = images.float()
    return _sample(images, _sampling_grid(matrices, tuple(images.shape[-2:]), out_size, window, images.device))


@dataclass(frozen=True)
class _AxisCut:
    """How the windows cut one source axis (x or y)."""

    starts: list[int]  # per frame: the window's first pixel in the frame
    stops: list[int]  # per frame: the end of the frame's pixels copied into the window (exclusive)
    reaches: list[int]  # per frame: the window pixels its taps reach (beyond stop - start: past the frame's edge)
    length: int  # the window's length for grid_sample: 2^(k+1) + 1, or the whole axis
    k: int | None  # None: the whole axis, the grid unchanged


def _axis_cut(pixels: torch.Tensor, size: int) -> _AxisCut:
    """The cut of one axis of length ``size`` for sampling coordinates ``pixels`` (B, rows, cols) along it.

    The taps of a coordinate are its floor and the next pixel. A window of length 2^(k+1) + 1 from the first
    tap holds every in-frame tap, and ``grid_sample`` scales by exactly 2^k there; the window's grid,
    (pixels - start) / 2^k - 1, gives back ``pixels - start`` with no rounding when every coordinate is at
    least 2^(k-1) (then they have no bits below 2^(k-24)). Otherwise, or when the window would not be shorter,
    the whole axis is kept.
    """
    lows, highs = pixels.amin(dim=(1, 2)).tolist(), pixels.amax(dim=(1, 2)).tolist()
    whole_axis = _AxisCut([0] * len(lows), [size] * len(lows), [size] * len(lows), size, None)
    if not all(math.isfinite(value) for value in lows + highs):
        return whole_axis
    starts = [min(max(math.floor(low), 0), size - 1) for low in lows]
    tap_ends = [math.floor(high) + 2 for high in highs]
    span = max(min(end, size) - 1 - start for start, end in zip(starts, tap_ends))  # the farthest in-frame tap
    k = max(span - 1, 1).bit_length() - 1  # the smallest k >= 0 with 2^(k+1) >= span
    length = 2 ** (k + 1) + 1
    if length >= size or min(lows) < 2 ** (k - 1):
        return whole_axis
    stops = [min(end, size) for end in tap_ends]
    reaches = [min(end - start, length) for start, end in zip(starts, tap_ends)]
    return _AxisCut(starts, stops, reaches, length, k)


def warp_frames_in_windows(
    frames: torch.Tensor, matrices: torch.Tensor, out_size: tuple[int, int], fill: float,
    device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The whole-frame warp of (B, H, W, C) uint8 frames, ``fill`` where uncovered, reading only windows of them.

    Only the bounding box of each frame's bilinear taps (the crop's preimage plus the sampling margin) is
    copied to ``device`` (default: the frames' device) and converted to float. The result has the same bits
    as warping the whole frames on that device: ``grid_sample`` sees the same source coordinates, shifted by
    whole pixels. It unnormalises a grid value g as (g + 1) * (length - 1) / 2; with a window length of
    2^(k+1) + 1 and g = (x - start) / 2^k - 1 every step is exact (see ``_axis_cut``; an axis where that cannot
    hold is taken whole). Taps outside the frame read 0 and so does the coverage channel, as with whole frames.
    Returns (B, C, out_h, out_w) ``dtype`` on ``device`` (float16: the original's grid, samples and fill, see the
    module docstring).
    """
    device = frames.device if device is None else torch.device(device)
    num_frames, height, width, channels = frames.shape
    window_coordinates, cuts = [], []
    for coordinates, size in zip(_grid_coordinates(matrices, (height, width), out_size, None, device, dtype),
                                 (width, height)):
        pixels = (coordinates + 1) * ((size - 1) / 2)  # grid_sample's own unnormalisation, step by step
        cut = _axis_cut(pixels, size)
        if cut.k is None:
            window_coordinates.append(coordinates)
        else:
            starts = torch.tensor(cut.starts, dtype=torch.float32, device=device)[:, None, None]
            window_coordinates.append(pixels.sub_(starts).mul_(2.0**-cut.k).sub_(1))
        cuts.append(cut)
    x_cut, y_cut = cuts

    # Stored per frame: the pixels its taps reach, channels first, the last channel the coverage's all-ones
    # image. grid_sample reads a window only at taps, so a strided view gives the stored pixels the window's
    # power-of-two length: its further rows and columns alias memory that no tap reads (left uninitialised).
    stored_shape = (num_frames, channels + 1, max(y_cut.reaches), max(x_cut.reaches))
    strides = (math.prod(stored_shape[1:]), math.prod(stored_shape[2:]), stored_shape[3], 1)
    lengths = (num_frames, channels + 1, y_cut.length, x_cut.length)
    storage = torch.empty(max(math.prod(stored_shape), 1 + sum((n - 1) * s for n, s in zip(lengths, strides))),
                          device=device)
    stored = storage[: math.prod(stored_shape)].view(stored_shape)
    for index, (top, bottom, y_reach, left, right, x_reach) in enumerate(
        zip(y_cut.starts, y_cut.stops, y_cut.reaches, x_cut.starts, x_cut.stops, x_cut.reaches)
    ):
        rows, cols = bottom - top, right - left
        stored[index, :channels, :rows, :cols] = frames[index, top:bottom, left:right].to(device).permute(2, 0, 1)
        stored[index, channels, :rows, :cols] = 1
        stored[index, :, rows:y_reach, :x_reach] = 0  # taps past the frame's edges read 0, as with whole frames
        stored[index, :, :y_reach, cols:x_reach] = 0
    warped = _sample(storage.as_strided(lengths, strides), torch.stack(window_coordinates, dim=-1)).to(dtype)
    faces, coverage = warped[:, :-1], warped[:, -1:]
    return faces.add_((1 - coverage).mul_(fill))
