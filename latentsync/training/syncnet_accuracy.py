"""SyncNet accuracy as the original ``eval/eval_syncnet_acc.py`` computes it.

The samples are the SyncNet training dataset's validation samples (``SyncNetDataset``): the mel window of a
random start, with its own frames (label 1) or, with probability 1/2, frames from another start (label 0).
A sample is correct when ``cosine(vision, audio) > 0.5`` equals its label. As the original, the score covers
``num_val_samples // batch_size`` batches, passing over the validation list again when it is shorter; a
latent-space SyncNet sees VAE posterior samples of the frames, as in training.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL
from omegaconf import DictConfig
from tqdm.auto import tqdm

from latentsync.data import SyncNetDataset
from latentsync.data.loader import data_loader
from latentsync.models.stable_syncnet import StableSyncNet
from latentsync.training.session import to_device
from latentsync.training.syncnet_step import syncnet_training_step


@dataclass(frozen=True)
class SyncNetAccuracy:
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total


@torch.no_grad()
def count_correct(batch: dict, syncnet: StableSyncNet, *, lower_half: bool, vae: AutoencoderKL | None = None,
                  generator: torch.Generator | None = None) -> int:
    """Samples of a ``SyncNetDataset`` batch (on the device) whose ``similarity > 0.5`` matches ``y``."""
    output = syncnet_training_step(batch, syncnet, lower_half=lower_half, vae=vae, generator=generator)
    predicted = F.cosine_similarity(output.vision_embeds, output.audio_embeds) > 0.5  # in their dtype, as the original
    return int((predicted.float() == batch["y"].flatten().float()).sum())


def syncnet_accuracy(config: DictConfig, syncnet: StableSyncNet, *, vae: AutoencoderKL | None = None,
                     device: torch.device | str = "cpu", num_samples: int | None = None,
                     batch_size: int | None = None, seed: int | None = None,
                     num_workers: int = 0) -> SyncNetAccuracy:
    """Accuracy on the validation list of a SyncNet ``config`` (``data.val_fileslist`` / ``val_data_dir``).

    ``num_samples``, ``batch_size`` and ``seed`` default to the config's ``data.num_val_samples``,
    ``data.batch_size`` and ``run.seed``; ``vae`` is needed when ``data.latent_space`` is true.
    """
    data = config.data
    if data.latent_space and vae is None:
        raise ValueError("a latent-space SyncNet config needs the VAE")
    seed = config.run.seed if seed is None else seed
    batch_size = batch_size or data.batch_size
    num_batches = max(1, (num_samples or data.num_val_samples) // batch_size)
    dataset = SyncNetDataset.from_config(data, split="val", seed=seed)
    loader = data_loader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    generator = torch.Generator(device).manual_seed(seed)  # the VAE posterior draws of a latent SyncNet
    correct = total = 0
    with tqdm(total=num_batches, desc="SyncNet accuracy", unit="batch") as progress:
        for epoch in itertools.count():
            dataset.set_epoch(epoch)
            for batch in loader:
                batch = to_device(batch, torch.device(device))
                correct += count_correct(batch, syncnet, lower_half=data.lower_half,
                                         vae=vae if data.latent_space else None, generator=generator)
                total += len(batch["y"])
                progress.update()
                if progress.n >= num_batches:
                    return SyncNetAccuracy(correct, total)
