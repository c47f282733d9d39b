"""The U-Net reproduces the reference's outputs, internal activations and full-size state-dict layouts."""

import json

import pytest
import torch
from safetensors.torch import load_file

from latentsync.models.unet import UNet3DConditionModel
from latentsync.models.unet_loading import unet_from_config
from tests.helpers.paths import shared_path

OUTPUT_ATOL = 1e-4  # README section 6: ~30x the fp32-vs-fp64 noise of 3.3e-6
DEBUG_ATOL = 5e-4


def _tiny_unet(name: str) -> UNet3DConditionModel:
    unet = unet_from_config(shared_path("parity", "unet", f"{name}.yaml"))
    unet.load_state_dict(load_file(shared_path("parity", "unet", f"{name}.safetensors")), strict=True)
    return unet.eval()


@pytest.fixture(scope="module")
def tiny_unet() -> UNet3DConditionModel:
    return _tiny_unet("tiny_unet")


@pytest.fixture(scope="module")
def cases() -> dict[str, torch.Tensor]:
    return load_file(shared_path("parity", "unet", "tiny_unet_cases.safetensors"))


@pytest.mark.parametrize("case, audio", [("cfg", "cfg"), ("no_audio", None), ("single", "single"), ("odd", "odd")])
@torch.no_grad()
def test_tiny_unet_outputs(tiny_unet, cases, case, audio):
    inputs = "cfg" if case == "no_audio" else case
    audio_embeds = None if audio is None else cases[f"{audio}.encoder_hidden_states"]
    out = tiny_unet(cases[f"{inputs}.sample"], cases[f"{inputs}.timestep"], encoder_hidden_states=audio_embeds).sample
    expected = cases[f"{case}.out"]
    assert out.shape == expected.shape
    assert (out - expected).abs().max().item() <= OUTPUT_ATOL


@torch.no_grad()
def test_audio_3d_and_4d_layouts_agree(tiny_unet, cases):
    audio = cases["cfg.encoder_hidden_states"]
    sample, t = cases["cfg.sample"], cases["cfg.timestep"]
    flat = tiny_unet(sample, t, encoder_hidden_states=audio).sample
    nested = tiny_unet(sample, t, encoder_hidden_states=audio.reshape(2, 8, 50, -1)).sample
    assert torch.equal(flat, nested)


@torch.no_grad()
def test_python_int_timestep(tiny_unet, cases):
    out = tiny_unet(cases["single.sample"], 1, encoder_hidden_states=cases["single.encoder_hidden_states"]).sample
    assert (out - cases["single.out"]).abs().max().item() <= OUTPUT_ATOL


@torch.no_grad()
def test_tiny_unet_internal_activations(tiny_unet, cases):
    taps = sorted(k.removeprefix("single.debug.") for k in cases if k.startswith("single.debug."))
    captured = {}
    modules = dict(tiny_unet.named_modules())
    handles = [modules[name].register_forward_hook(
        lambda _m, _i, out, name=name: captured.__setitem__(name, out[0] if isinstance(out, tuple) else out))
        for name in taps]
    try:
        tiny_unet(cases["single.sample"], cases["single.timestep"],
                  encoder_hidden_states=cases["single.encoder_hidden_states"])
    finally:
        for handle in handles:
            handle.remove()
    assert len(taps) >= 14
    for name in taps:
        expected = cases[f"single.debug.{name}"]
        assert captured[name].shape == expected.shape, name
        assert (captured[name] - expected).abs().max().item() <= DEBUG_ATOL, name


@torch.no_grad()
def test_stage1_variant(cases):
    unet = _tiny_unet("tiny_unet_stage1")
    assert not any(".motion_modules." in k for k in unet.state_dict())
    out = unet(cases["cfg.sample"], cases["cfg.timestep"], encoder_hidden_states=cases["cfg.encoder_hidden_states"]).sample
    assert (out - cases["stage1.out"]).abs().max().item() <= OUTPUT_ATOL


@pytest.mark.parametrize("stage", ["stage1", "stage2", "stage2_efficient"])
@pytest.mark.slow
def test_full_size_manifest(stage):
    manifest = json.loads(shared_path("parity", "unet", f"manifest_{stage}.json").read_text())
    with torch.device("meta"):
        unet = UNet3DConditionModel(**manifest["config"])
    state = {k: list(v.shape) for k, v in unet.state_dict().items()}
    assert list(state.items()) == list(manifest["state_dict"].items())  # same keys, shapes and order
    assert sum(p.numel() for p in unet.parameters()) == manifest["num_params"]
    buffers = [k for k in state if k not in dict(unet.named_parameters())]
    assert sorted(buffers) == sorted(manifest["non_parameter_keys"])


@pytest.mark.parametrize("config, stage", [("stage1", "stage1"), ("stage1_512", "stage1"), ("stage2", "stage2"),
                                           ("stage2_512", "stage2"), ("stage2_efficient", "stage2_efficient")])
def test_shipped_configs_match_reference_model_sections(config, stage):
    from omegaconf import OmegaConf

    manifest = json.loads(shared_path("parity", "unet", f"manifest_{stage}.json").read_text())
    ours = OmegaConf.to_container(OmegaConf.load(f"configs/unet/{config}.yaml").model)
    assert ours == manifest["config"]


def test_scheduler_config_matches_reference():
    ours = json.loads(open("configs/scheduler_config.json").read())
    assert ours == json.loads(shared_path("parity", "unet", "scheduler_config.json").read_text())
