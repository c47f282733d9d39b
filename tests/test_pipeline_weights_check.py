"""Inference and the demo check the U-Net config's keys and every weight before loading any; the VAE fails fast
offline, naming --vae_model_path, and a cached one is read without asking the hub."""

from __future__ import annotations

import time

import pytest
from huggingface_hub import constants
from omegaconf import OmegaConf

from latentsync.config.unet_config import load_unet_config
from latentsync.errors import CheckpointError, InputError
from latentsync.pipelines import loading
from latentsync.pipelines.vae_check import VAE_FILES, check_vae
from tests.helpers.paths import REPO_ROOT
from tests.helpers.tiny_models import write_tiny_release

UNREACHABLE = "http://127.0.0.1:9"  # connections are refused at once
VAE_REPO = "stabilityai/sd-vae-ft-mse"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_tiny_release(tmp_path_factory.mktemp("release"))


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", UNREACHABLE)
    return tmp_path / "hub"


@pytest.mark.parametrize("section, key", [("run", "inferance_steps"), ("data", "resolutoin"), ("model", "in_chanels")])
def test_misspelt_key_of_the_released_config_is_named(tmp_path, section, key):
    config = OmegaConf.load(REPO_ROOT / "configs/unet/stage2_512.yaml")
    config[section][key] = 30
    path = tmp_path / "my_unet.yaml"
    OmegaConf.save(config, path)
    with pytest.raises(InputError, match=rf"{path}: unknown key '{section}\.{key}' \(known keys of {section}: "):
        load_unet_config(path)


def test_every_released_config_and_a_model_only_config_pass(release):
    for path in sorted((REPO_ROOT / "configs/unet").glob("*.yaml")):
        assert load_unet_config(path).model.cross_attention_dim > 0
    assert "run" not in load_unet_config(release["unet_config_path"])  # training keys are not required


def test_missing_vae_fails_before_any_model_is_loaded(release, monkeypatch, tmp_path):
    def never(*args, **kwargs):
        raise AssertionError("a model was loaded before the VAE was checked")

    monkeypatch.setattr(loading, "Audio2Feature", never)
    monkeypatch.setattr(loading, "load_unet", never)
    paths = {name: release[name] for name in ("unet_config_path", "inference_ckpt_path", "whisper_model_path")}
    with pytest.raises(CheckpointError, match=rf"^VAE folder {tmp_path}/vae not found; pass --vae_model_path "):
        loading.load_lipsync_pipeline(**paths, vae_model_path=tmp_path / "vae", device="cpu")
    (tmp_path / "vae").mkdir()
    (tmp_path / "vae" / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="lacks diffusion_pytorch_model.safetensors; pass --vae_model_path"):
        loading.load_lipsync_pipeline(**paths, vae_model_path=tmp_path / "vae", device="cpu")
    with pytest.raises(CheckpointError, match=rf"^U-Net checkpoint {tmp_path}/unet.pt not found"):
        loading.load_lipsync_pipeline(**{**paths, "inference_ckpt_path": tmp_path / "unet.pt"},
                                      vae_model_path=release["vae_model_path"], device="cpu")


@pytest.mark.parametrize("offline, reason", [(True, "HF_HUB_OFFLINE is set"), (False, f"{UNREACHABLE} is unreachable")])
def test_uncached_vae_offline_fails_at_once_naming_the_fix(empty_hub_cache, monkeypatch, offline, reason):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    started = time.monotonic()
    with pytest.raises(CheckpointError) as raised:
        loading.load_vae(VAE_REPO, dtype=None)
    assert time.monotonic() - started < 5  # one refused request, no retry loop
    message = str(raised.value)
    assert message.startswith(f"VAE {VAE_REPO} is not in the Hugging Face cache and cannot be downloaded ({reason}")
    assert "pass --vae_model_path a local diffusers folder holding config.json and " \
           "diffusion_pytorch_model.safetensors" in message and "\n" not in message


def test_cached_vae_is_read_without_the_hub(empty_hub_cache):
    snapshot = empty_hub_cache / "models--stabilityai--sd-vae-ft-mse" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (empty_hub_cache / "models--stabilityai--sd-vae-ft-mse" / "refs").mkdir()
    (empty_hub_cache / "models--stabilityai--sd-vae-ft-mse" / "refs" / "main").write_text("0123abcd")
    for name in VAE_FILES:
        (snapshot / name).write_text("{}")
    assert check_vae(VAE_REPO) is True  # local_files_only: the unreachable endpoint is never asked
