"""Mixing restored faces with the generated ones: overall strength, the face mask, and a feathered guard over
the mouth.

A restorer re-draws the whole face from its own prior; left alone it may close or reshape a mouth that
LatentSync drew to match the audio. The region LatentSync generated (the inpainted part of its mouth mask)
therefore keeps the generated pixels with a configurable weight, feathered so no seam appears.
"""

from __future__ import annotations

import torch
from torchvision.transforms.functional import gaussian_blur

# Feather width as a fraction of the face side: 1/16 is 16 px at 256 and 32 px at 512, so the transition
# covers the same part of the face at both working resolutions.
FEATHER_FRACTION = 1 / 16


def mouth_protection_map(keep_mask: torch.Tensor, feather_fraction: float = FEATHER_FRACTION) -> torch.Tensor:
    """(1, 1, res, res) float32 map, 1 over the generated mouth region, 0 elsewhere, with a Gaussian feather.

    ``keep_mask``: LatentSync's mask at the face resolution, (C, res, res) or (res, res), 1 = kept pixels and
    0 = generated ones (``load_fixed_mask``). The feather is a Gaussian with sigma = ``feather_fraction`` * res / 2
    (kernel of about 3 sigma each side).
    """
    keep = keep_mask if keep_mask.ndim == 2 else keep_mask[0]
    generated = (1 - keep.float()).clamp(0, 1)[None, None]
    sigma = max(feather_fraction * keep.shape[-1] / 2, 1e-3)
    kernel = 2 * round(3 * sigma) + 1
    if kernel < 3:
        return generated
    return gaussian_blur(generated, [kernel, kernel], [sigma, sigma]).clamp(0, 1)


def blend_restored(generated: torch.Tensor, restored: torch.Tensor, strength: float, face_mask: torch.Tensor,
                   protection: torch.Tensor, mouth_weight: float) -> torch.Tensor:
    """lerp(generated, restored, alpha) with alpha = strength * face_mask * (1 - mouth_weight * protection).

    strength 0 returns ``generated`` itself (bit for bit); alpha is exactly 0 wherever the face mask is 0, and
    where the protection map is 1 with mouth_weight 1 (the generated mouth kept exactly); strength 1 gives
    ``restored`` where the face mask is 1 and the protection map 0. Maps broadcast over the images.
    Computed in float32, returned in ``generated``'s dtype.
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"face enhance strength must be between 0 and 1, got {strength}")
    if not 0.0 <= mouth_weight <= 1.0:
        raise ValueError(f"mouth protection weight must be between 0 and 1, got {mouth_weight}")
    if strength == 0.0:
        return generated
    device = generated.device
    alpha = strength * face_mask.to(device, torch.float32) * (1 - mouth_weight * protection.to(device, torch.float32))
    # torch.lerp returns its end points exactly at weights 0 and 1.
    return torch.lerp(generated.float(), restored.float(), alpha).to(generated.dtype)
