"""Checkpoints in the released format round-trip exactly; wrong ones fail loudly, naming the keys."""

import pytest
import torch

from latentsync.errors import CheckpointError
from latentsync.models.checkpoint_io import read_checkpoint, save_checkpoint
from latentsync.models.unet import UNet3DConditionModel
from latentsync.models.unet_loading import load_unet, load_unet_training_start

TINY = dict(block_out_channels=(32, 32, 32, 32), cross_attention_dim=16, attention_head_dim=8,
            layers_per_block=1, motion_module_kwargs=dict(num_attention_heads=8, attention_block_types=["Temporal_Self"] * 2))


def _tiny(**overrides) -> UNet3DConditionModel:
    torch.manual_seed(0)
    return UNet3DConditionModel(**{**TINY, **overrides}).eval()


def _randomise(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
@pytest.mark.slow
def test_round_trip_is_exact(tmp_path, suffix, caplog):
    unet = _tiny()
    _randomise(unet)
    path = tmp_path / f"latentsync_unet{suffix}"
    save_checkpoint(path, unet.state_dict(), global_step=1234)
    with caplog.at_level("INFO"):
        loaded = load_unet({"model": dict(TINY)}, path)
    assert caplog.text.count("0 missing; 0 unexpected; 0 dropped") == 1  # the load report, once
    assert f"{path}: global_step {1234 if suffix == '.pt' else 0}" in caplog.text
    for (k, a), (k2, b) in zip(unet.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    if suffix == ".pt":
        payload = torch.load(path, weights_only=True)
        assert set(payload) == {"state_dict", "global_step"} and payload["global_step"] == 1234
        assert read_checkpoint(path)[1]["global_step"] == 1234


def test_missing_global_step_reads_as_zero(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": _tiny().state_dict()}, path)
    assert read_checkpoint(path)[1]["global_step"] == 0


def test_missing_and_unexpected_keys_are_named(tmp_path):
    state = _tiny().state_dict()
    del state["conv_out.bias"]
    state["extra.layer.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pt"
    save_checkpoint(path, state)
    with pytest.raises(CheckpointError) as error:
        load_unet({"model": dict(TINY)}, path)
    message = str(error.value)
    assert "conv_out.bias" in message and "extra.layer.weight" in message and "1 missing" in message


@pytest.mark.slow
def test_wrong_shapes_are_named(tmp_path):
    path = tmp_path / "wide_audio.pt"
    save_checkpoint(path, _tiny(cross_attention_dim=24).state_dict())
    with pytest.raises(CheckpointError, match=r"attn2\.to_k\.weight .*\(32, 24\) vs model \(32, 16\)"):
        load_unet({"model": dict(TINY)}, path)


def test_missing_file_names_path_and_fix(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothing\.pt not found; run \./setup_env\.sh"):
        load_unet({"model": dict(TINY)}, tmp_path / "nothing.pt")


@pytest.mark.parametrize("name, content, state", [
    ("latentsync_unet.pt", b"<html>rate limited</html>", "cannot be read (25 bytes; the download was interrupted"),
    ("latentsync_unet.pt", b"", "is empty (0 bytes)"),
    ("model.safetensors", b"\x00" * 12, "cannot be read (12 bytes"),
])
def test_damaged_file_is_one_line_naming_it_and_the_fix(tmp_path, name, content, state):
    """Not torch's multi-line weights_only advice: the file, what is wrong with it, and to download it again."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as raised:
        read_checkpoint(path)
    message = str(raised.value)
    assert "\n" not in message and "weights_only" not in message
    assert message.startswith(f"checkpoint {path} {state}")
    assert message.endswith("; delete it and download it again with ./setup_env.sh")


def test_training_start_from_sd15_drops_only_incompatible_layers_and_says_why(tmp_path):
    # A stand-in SD 1.5 U-Net: 4 input channels, 768-wide text cross-attention, no motion modules.
    sd15 = _tiny(in_channels=4, cross_attention_dim=768, use_motion_module=False)
    _randomise(sd15)
    sd15_state = sd15.state_dict()
    save_checkpoint(tmp_path / "sd15.pt", sd15_state)
    unet = _tiny()
    report, global_step = load_unet_training_start(unet, tmp_path / "sd15.pt")
    assert global_step == 0
    assert "input channels" in report.dropped["conv_in.weight"]
    assert any(k.endswith("attn2.to_k.weight") and "cross_attention_dim 16" in why for k, why in report.dropped.items())
    assert all(".motion_modules." in k or k in report.dropped for k in report.missing)
    assert not report.unexpected
    groups = report.by_group()
    assert groups["attn2"]["dropped"] > 0 and groups["motion_modules"] == {"missing": groups["motion_modules"]["missing"]}
    assert "attn2:" in report.table() and "input channels" in report.table()
    loaded = unet.state_dict()
    assert torch.count_nonzero(loaded["conv_in.weight"]) == 0  # fresh input conv starts silent, as the original's
    assert torch.equal(loaded["conv_out.weight"], sd15_state["conv_out.weight"])
    assert torch.equal(loaded["time_embedding.linear_1.weight"], sd15_state["time_embedding.linear_1.weight"])
    # New motion modules start as the identity: zero out-projection.
    assert torch.count_nonzero(loaded["down_blocks.0.motion_modules.0.temporal_transformer.proj_out.weight"]) == 0


def test_training_start_moves_between_stages_and_keeps_the_global_step(tmp_path):
    stage2 = _tiny()
    _randomise(stage2)
    save_checkpoint(tmp_path / "stage2.pt", stage2.state_dict(), global_step=7)
    stage1 = _tiny(use_motion_module=False)
    report, global_step = load_unet_training_start(stage1, tmp_path / "stage2.pt")  # a released checkpoint
    assert global_step == 7 and not report.missing and not report.dropped
    assert report.unexpected and all(".motion_modules." in k for k in report.unexpected)
    assert set(report.by_group()["motion_modules"]) == {"unexpected"}
    save_checkpoint(tmp_path / "stage1.pt", stage1.state_dict(), global_step=9)
    fresh = _tiny()
    report, global_step = load_unet_training_start(fresh, tmp_path / "stage1.pt")
    assert global_step == 9 and not report.unexpected
    assert report.missing and all(".motion_modules." in k for k in report.missing)
    assert torch.equal(fresh.state_dict()["conv_in.weight"], stage2.state_dict()["conv_in.weight"])


def test_training_start_still_rejects_other_mismatches(tmp_path):
    other = _tiny(in_channels=4, use_motion_module=False, block_out_channels=(32, 32, 32, 64))
    save_checkpoint(tmp_path / "other.pt", other.state_dict())
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_unet_training_start(_tiny(), tmp_path / "other.pt")


@pytest.mark.slow
def test_gradient_checkpointing_switches_and_keeps_gradients():
    unet = _tiny()
    _randomise(unet)
    sample = torch.randn(1, 13, 4, 16, 16)
    audio = torch.randn(4, 50, 16)

    calls = []
    unet.mid_block.resnets[0].register_forward_pre_hook(lambda *_: calls.append(1))

    def grads() -> torch.Tensor:
        unet.zero_grad()
        calls.clear()
        unet(sample, 10, encoder_hidden_states=audio).sample.square().mean().backward()
        return unet.conv_in.weight.grad.clone()

    unet.train()
    plain = grads()
    assert len(calls) == 1
    unet.enable_gradient_checkpointing()
    assert unet.is_gradient_checkpointing
    checkpointed = grads()
    assert len(calls) == 2  # recomputed during backward
    unet.disable_gradient_checkpointing()
    assert not unet.is_gradient_checkpointing
    torch.testing.assert_close(plain, checkpointed, rtol=1e-5, atol=1e-7)
