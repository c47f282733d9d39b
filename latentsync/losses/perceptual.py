"""The LPIPS perceptual loss of stage 2, from the ``lpips`` package (VGG trunk, the package's own linear heads)."""

from __future__ import annotations

import os
from pathlib import Path

import lpips
import torch

from latentsync.errors import CheckpointError
from latentsync.locations import CheckpointLayout
from latentsync.models.checkpoint_files import unreadable_checkpoint

VGG16_WEIGHTS = "vgg16-397923af.pth"
VGG16_URL = f"https://download.pytorch.org/models/{VGG16_WEIGHTS}"
RELEASE_VGG16_PATH = CheckpointLayout().auxiliary / VGG16_WEIGHTS
# torchvision's vgg16().features indices that each LPIPS slice holds (module names keep the index).
_SLICE_BOUNDS = ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30))


def load_lpips(device: torch.device | str = "cpu", pnet_rand: bool = False,
               vgg_weights_path: str | os.PathLike | None = None) -> lpips.LPIPS:
    """``lpips.LPIPS(net="vgg")``, frozen and in eval mode. ``pnet_rand`` leaves the trunk random (tests only).

    The linear heads ship inside the ``lpips`` wheel. The VGG-16 ImageNet trunk is read from
    ``vgg_weights_path``, else ``checkpoints/auxiliary/vgg16-397923af.pth`` (where the original's setup puts
    it), else torchvision's hub cache; a missing file fails at start-up instead of a download attempt mid-run.
    """
    model = lpips.LPIPS(net="vgg", pretrained=True, pnet_rand=True, verbose=False)
    if not pnet_rand:
        model.net.load_state_dict(_lpips_trunk_state_dict(vgg16_weights(vgg_weights_path)), strict=True)
    return model.to(device).eval().requires_grad_(False)


def lower_half_lpips(lpips_model: lpips.LPIPS, pred_pixels: torch.Tensor, gt_pixels: torch.Tensor) -> torch.Tensor:
    """Mean LPIPS of the lower halves (the mouth region) of (N, 3, H, W) frames in [-1, 1], in float32."""
    half = pred_pixels.shape[2] // 2
    return lpips_model(pred_pixels[:, :, half:, :].float(), gt_pixels[:, :, half:, :].float()).mean()


def vgg16_weights(path: str | os.PathLike | None) -> Path:
    hub_cache = Path(torch.hub.get_dir()) / "checkpoints" / VGG16_WEIGHTS
    candidates = [Path(path)] if path else [RELEASE_VGG16_PATH, hub_cache]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise CheckpointError(f"LPIPS needs the VGG-16 ImageNet weights at {candidates[0]}; download them with "
                          f"`curl -L --create-dirs -o {candidates[0]} {VGG16_URL}`")


def _lpips_trunk_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """torchvision ``vgg16`` checkpoint -> the state dict of ``lpips.pretrained_networks.vgg16`` (slice1..slice5)."""
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch raises several types for corrupt files
        raise unreadable_checkpoint(path, "VGG-16 weights", f"`curl -L -o {path} {VGG16_URL}`") from None
    trunk = {}
    for number, (first, stop) in enumerate(_SLICE_BOUNDS, start=1):
        for index in range(first, stop):
            for name in ("weight", "bias"):
                key = f"features.{index}.{name}"
                if key in state_dict:
                    trunk[f"slice{number}.{index}.{name}"] = state_dict[key]
    if len(trunk) != 26:
        raise CheckpointError(f"{path} is not a torchvision VGG-16 checkpoint (found {len(trunk)} of the 26 "
                              f"convolution tensors); download {VGG16_URL}")
    return trunk
