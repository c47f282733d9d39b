"""Warping frames from windows around the crop gives the whole-frame warp's bits (alignment reads no whole frame)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentsync.face.alignment import CROP_FILL_VALUE, FaceAligner
from latentsync.face.warp import _axis_cut, _sampling_grid, warp_affine_with_coverage, warp_frames_in_windows

FRAME_SIZE = (150, 129)  # (H, W): odd and even lengths


def whole_frame_warp(frames: torch.Tensor, matrices: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    warped, coverage = warp_affine_with_coverage(frames.permute(0, 3, 1, 2).float(), matrices, out_size)
    return warped + (1 - coverage) * CROP_FILL_VALUE


def similarities(generator: torch.Generator, count: int, spread: float) -> torch.Tensor:
    """``count`` random rotations + scalings + shifts (frame -> crop pixels), the faces ``spread`` px apart."""
    angle = (torch.rand(count, generator=generator) - 0.5) * 0.8
    scale = torch.exp((torch.rand(count, generator=generator) - 0.5) * 2.5)
    shift = torch.rand(2, generator=generator)[:, None] * torch.tensor([[FRAME_SIZE[1]], [FRAME_SIZE[0]]]) * 1.1
    shift = shift - 15 + torch.rand(2, count, generator=generator) * spread
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    rows = [torch.stack([cos, -sin, -shift[0] * scale], -1), torch.stack([sin, cos, -shift[1] * scale], -1)]
    return torch.stack(rows, 1)


@pytest.fixture(scope="module")
def frames() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (3, *FRAME_SIZE, 3), dtype=torch.uint8, generator=generator)


def test_window_warp_equals_the_whole_frame_warp_bit_for_bit(frames):
    """Faces inside, across the border of and outside the frame, close together or apart, at many scales."""
    generator = torch.Generator().manual_seed(1)
    windows_used = set()
    for trial in range(30):
        matrices = similarities(generator, len(frames), spread=3.0 if trial % 2 else 120.0)
        out_size = tuple(int(n) for n in torch.randint(5, 60, (2,), generator=generator))
        grid = _sampling_grid(matrices, FRAME_SIZE, out_size, None, torch.device("cpu"))
        windows_used |= {_axis_cut((grid[..., 0] + 1) * ((FRAME_SIZE[1] - 1) / 2), FRAME_SIZE[1]).k,
                         _axis_cut((grid[..., 1] + 1) * ((FRAME_SIZE[0] - 1) / 2), FRAME_SIZE[0]).k}
        expected = whole_frame_warp(frames, matrices, out_size)
        torch.testing.assert_close(warp_frames_in_windows(frames, matrices, out_size, CROP_FILL_VALUE), expected,
                                   rtol=0, atol=0)
    assert None in windows_used and len(windows_used - {None}) >= 4  # whole axes and windows of several lengths


def test_crop_of_a_full_hd_frame_reads_a_window_only():
    """The fixture's face in a 1080x1920 frame: windows of 513 x 513 pixels, crops equal to the whole frame's."""
    matrices = torch.tensor([[[0.75, 0.05, -320.0], [-0.05, 0.75, -400.0]]]).repeat(2, 1, 1)
    matrices[1, :, 2] += torch.tensor([3.5, -2.25])  # a second face a little apart
    aligner = FaceAligner(256)
    crop_w, crop_h = aligner.crop_size
    grid = _sampling_grid(matrices, (1920, 1080), (crop_h, crop_w), None, torch.device("cpu"))
    cuts = [_axis_cut((grid[..., axis] + 1) * ((size - 1) / 2), size) for axis, size in ((0, 1080), (1, 1920))]
    assert all(cut.length == 513 and max(cut.reaches) < 400 for cut in cuts), cuts

    generator = torch.Generator().manual_seed(2)
    frames = torch.zeros((2, 1920, 1080, 3), dtype=torch.uint8)
    frames[:, 400:900, 300:800] = torch.randint(0, 256, (2, 500, 500, 3), dtype=torch.uint8, generator=generator)
    expected = whole_frame_warp(frames, matrices, (crop_h, crop_w)).to(torch.uint8).permute(0, 2, 3, 1)
    np.testing.assert_array_equal(aligner.crop(frames, matrices).numpy(), expected.numpy())
