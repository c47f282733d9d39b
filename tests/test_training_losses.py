"""Training-loss building blocks that the parity step does not isolate: noise, the x0 estimate, LPIPS loading."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDIMScheduler

from latentsync.errors import CheckpointError
from latentsync.losses.perceptual import load_lpips
from latentsync.training.noise import frame_shared_noise, mixed_noise, predicted_original
from tests.paths import REPO_ROOT


def test_mixed_noise_variance_and_frame_correlation():
    generator = torch.Generator().manual_seed(0)
    shared, ind = (torch.randn(64, 4, 16, 8, 8, generator=generator) for _ in range(2))
    noise = mixed_noise(shared, ind, alpha=1.0)
    assert noise.var().item() == pytest.approx(1.0, abs=0.02)
    correlation = torch.corrcoef(torch.stack([noise[:, :, 0].flatten(), noise[:, :, 7].flatten()]))[0, 1]
    assert correlation.item() == pytest.approx(0.5, abs=0.02)  # a^2 / (1 + a^2) of the variance is shared
    repeated = frame_shared_noise(shared)
    assert torch.equal(repeated[:, :, 5], shared[:, :, 0])


def test_predicted_original_inverts_add_noise():
    scheduler = DDIMScheduler.from_pretrained(str(REPO_ROOT / "configs"))
    generator = torch.Generator().manual_seed(1)
    latents, noise = (torch.randn(3, 4, 2, 8, 8, generator=generator) for _ in range(2))
    timesteps = torch.tensor([0, 500, 999])
    noisy = scheduler.add_noise(latents, noise, timesteps)
    torch.testing.assert_close(predicted_original(scheduler.alphas_cumprod, noisy, noise, timesteps), latents,
                               rtol=0, atol=1e-3)


def test_lpips_without_vgg_weights_fails_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(CheckpointError, match=r"vgg16-397923af.pth; download them with `curl"):
        load_lpips()
