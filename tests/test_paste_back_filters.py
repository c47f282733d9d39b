"""The fast erosion and blur of paste-back against OpenCV (same box minimum and Gaussian as the reference's kornia)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from latentsync.face.paste_back import _erode, _gaussian_blur
from latentsync.face.warp import warp_affine, warp_affine_with_coverage


def soft_masks(seed: int = 0, shape=(3, 1, 150, 97)) -> torch.Tensor:
    """Masks like a warped crop: mostly 0 or 1, fractional along the borders."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=generator) * 3 - 1).clamp(0, 1)


@pytest.mark.parametrize("size", [2, 3, 5, 8, 12, 17])
def test_erode_equals_opencv(size):
    masks = soft_masks(size)
    expected = [cv2.erode(mask[0].numpy(), np.ones((size, size), np.uint8)) for mask in masks]
    np.testing.assert_array_equal(_erode(masks, size)[:, 0].numpy(), np.stack(expected))  # a minimum is exact


@pytest.mark.parametrize("radius", [1, 6, 13, 40])
def test_gaussian_blur_equals_opencv(radius):
    masks = soft_masks(radius)
    size = 2 * radius + 1
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8  # the reference's sigma (OpenCV's rule, given explicitly: for
    # sizes up to 7 with sigma 0 OpenCV would use fixed binomial taps, kornia does not)
    expected = [cv2.GaussianBlur(mask[0].numpy(), (size, size), sigma) for mask in masks]
    np.testing.assert_allclose(_gaussian_blur(masks, radius)[:, 0].numpy(), np.stack(expected), atol=2e-6, rtol=0)


def test_coverage_is_the_warp_of_ones_bit_for_bit():
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(2, 3, 40, 30, generator=generator) * 255
    matrices = torch.tensor([[[0.9, 0.1, 5.3], [-0.1, 0.9, 7.1]], [[1.2, 0.0, -3.0], [0.0, 1.1, 2.5]]])
    window = (3, 4, 50, 41)
    warped, coverage = warp_affine_with_coverage(images, matrices, (60, 45), window)
    torch.testing.assert_close(warped, warp_affine(images, matrices, (60, 45), window=window), atol=0, rtol=0)
    ones = warp_affine(torch.ones(2, 1, 40, 30), matrices, (60, 45), window=window)
    torch.testing.assert_close(coverage, ones, atol=0, rtol=0)
