"""Building the U-Net from a YAML config and loading released or Stable Diffusion 1.5 weights into it."""

from __future__ import annotations

import logging
import os

import torch
from omegaconf import DictConfig, OmegaConf

from .checkpoint_io import LoadReport, load_state_dict_strict, read_checkpoint
from .unet import UNet3DConditionModel

logger = logging.getLogger(__name__)


def unet_from_config(config: DictConfig | dict | str | os.PathLike) -> UNet3DConditionModel:
    """Build a randomly initialised U-Net from a config file, a full config, or its ``model`` section."""
    if isinstance(config, (str, os.PathLike)):
        config = OmegaConf.load(config)
    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)
    return UNet3DConditionModel(**config.get("model", config))


def load_unet(config: DictConfig | dict | str | os.PathLike, ckpt_path: str | os.PathLike,
              device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> UNet3DConditionModel:
    """Build from ``config`` and load a ``latentsync_unet.pt``-style checkpoint strictly (every key, every shape)."""
    unet = unet_from_config(config)
    state_dict, extras = read_checkpoint(ckpt_path)
    load_state_dict_strict(unet, state_dict, source=str(ckpt_path))  # logs the load report
    logger.info("U-Net checkpoint %s: global_step %s", ckpt_path, extras["global_step"])
    return unet.to(device=device, dtype=dtype).eval()


def drop_incompatible_sd15_keys(unet: UNet3DConditionModel, state_dict: dict[str, torch.Tensor]) -> list[str]:
    """Remove the keys whose shapes a Stable Diffusion 1.5 U-Net cannot share with this config, in place.

    These are the reference's documented rules: ``conv_in`` with another input-channel count, ``conv_out``
    with another output-channel count, and ``attn2.to_k``/``attn2.to_v`` with another (text vs audio) width.
    """
    config = unet.config
    dropped = []
    if "conv_in.weight" in state_dict and state_dict["conv_in.weight"].shape[1] != config.in_channels:
        dropped += ["conv_in.weight", "conv_in.bias"]
    if "conv_out.weight" in state_dict and state_dict["conv_out.weight"].shape[0] != config.out_channels:
        dropped += ["conv_out.weight", "conv_out.bias"]
    dropped += [k for k, v in state_dict.items()
                if ("attn2.to_k." in k or "attn2.to_v." in k) and v.shape[1] != config.cross_attention_dim]
    for key in dropped:
        state_dict.pop(key, None)
    return dropped


def init_unet_from_sd15(unet: UNet3DConditionModel, state_dict: dict[str, torch.Tensor],
                        source: str = "Stable Diffusion 1.5 U-Net") -> LoadReport:
    """Initialise from SD 1.5 weights (diffusers key names): the one load that may leave layers fresh.

    Allowed to stay at their initialisation: the dropped layers and every motion module (SD 1.5 has none).
    Fresh ``conv_in``/``conv_out`` are zeroed, as the reference does, so the new input channels start silent.
    Everything else must match; the report names what was dropped and what stayed fresh.
    """
    dropped = drop_incompatible_sd15_keys(unet, state_dict)
    expected = unet.state_dict()
    allow_missing = {k for k in expected if k in dropped or ".motion_modules." in k}
    report = load_state_dict_strict(unet, state_dict, source=source, allow_missing=allow_missing, dropped=dropped)
    with torch.no_grad():
        for name in ("conv_in", "conv_out"):
            if f"{name}.weight" in report.missing:
                getattr(unet, name).weight.zero_()
                getattr(unet, name).bias.zero_()
    logger.warning("initialised U-Net from %s", report.summary())
    return report
