"""Validation during training: U-Net lip-sync quality (sync confidence) and SyncNet validation loss.

Validation must not change the training that follows it (exact resume would break otherwise), so both run
under ``preserved_rng``: every random state is put back afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from omegaconf import DictConfig

from latentsync.data.loader import data_loader
from latentsync.errors import InputError
from latentsync.evaluation.video_sync import VideoSyncScorer, load_video_sync_scorer
from latentsync.locations import CheckpointLayout
from latentsync.models.unet import UNet3DConditionModel
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from latentsync.pipelines.loading import load_scheduler
from latentsync.training.resume import capture_rng_state, restore_rng_state
from latentsync.whisper import Audio2Feature

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def preserved_rng(device: torch.device) -> Iterator[None]:
    state = capture_rng_state(device)
    try:
        yield
    finally:
        restore_rng_state(state, device)


def lipsync_validation_video(unet: UNet3DConditionModel, vae: AutoencoderKL, audio_encoder: Audio2Feature,
                             config: DictConfig, video_path: str | os.PathLike, audio_path: str | os.PathLike,
                             output_path: str | os.PathLike, face_backend: str = "auto",
                             align_dtype: str = "float32") -> Path:
    """The one call from training into the inference pipeline (re-point it here when the pipeline changes).

    Generates with the config's ``run.inference_steps``, ``run.guidance_scale``, ``run.seed`` and mouth mask, the
    faces aligned and pasted in ``align_dtype`` (``float16``: the original's precision).
    """
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    pipeline = LipsyncPipeline.from_unet_config(config, vae=vae, audio_encoder=audio_encoder, unet=unet,
                                                scheduler=load_scheduler(),
                                                face_backend=face_backend)
    try:
        return pipeline(video_path, audio_path, output_path, align_dtype=align_dtype).output_path
    finally:
        pipeline.close()


class UNetValidator:
    """At each save step: lip-sync ``data.val_video_path`` to ``data.val_audio_path`` and score its sync (LSE-C).

    As the original: the faces are aligned with the landmark backend inference chooses (``face_backend``), the
    generation runs under ``autocast_dtype`` autocast (float16 on CUDA, see ``frozen_model_precision``), and the
    video is scored with the sync-confidence evaluation's S3FD face tracks. ``sync_model_path`` is the classic
    SyncNet of that evaluation (``checkpoints/auxiliary/syncnet_v2.model``); both weights are loaded at start-up
    so a missing file fails before any training step.
    """

    def __init__(self, config: DictConfig, sync_model_path: str | os.PathLike, device: torch.device,
                 face_backend: str = "auto", s3fd_path: str | os.PathLike | None = None,
                 autocast_dtype: torch.dtype | None = None, min_face_size: float = 100, align_dtype: str = "float32"):
        self.config = config
        self.device = device
        self.face_backend = face_backend
        self.align_dtype = align_dtype
        self.autocast_dtype = autocast_dtype
        self.scorer: VideoSyncScorer = load_video_sync_scorer(
            sync_model_path, device, "s3fd", s3fd_path or CheckpointLayout().s3fd, min_face_size=min_face_size)

    def __call__(self, unet: UNet3DConditionModel, vae: AutoencoderKL, audio_encoder: Audio2Feature,
                 output_path: str | os.PathLike) -> float:
        """Sync confidence (LSE-C) of the lip-synced validation video written to ``output_path``.

        NaN (with a warning) when the scorer finds no long enough face track in it, as happens early in
        training: a validation hiccup must not end a run (the original charts 0 then).
        """
        was_training = unet.training
        unet.eval()
        autocast = torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                                  enabled=self.autocast_dtype is not None)
        try:
            with preserved_rng(self.device):
                with autocast:
                    video = lipsync_validation_video(unet, vae, audio_encoder, self.config,
                                                     self.config.data.val_video_path, self.config.data.val_audio_path,
                                                     output_path, self.face_backend, self.align_dtype)
                try:
                    return self.scorer(video).confidence
                except InputError as error:
                    logger.warning("validation video %s not scored: %s", video, error)
                    return math.nan
        finally:
            unet.train(was_training)

    def close(self) -> None:
        self.scorer.close()


@torch.no_grad()
def syncnet_validation_loss(syncnet: torch.nn.Module, dataset, batch_size: int, num_batches: int, loss_of_batch,
                            device: torch.device, num_workers: int = 0) -> float:
    """Mean of the mean losses of ``num_batches`` batches of ``dataset`` (``loss_of_batch(batch) -> mean loss``), as
    the original averages its validation batches. When the data runs out it is walked again with the next epoch's
    draws. The caller's ``dataset.epoch`` chooses the samples: the same epoch gives the same samples."""
    was_training = syncnet.training
    syncnet.eval()
    losses: list[float] = []
    loader = data_loader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    first_epoch = dataset.epoch
    try:
        with preserved_rng(device):
            while len(losses) < num_batches:
                for batch in loader:
                    losses.append(float(loss_of_batch(batch)))
                    if len(losses) == num_batches:
                        break
                dataset.set_epoch(dataset.epoch + 1)
    finally:
        dataset.set_epoch(first_epoch)
        syncnet.train(was_training)
    return sum(losses) / len(losses)
