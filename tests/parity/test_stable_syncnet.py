"""StableSyncNet against ../shared/parity/syncnet: every shipped config's manifest, and the tiny model's numbers."""

from __future__ import annotations

import json

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from latentsync.errors import CheckpointError
from latentsync.losses.sync_loss import cosine_loss
from latentsync.models.stable_syncnet import StableSyncNet, image_sequences_from_frames, load_stable_syncnet
from tests.helpers.paths import REPO_ROOT, shared_path

CONFIGS = ["syncnet_16_pixel_attn", "syncnet_16_pixel", "syncnet_16_latent", "syncnet_25_pixel"]


def _manifest(name: str) -> dict:
    return json.loads(shared_path("parity", "syncnet", f"manifest_stable_syncnet_{name}.json").read_text())


def _config(name: str):
    return OmegaConf.load(REPO_ROOT / "configs" / "syncnet" / f"{name}.yaml")


@pytest.mark.parametrize("name", CONFIGS)
def test_config_matches_manifest(name):
    manifest, config = _manifest(name), OmegaConf.to_container(_config(name))
    for section in ("data", "ckpt"):
        assert {key: config[section][key] for key in manifest[section]} == manifest[section]
    expected_model = manifest["model"]
    if not manifest["instantiable"]:  # the original lacks attn_blocks; ours adds all-zero lists
        for encoder in expected_model.values():
            encoder["attn_blocks"] = [0] * len(encoder["block_out_channels"])
        manifest = manifest["hypothetical_if_attn_blocks_defaulted_to_zeros"]
    assert config["model"] == expected_model

    with torch.device("meta"):
        syncnet = StableSyncNet(config["model"])
    state_dict = {key: list(tensor.shape) for key, tensor in syncnet.state_dict().items()}
    assert list(state_dict.items()) == list(manifest["state_dict"].items())
    assert sum(parameter.numel() for parameter in syncnet.parameters()) == manifest["num_params"]


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.slow
def test_every_config_runs_a_forward_pass(name):
    """Real CPU forward of the full-size net, checking every down block's output size against the manifest."""
    manifest, config = _manifest(name), _config(name)
    data = config.data
    with torch.device("meta"):
        syncnet = StableSyncNet(config.model)
    syncnet = syncnet.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(0)
    for parameter in syncnet.parameters():
        parameter.data.normal_(0, 0.02, generator=generator)
        parameter.data[...] += 1 if parameter.ndim == 1 else 0  # norm weights near 1, biases near 1: no dead units
    shapes = {"audio": [], "visual": []}

    def record_shape(tower):
        def hook(module, inputs, output):
            shapes[tower].append([type(module).__name__, list(output.shape[1:])])
        return hook

    for tower in shapes:
        for block in getattr(syncnet, f"{tower}_encoder").down_blocks:
            block.register_forward_hook(record_shape(tower))

    if data.latent_space:
        image_sequences = torch.randn(1, data.num_frames * 4, data.resolution // 8, data.resolution // 8)
    else:
        frames = torch.rand(1, data.num_frames, 3, data.resolution, data.resolution) * 2 - 1
        image_sequences = image_sequences_from_frames(frames, data.lower_half)
    audio_sequences = torch.randn(1, 1, 80, -(-data.num_frames * 16 // 5))
    with torch.no_grad():
        vision_embeds, audio_embeds = syncnet(image_sequences, audio_sequences)

    if not manifest["instantiable"]:
        manifest = manifest["hypothetical_if_attn_blocks_defaulted_to_zeros"] | {
            "down_block_output_shapes_CHW": None, "example_input_shapes": None}
    else:
        assert list(image_sequences.shape) == manifest["example_input_shapes"]["image_sequences"]
        assert list(audio_sequences.shape) == manifest["example_input_shapes"]["audio_sequences"]
        for tower, expected in manifest["down_block_output_shapes_CHW"].items():
            assert shapes[tower] == [[kind, shape] for _, kind, shape in expected]
    embed_dim = config.model.visual_encoder.block_out_channels[-1]
    assert vision_embeds.shape == audio_embeds.shape == (1, embed_dim)
    assert torch.allclose(vision_embeds.norm(dim=1), torch.ones(1)) and (vision_embeds >= 0).all()
    assert torch.allclose(audio_embeds.norm(dim=1), torch.ones(1)) and (audio_embeds >= 0).all()


def test_original_syncnet_25_pixel_is_rejected_without_attn_blocks():
    model = _manifest("syncnet_25_pixel")["model"]  # the original file's model section, without attn_blocks
    with pytest.raises(TypeError, match="attn_blocks"):
        StableSyncNet(model)


def _tiny_syncnet() -> StableSyncNet:
    syncnet = StableSyncNet(OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml")).model)
    syncnet.load_state_dict(load_file(shared_path("parity", "syncnet", "tiny_syncnet.safetensors")))
    return syncnet


@pytest.mark.slow
def test_tiny_forward_intermediates_and_loss_match_fixture():
    fixture = load_file(shared_path("parity", "syncnet", "tiny_syncnet_forward.safetensors"))
    syncnet = _tiny_syncnet()
    assert not syncnet.training
    captured = {}

    def capture(key):
        def hook(module, inputs, output):
            captured[key.format(kind=type(module).__name__)] = output[:1]
        return hook

    syncnet.visual_encoder.conv_in.register_forward_hook(capture("inter_visual_conv_in"))
    for tower in ("audio", "visual"):
        encoder = getattr(syncnet, f"{tower}_encoder")
        encoder.register_forward_hook(capture(f"inter_{tower}_encoder_out"))
        for index, block in enumerate(encoder.down_blocks):
            block.register_forward_hook(capture(f"inter_{tower}_down_blocks_{index}_{{kind}}"))

    with torch.no_grad():
        vision_embeds, audio_embeds = syncnet(fixture["image_sequences"], fixture["audio_sequences"])
    loss = cosine_loss(vision_embeds, audio_embeds, fixture["y"])

    assert sorted(captured) == sorted(key for key in fixture if key.startswith("inter_"))
    for key, value in captured.items():
        # The towers' outputs come out of the last GroupNorm (2 channels per group at 1x1), which amplifies float
        # noise: the README's embedding tolerance (2.2e-5 measured on an AVX2-only CPU).
        atol = 5e-5 if key.endswith("_encoder_out") else 1e-5
        torch.testing.assert_close(value, fixture[key], atol=atol, rtol=0, msg=key)
    torch.testing.assert_close(vision_embeds, fixture["vision_embeds"], atol=5e-5, rtol=0)
    torch.testing.assert_close(audio_embeds, fixture["audio_embeds"], atol=5e-5, rtol=0)
    torch.testing.assert_close(torch.cosine_similarity(vision_embeds, audio_embeds), fixture["sims"], atol=1e-5, rtol=0)
    torch.testing.assert_close(loss, fixture["loss"], atol=1e-5, rtol=0)
    torch.testing.assert_close(loss.mean(), fixture["loss_mean"], atol=1e-5, rtol=0)


@pytest.mark.slow
def test_gradient_checkpointing_changes_nothing_but_memory():
    fixture = load_file(shared_path("parity", "syncnet", "tiny_syncnet_forward.safetensors"))
    plain, checkpointed = _tiny_syncnet(), _tiny_syncnet()
    for encoder in (checkpointed.audio_encoder, checkpointed.visual_encoder):
        encoder.gradient_checkpointing = True
    results = []
    for syncnet in (plain, checkpointed):
        images = fixture["image_sequences"].clone().requires_grad_(True)
        vision_embeds, audio_embeds = syncnet(images, fixture["audio_sequences"])
        cosine_loss(vision_embeds, audio_embeds, fixture["y"]).mean().backward()
        results.append((vision_embeds.detach(), images.grad))
    torch.testing.assert_close(results[0], results[1], atol=1e-6, rtol=0)


def test_image_sequences_are_frame_major_and_lower_half():
    frames = torch.arange(2 * 3 * 3 * 4 * 2, dtype=torch.float32).reshape(2, 3, 3, 4, 2)  # (B, F, C, H, W)
    stacked = image_sequences_from_frames(frames, lower_half=True)
    assert stacked.shape == (2, 9, 2, 2)
    torch.testing.assert_close(stacked[1, 3 * 2 + 1], frames[1, 2, 1, 2:])


def _write_tiny_config(tmp_path, ckpt_path):
    config = OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml"))
    config.ckpt = {"inference_ckpt_path": str(ckpt_path)}
    return config


def test_load_stable_syncnet_reads_training_checkpoint_strictly(tmp_path):
    ckpt_path = tmp_path / "stable_syncnet.pt"
    state_dict = load_file(shared_path("parity", "syncnet", "tiny_syncnet.safetensors"))
    torch.save({"state_dict": state_dict, "global_step": 10, "train_step_list": [1], "train_loss_list": [0.5],
                "val_step_list": [], "val_loss_list": []}, ckpt_path)
    syncnet = load_stable_syncnet(_write_tiny_config(tmp_path, ckpt_path), dtype=torch.float16)
    assert not syncnet.training and next(syncnet.parameters()).dtype == torch.float16
    assert not any(parameter.requires_grad for parameter in syncnet.parameters())
    torch.testing.assert_close(syncnet.state_dict()["audio_encoder.conv_in.weight"],
                               state_dict["audio_encoder.conv_in.weight"].half())

    del state_dict["visual_encoder.down_blocks.2.attn.to_q.weight"]
    state_dict["extra.weight"] = torch.zeros(1)
    torch.save({"state_dict": state_dict}, ckpt_path)
    with pytest.raises(CheckpointError, match=r"1 missing \[.*to_q.weight\]; 1 unexpected \[extra.weight\]"):
        load_stable_syncnet(_write_tiny_config(tmp_path, ckpt_path))


def test_missing_checkpoint_names_file_and_setup_script(tmp_path):
    missing = tmp_path / "checkpoints" / "stable_syncnet.pt"
    with pytest.raises(CheckpointError, match=f"{missing}.*setup_env.sh --auxiliary"):
        load_stable_syncnet(_write_tiny_config(tmp_path, missing))
