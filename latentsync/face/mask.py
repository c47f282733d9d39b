"""The fixed mouth masks and the masked inputs of the UNet (README A and C).

Convention throughout: 1 = keep (known pixels), 0 = region to inpaint (mouth and jaw), the
reverse of the usual SD-inpainting masks. The original ships four 256x256 PNGs (``mask.png``, the one
every config uses, and the unused alternatives ``mask2.png``-``mask4.png``); here each is generated from
the row extents below instead (IoU of the inpaint regions with the PNGs: 0.997 to 0.999).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torchvision.transforms.functional import InterpolationMode, resize

from latentsync.errors import InputError

MASK_IMAGE_SIZE = 256
# The jaw of mask.png from row 128 down as (row, first column, last column) keypoints, inclusive; rows in
# between interpolate linearly and round. Straight sides narrowing slowly, then a rounded chin.
JAW_EXTENTS = (
    (128, 9, 247), (134, 9, 247), (150, 11, 245), (165, 12, 244), (170, 12, 243), (175, 15, 241),
    (180, 18, 238), (185, 21, 234), (190, 24, 231), (195, 28, 228), (200, 33, 223), (205, 37, 219),
    (210, 43, 214), (215, 49, 208), (220, 57, 202), (225, 66, 194), (230, 76, 185), (235, 87, 173),
    (238, 95, 166), (240, 104, 160), (241, 108, 156), (242, 131, 152),
)  # fmt: skip
# mask3.png: a smaller bowl around the mouth only.
SMALL_BOWL_EXTENTS = (
    (128, 39, 217), (136, 39, 217), (148, 41, 215), (160, 45, 211), (170, 50, 206), (180, 56, 200),
    (190, 64, 192), (196, 70, 186), (200, 76, 180), (204, 82, 174), (208, 88, 167), (211, 95, 161),
    (213, 100, 155), (215, 108, 148), (216, 113, 143), (217, 120, 136),
)  # fmt: skip


@dataclass(frozen=True)
class MaskShape:
    """An inpaint region: rectangles ``((first_row, last_row), (first_col, last_col))`` plus an interpolated bowl."""

    rectangles: tuple[tuple[tuple[int, int], tuple[int, int]], ...]
    bowl: tuple[tuple[int, int, int], ...]


MASK_SHAPES = {
    # Cheek bands on rows 95..127 beside a kept notch around the nose, then the jaw.
    "mask": MaskShape((((95, 127), (9, 77)), ((95, 127), (178, 246))), JAW_EXTENTS),
    "mask2": MaskShape((), JAW_EXTENTS),  # the jaw only
    "mask3": MaskShape((), SMALL_BOWL_EXTENTS),
    "mask4": MaskShape((((60, 127), (9, 246)),), JAW_EXTENTS),  # the jaw and the whole face up to the eyes
}
MASK_NAMES = tuple(MASK_SHAPES)
DEFAULT_MASK = "mask"


def fixed_mask_image(name: str = DEFAULT_MASK) -> np.ndarray:
    """The named mask (``mask``, ``mask2``, ``mask3``, ``mask4``) as a (256, 256, 3) uint8 RGB image: 255 = keep."""
    if name not in MASK_SHAPES:
        raise InputError(f"unknown mask {name!r}; choose one of {', '.join(MASK_NAMES)} or pass a mask image path")
    shape = MASK_SHAPES[name]
    mask = np.full((MASK_IMAGE_SIZE, MASK_IMAGE_SIZE), 255, dtype=np.uint8)
    for (first_row, last_row), (first_col, last_col) in shape.rectangles:
        mask[first_row : last_row + 1, first_col : last_col + 1] = 0

    key_rows, key_firsts, key_lasts = (np.array(column) for column in zip(*shape.bowl))
    rows = np.arange(key_rows[0], key_rows[-1] + 1)
    firsts = np.rint(np.interp(rows, key_rows, key_firsts)).astype(int)
    lasts = np.rint(np.interp(rows, key_rows, key_lasts)).astype(int)
    for row, first_col, last_col in zip(rows, firsts, lasts):
        mask[row, first_col : last_col + 1] = 0
    return np.repeat(mask[:, :, None], 3, axis=2)


def read_mask_image(path: str | Path) -> np.ndarray:
    """Read a custom mask image (``--mask_image_path``) as (H, W, 3) uint8 RGB, like the reference."""
    if not Path(path).is_file():  # said here: OpenCV would first print its own warning about the path
        raise InputError(f"mask image {str(path)!r} does not exist; pass the path of a PNG/JPEG file")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"mask image {str(path)!r} is not a readable image; pass a PNG/JPEG file")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def mask_from_image(image: np.ndarray, resolution: int) -> torch.Tensor:
    """(H, W, 3) uint8 mask image -> (3, res, res) float64 in [0, 1].

    Lanczos4 on the uint8 image, then / 255: at 512 the 256 mask gets fractional (ringing) edges,
    which the reference keeps.
    """
    resized = cv2.resize(image, (resolution, resolution), interpolation=cv2.INTER_LANCZOS4) / 255.0
    return torch.from_numpy(resized).permute(2, 0, 1).contiguous()


def load_fixed_mask(resolution: int, mask_image_path: str | Path | None = None,
                    mask_name: str = DEFAULT_MASK) -> torch.Tensor:
    """The 3-channel mask at ``resolution``: a custom image when a path is given, else the named generated mask."""
    image = fixed_mask_image(mask_name) if mask_image_path is None else read_mask_image(mask_image_path)
    return mask_from_image(image, resolution)


def prepare_masks_and_masked_images(
    images: torch.Tensor | np.ndarray, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn aligned faces into the UNet's image inputs.

    images: (B, 3, H, W) or (B, H, W, 3) uint8 faces; mask: (3, res, res) from ``load_fixed_mask``.
    Returns pixel_values (B, 3, res, res) float32 in [-1, 1]; masked_pixel_values = pixel_values *
    mask (float64 via the float64 mask, as the reference, so the inpaint region becomes 0); and
    masks = channel 0 of the mask per face, (B, 1, res, res) float64. On the images' device.
    """
    images = torch.as_tensor(images)
    if images.shape[-1] == 3:
        images = images.permute(0, 3, 1, 2)
    resolution = mask.shape[-1]
    images = resize(images, [resolution, resolution], interpolation=InterpolationMode.BICUBIC, antialias=True)
    mask = mask.to(images.device)
    pixel_values = (images / 255.0 - 0.5) / 0.5
    masked_pixel_values = pixel_values * mask
    masks = mask[0:1].expand(len(images), 1, resolution, resolution).clone()
    return pixel_values, masked_pixel_values, masks
