"""The fixed mouth mask images, and a custom one read from a file (README A): numpy and OpenCV only, so a
command checks ``--mask_image_path`` before the model code loads.

Convention throughout: 255 = keep (known pixels), 0 = region to inpaint (mouth and jaw). The original ships four
256x256 PNGs (``mask.png``, the one every config uses, and the unused alternatives ``mask2.png``-``mask4.png``); here
each is generated from the row extents below instead (IoU of the inpaint regions with the PNGs: 0.997 to 0.999).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

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
