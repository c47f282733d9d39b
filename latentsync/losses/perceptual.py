"""The LPIPS perceptual loss of stage 2, from the ``lpips`` package (VGG trunk, the package's own linear heads)."""

from __future__ import annotations

from pathlib import Path

import lpips
import torch

from latentsync.errors import CheckpointError

VGG16_WEIGHTS = "vgg16-397923af.pth"
VGG16_URL = f"https://download.pytorch.org/models/{VGG16_WEIGHTS}"


def vgg16_weights_path() -> Path:
    """Where torchvision looks for the ImageNet VGG-16 weights LPIPS builds on (the torch hub cache)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_WEIGHTS


def load_lpips(device: torch.device | str = "cpu", pnet_rand: bool = False) -> lpips.LPIPS:
    """``lpips.LPIPS(net="vgg")``, frozen and in eval mode. ``pnet_rand`` skips the ImageNet trunk (tests only).

    The linear heads ship inside the ``lpips`` wheel; the VGG-16 trunk must already be in the torch hub cache,
    checked up front so a missing file fails at start-up instead of attempting a download mid-run.
    """
    weights = vgg16_weights_path()
    if not pnet_rand and not weights.is_file():
        raise CheckpointError(f"LPIPS needs the VGG-16 ImageNet weights at {weights}; download them with "
                              f"`curl -L --create-dirs -o {weights} {VGG16_URL}`")
    try:
        model = lpips.LPIPS(net="vgg", pretrained=True, pnet_rand=pnet_rand, verbose=False)
    except (OSError, RuntimeError) as error:
        raise CheckpointError(f"LPIPS weights could not be loaded ({error}); see {VGG16_URL}") from None
    return model.to(device).eval().requires_grad_(False)


def lower_half_lpips(lpips_model: lpips.LPIPS, pred_pixels: torch.Tensor, gt_pixels: torch.Tensor) -> torch.Tensor:
    """Mean LPIPS of the lower halves (the mouth region) of (N, 3, H, W) frames in [-1, 1], in float32."""
    half = pred_pixels.shape[2] // 2
    return lpips_model(pred_pixels[:, :, half:, :].float(), gt_pixels[:, :, half:, :].float()).mean()
