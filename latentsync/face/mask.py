"""The fixed mouth masks as tensors and the masked inputs of the UNet (README A and C).

Convention throughout: 1 = keep (known pixels), 0 = region to inpaint (mouth and jaw), the reverse of the usual
SD-inpainting masks. The mask images themselves: ``latentsync.face.mask_image``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torchvision.transforms.functional import InterpolationMode, resize

from latentsync.face.mask_image import DEFAULT_MASK, fixed_mask_image, read_mask_image


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
