"""TREPA on the tiny VideoMAEv2 network, and the ViT-g/14 checkpoint layout, against ../shared/parity/train.

Features agree to float noise (1e-6 of their range observed 1.2e-7). The loss of a random network is tiny
(2.4e-6): it is compared relatively (1e-4, observed 1e-6), which a wrong resize, range mapping or
normalisation would miss by orders of magnitude.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from latentsync.errors import CheckpointError
from latentsync.losses.trepa import TREPALoss, load_trepa_loss
from latentsync.models.videomae import load_videomae, vit_giant_patch14_224
from tests.helpers.paths import shared_path
from tests.helpers.train_models import tiny_videomae


@pytest.fixture(scope="module")
def ref() -> dict[str, torch.Tensor]:
    return load_file(shared_path("parity", "train", "trepa.safetensors"))


@pytest.mark.slow
def test_features_and_loss(ref):
    trepa = TREPALoss(tiny_videomae())
    with torch.no_grad():
        for name in ("fake", "real"):
            expected = ref[f"features_{name}"]
            torch.testing.assert_close(trepa.features(ref[f"videos_{name}"]), expected, rtol=0,
                                       atol=1e-6 * expected.abs().max().item())
        loss = trepa(ref["videos_fake"], ref["videos_real"])
    torch.testing.assert_close(loss, ref["loss"], rtol=1e-4, atol=0)


@pytest.mark.slow
def test_gradient_reaches_the_fake_clip_only(ref):
    trepa = TREPALoss(tiny_videomae())
    fake = ref["videos_fake"].clone().requires_grad_(True)
    trepa(fake, ref["videos_real"]).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(parameter.grad is None for parameter in trepa.model.parameters())


@pytest.mark.slow
def test_half_precision_and_checkpointing_agree(ref):
    """The memory options change the arithmetic, not the result (half: to fp16 noise)."""
    model = tiny_videomae()
    full = TREPALoss(model).features(ref["videos_fake"]).detach()
    model.gradient_checkpointing = True
    fake = ref["videos_fake"].clone().requires_grad_(True)
    checkpointed = TREPALoss(model).features(fake)
    checkpointed.sum().backward()
    torch.testing.assert_close(checkpointed.detach(), full, rtol=0, atol=0)
    half_trepa = TREPALoss(tiny_videomae().to(torch.float16))
    half = half_trepa.features(ref["videos_fake"]).detach()
    torch.testing.assert_close(half.float(), full, rtol=0, atol=0.05 * full.abs().max().item())
    # The normalisation and the MSE stay in the network's float16, as the original computes them.
    assert half.dtype == half_trepa(ref["videos_fake"], ref["videos_real"]).dtype == torch.float16


def test_vit_g_manifest_on_meta_device():
    manifest = json.loads(shared_path("parity", "train", "manifest_videomae_vit_g.json").read_text())
    with torch.device("meta"):
        model = vit_giant_patch14_224()
    state_dict = {key: list(tensor.shape) for key, tensor in model.state_dict().items()}
    assert list(state_dict.items()) == [(key, list(shape)) for key, shape in manifest["state_dict"].items()]
    assert sum(parameter.numel() for parameter in model.parameters()) == manifest["n_params"] == 1_011_855_918


def test_vit_g_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_videomae(tmp_path / "missing.pth")
    wrong = tmp_path / "wrong.pth"
    torch.save({"module": {"patch_embed.proj.weight": torch.zeros(1)}}, wrong)
    with pytest.raises(CheckpointError, match="missing .*blocks.0.norm1.weight"):
        load_videomae(wrong)


def test_load_trepa_loss_from_a_file(ref, tmp_path):
    """The loader path the trainers use, on the tiny network saved like the release (``{"module": ...}``)."""
    config = json.loads(shared_path("parity", "train", "tiny_train_models.json").read_text())["videomae"]
    ckpt = tmp_path / "tiny_videomae.pth"
    torch.save({"module": tiny_videomae().state_dict()}, ckpt)
    trepa = load_trepa_loss(ckpt, half_precision=False, model_config=config)
    assert not any(parameter.requires_grad for parameter in trepa.model.parameters()) and not trepa.model.training
    with torch.no_grad():
        torch.testing.assert_close(trepa(ref["videos_fake"], ref["videos_real"]), ref["loss"], rtol=1e-4, atol=0)
