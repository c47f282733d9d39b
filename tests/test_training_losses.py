"""Training-loss building blocks that the parity step does not isolate: noise, the x0 estimate, LPIPS loading."""

from __future__ import annotations

import pytest
import torch
import torchvision
from diffusers import DDIMScheduler

from latentsync.errors import CheckpointError
from latentsync.losses.perceptual import load_lpips
from latentsync.training.noise import frame_shared_noise, mixed_noise, predicted_original
from tests.helpers.paths import REPO_ROOT


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


def test_predicted_original_computes_in_the_predictions_dtype():
    """As the original: the alphas in the predicted noise's dtype, so under CUDA autocast the x0 estimate behind the
    LPIPS, TREPA and sync losses is float16 arithmetic."""
    alphas = DDIMScheduler.from_pretrained(str(REPO_ROOT / "configs")).alphas_cumprod
    generator = torch.Generator().manual_seed(2)
    noisy, noise = (torch.randn(2, 4, 2, 8, 8, generator=generator).half() for _ in range(2))
    timesteps = torch.tensor([17, 901])
    half = predicted_original(alphas, noisy, noise, timesteps)
    alpha = alphas[timesteps].half().view(-1, 1, 1, 1, 1)
    assert half.dtype == torch.float16
    torch.testing.assert_close(half, (noisy - (1 - alpha) ** 0.5 * noise) / alpha**0.5, rtol=0, atol=0)
    assert predicted_original(alphas, noisy.float(), noise.float(), timesteps).dtype == torch.float32


@pytest.mark.slow
def test_lpips_without_vgg_weights_fails_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(CheckpointError, match=r"checkpoints/auxiliary/vgg16-397923af.pth; download them with `curl"):
        load_lpips()


@pytest.mark.slow
def test_lpips_loads_a_torchvision_vgg16_checkpoint(tmp_path):
    """The trunk comes from torchvision's ``features.*`` keys (the classifier keys are ignored)."""
    features = torchvision.models.vgg16().features
    state_dict = {f"features.{key}": value for key, value in features.state_dict().items()}
    state_dict["classifier.0.weight"] = torch.zeros(2, 2)
    torch.save(state_dict, tmp_path / "vgg16.pth")
    model = load_lpips(vgg_weights_path=tmp_path / "vgg16.pth")
    torch.testing.assert_close(model.net.slice3.state_dict()["10.weight"], features[10].weight, rtol=0, atol=0)
    torch.testing.assert_close(model.net.slice5.state_dict()["28.bias"], features[28].bias, rtol=0, atol=0)
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not a torchvision VGG-16 checkpoint"):
        load_lpips(vgg_weights_path=tmp_path / "other.pth")
