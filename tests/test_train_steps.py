"""The step functions' switches outside the parity settings: random draws, loss switches, latent SyncNet, autocast.

Tiny models from ../shared/parity/train; one video of 16 frames at 64x64 keeps each step to a few seconds.
"""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from latentsync.models.stable_syncnet import StableSyncNet
from latentsync.training.syncnet_step import syncnet_training_step
from latentsync.training.step_settings import UNetStepSettings
from latentsync.training.unet_step import UNetStepDraws, UNetStepModels, unet_training_step
from tests.helpers.paths import shared_path
from tests.helpers.train_models import tiny_syncnet, tiny_train_unet, tiny_train_vae, training_scheduler

FRAMES, SIZE = 16, 64


@pytest.fixture(scope="module")
def models() -> UNetStepModels:
    return UNetStepModels(unet=tiny_train_unet(), vae=tiny_train_vae(), noise_scheduler=training_scheduler(),
                          syncnet=tiny_syncnet(), syncnet_resolution=32, syncnet_lower_half=True)


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand(1, FRAMES, 3, SIZE, SIZE, generator=generator) * 2 - 1
    masks = torch.ones(1, FRAMES, 1, SIZE, SIZE)
    masks[..., SIZE // 2 :, :] = 0
    return {"gt_pixel_values": pixels, "masked_pixel_values": pixels * masks, "masks": masks,
            "ref_pixel_values": pixels.flip(1), "mel": torch.randn(1, 1, 80, 52, generator=generator),
            "audio_embeds": torch.randn(1, FRAMES, 50, 32, generator=generator)}


def _settings(**overrides) -> UNetStepSettings:
    """Stage-2 settings without LPIPS and TREPA (the parity test covers them), changed by ``overrides``."""
    return UNetStepSettings(**({"num_frames": FRAMES, "perceptual_loss_weight": 0, "trepa_loss_weight": 0} | overrides))


@torch.no_grad()
@pytest.mark.slow
def test_draws_come_from_the_generator_only(models, batch):
    def run(seed: int):
        return unet_training_step(batch, batch["audio_embeds"], models, _settings(use_syncnet=False),
                                  generator=torch.Generator().manual_seed(seed))

    global_state = torch.get_rng_state()
    first, again, other = run(1), run(1), run(2)
    assert torch.equal(torch.get_rng_state(), global_state)
    assert torch.equal(first.intermediates["noisy_latents"], again.intermediates["noisy_latents"])
    assert first.losses["total"] == again.losses["total"]
    assert not torch.equal(first.intermediates["noise"], other.intermediates["noise"])


@torch.no_grad()
@pytest.mark.slow
def test_switched_off_terms_are_not_computed(models, batch):
    """LPIPS / TREPA models are None here: computing them would fail; the total is the weighted sum of the rest."""
    output = unet_training_step(batch, batch["audio_embeds"], models, _settings(sync_loss_weight=0.5),
                                draws=UNetStepDraws(timesteps=torch.tensor([500])),
                                generator=torch.Generator().manual_seed(0))
    losses = output.losses
    assert losses["lpips"] == 0 and losses["trepa"] == 0 and losses["recon"] > 0 and losses["sync"] > 0
    torch.testing.assert_close(losses["total"], losses["recon"] + 0.5 * losses["sync"])

    no_sync = unet_training_step(batch, batch["audio_embeds"], models, _settings(use_syncnet=False),
                                 generator=torch.Generator().manual_seed(0))
    assert "pred_pixel_values" not in no_sync.intermediates and no_sync.losses["sync"] == 0
    torch.testing.assert_close(no_sync.losses["total"], no_sync.losses["recon"])


@torch.no_grad()
def test_frame_shared_noise_without_mixed_noise(models, batch):
    settings = _settings(use_mixed_noise=False, use_syncnet=False)
    output = unet_training_step(batch, batch["audio_embeds"], models, settings,
                                generator=torch.Generator().manual_seed(0))
    noise = output.intermediates["noise"]
    assert torch.equal(noise, noise[:, :, :1].expand_as(noise))


@torch.no_grad()
def test_latent_syncnet_reads_the_predicted_latents(models, batch):
    config = OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml")).model
    config.visual_encoder = {"in_channels": FRAMES * 4, "block_out_channels": [32, 32, 64],
                             "downsample_factors": [[1, 2], 2, 2], "attn_blocks": [0, 0, 0], "dropout": 0.0}
    latent_models = UNetStepModels(unet=models.unet, vae=models.vae, noise_scheduler=models.noise_scheduler,
                                   syncnet=StableSyncNet(config), syncnet_lower_half=True, syncnet_latent_space=True)
    output = unet_training_step(batch, batch["audio_embeds"], latent_models, _settings(),
                                generator=torch.Generator().manual_seed(0))
    assert "pred_pixel_values" not in output.intermediates  # nothing needs the VAE decoder
    pred_latents = output.intermediates["pred_latents"]
    expected = pred_latents.permute(0, 2, 1, 3, 4).reshape(1, FRAMES * 4, 8, 8)[:, :, 4:]
    torch.testing.assert_close(output.intermediates["syncnet_input"], expected, rtol=0, atol=0)
    assert output.losses["sync"] > 0

    frames = batch["gt_pixel_values"].expand(2, -1, -1, -1, -1)
    syncnet_batch = {"frames": frames, "audio_samples": batch["mel"].expand(2, -1, -1, -1),
                     "y": torch.tensor([[1.0], [0.0]])}
    step = syncnet_training_step(syncnet_batch, latent_models.syncnet, lower_half=True, vae=models.vae,
                                 vae_batch_size=5, generator=torch.Generator().manual_seed(0))
    assert step.image_sequences.shape == (2, FRAMES * 4, 4, 8) and torch.isfinite(step.loss)


@pytest.mark.slow
def test_bf16_autocast_step_backpropagates(models, batch):
    unet = models.unet.train()
    settings = _settings(autocast_dtype=torch.bfloat16, use_syncnet=False)
    output = unet_training_step(batch, batch["audio_embeds"], models, settings,
                                generator=torch.Generator().manual_seed(0))
    assert output.intermediates["pred_noise"].dtype == torch.bfloat16
    assert torch.isfinite(output.loss)
    output.loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in unet.parameters() if p.requires_grad)
    unet.zero_grad(set_to_none=True)


def test_settings_without_any_loss_are_refused():
    with pytest.raises(ValueError, match="would train nothing"):
        UNetStepSettings(recon_loss_weight=0, use_syncnet=False, pixel_space_supervise=False)
