"""Building the U-Net from a YAML config; loading released weights (strictly) or a training start (non-strictly)."""

from __future__ import annotations

import logging
import os

import torch
from omegaconf import DictConfig, OmegaConf

from latentsync.models.checkpoint_io import (LoadReport, load_state_dict_non_strict, load_state_dict_strict,
                                             read_checkpoint)
from latentsync.models.unet import UNet3DConditionModel

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


def drop_incompatible_keys(unet: UNet3DConditionModel, state_dict: dict[str, torch.Tensor]) -> dict[str, str]:
    """Remove, in place, the keys whose shapes cannot fit this config; return each with the reason.

    The original's rules for starting training from another model (a Stable Diffusion 1.5 U-Net, a checkpoint of
    another stage or release): ``conv_in`` with another input-channel count, ``conv_out`` with another
    output-channel count, and ``attn2.to_k``/``attn2.to_v`` whose input width is not ``cross_attention_dim``.
    """
    config = unet.config
    reasons: dict[str, str] = {}
    conv_in = state_dict.get("conv_in.weight")
    if conv_in is not None and conv_in.shape[1] != config.in_channels:
        why = f"{conv_in.shape[1]} input channels, the config has in_channels {config.in_channels}"
        reasons |= {"conv_in.weight": why, "conv_in.bias": why}
    conv_out = state_dict.get("conv_out.weight")
    if conv_out is not None and conv_out.shape[0] != config.out_channels:
        why = f"{conv_out.shape[0]} output channels, the config has out_channels {config.out_channels}"
        reasons |= {"conv_out.weight": why, "conv_out.bias": why}
    for key, value in state_dict.items():
        audio_projection = "attn2.to_k." in key or "attn2.to_v." in key
        if audio_projection and value.ndim == 2 and value.shape[1] != config.cross_attention_dim:
            reasons[key] = f"width {value.shape[1]}, the config has cross_attention_dim {config.cross_attention_dim}"
    for key in reasons:
        state_dict.pop(key, None)
    return reasons


def load_unet_training_start(unet: UNet3DConditionModel, path: str | os.PathLike) -> tuple[LoadReport, int]:
    """Load ``ckpt.resume_ckpt_path`` to start training, non-strictly as the original; return the report and the
    file's ``global_step`` (0 when absent), which training continues from.

    Incompatible layers are dropped (``drop_incompatible_keys``), keys the model lacks are ignored and layers the
    file lacks keep the model's initialisation: so stage 2 starts from a stage-1 checkpoint with fresh motion
    modules, stage 1 from a released checkpoint, a 1.6 model from a 1.5 checkpoint, stage 1 from SD 1.5. A fresh
    ``conv_in``/``conv_out`` is zeroed, as the original's constructor initialises them. Any other shape mismatch
    fails, naming the keys. Inference loads strictly (``load_unet``).
    """
    state_dict, extras = read_checkpoint(path)
    reasons = drop_incompatible_keys(unet, state_dict)
    report = load_state_dict_non_strict(unet, state_dict, source=str(path), dropped=reasons)
    zero_input_output_convs(unet, [name for name in ("conv_in", "conv_out") if f"{name}.weight" in report.missing])
    return report, int(extras["global_step"])


def zero_input_output_convs(unet: UNet3DConditionModel, names: list[str] | tuple[str, ...] = ("conv_in", "conv_out")
                            ) -> None:
    """Zero ``conv_in``/``conv_out``: the original's constructor starts both at zero, so new input channels start
    silent (this constructor keeps torch's default, which only matters to a training start)."""
    with torch.no_grad():
        for name in names:
            getattr(unet, name).weight.zero_()
            getattr(unet, name).bias.zero_()
