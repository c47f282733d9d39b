"""The tiny frozen and trained models of ../shared/parity/train (README there), built from the stored weights."""

from __future__ import annotations

import json

import lpips
import torch
from diffusers import AutoencoderKL, DDIMScheduler
from omegaconf import OmegaConf
from safetensors.torch import load_file

from latentsync.losses.perceptual import load_lpips
from latentsync.models.stable_syncnet import StableSyncNet
from latentsync.models.unet import UNet3DConditionModel
from latentsync.models.unet_loading import unet_from_config
from latentsync.models.videomae import VisionTransformer
from tests.helpers.paths import REPO_ROOT, shared_path
from tests.helpers.rule_init import rule_filled_state_dict


def _stored(prefix: str) -> dict[str, torch.Tensor]:
    weights = load_file(shared_path("parity", "train", "tiny_train_models.safetensors"))
    return {key[len(prefix) :]: value for key, value in weights.items() if key.startswith(prefix)}


def _model_configs() -> dict:
    return json.loads(shared_path("parity", "train", "tiny_train_models.json").read_text())


def tiny_train_unet() -> UNet3DConditionModel:
    unet = unet_from_config(shared_path("parity", "unet", "tiny_unet.yaml"))
    unet.load_state_dict(_stored("unet."), strict=True)
    return unet


def tiny_train_vae() -> AutoencoderKL:
    vae = AutoencoderKL(**{k: v for k, v in _model_configs()["vae"].items() if not k.startswith("_")})
    vae.load_state_dict(_stored("vae."), strict=True)
    return vae.eval().requires_grad_(False)


def tiny_videomae() -> VisionTransformer:
    model = VisionTransformer(**_model_configs()["videomae"])
    model.load_state_dict(_stored("videomae."), strict=True)
    return model.eval().requires_grad_(False)


def tiny_syncnet() -> StableSyncNet:
    config = OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml"))
    syncnet = StableSyncNet(config.model)
    syncnet.load_state_dict(load_file(shared_path("parity", "syncnet", "tiny_syncnet.safetensors")), strict=True)
    return syncnet


def rule_filled_lpips() -> lpips.LPIPS:
    """``lpips.LPIPS(net="vgg", pretrained=True, pnet_rand=True)`` with the rule-filled VGG trunk."""
    model = load_lpips(pnet_rand=True)
    model.net.load_state_dict(rule_filled_state_dict(model.net), strict=True)
    return model


def training_scheduler() -> DDIMScheduler:
    return DDIMScheduler.from_pretrained(str(REPO_ROOT / "configs"))
