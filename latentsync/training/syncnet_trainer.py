"""Train StableSyncNet (``scripts/train_syncnet.py --config_path configs/syncnet/...``), one process per device.

As the original ``train_syncnet.py``: AdamW, mean BCE of the audio-visual cosine similarity against the in-sync
label, gradient clipping, gradient accumulation, optional fp16, checkpoints with the loss curves every
``ckpt.save_ckpt_steps`` and the mean validation loss every ``run.validation_steps``. On top: DDP on CPU (gloo)
or GPUs (NCCL), exact resume, a bounded retry on bad clips (in the dataset) and errors before any step.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from latentsync.config.syncnet_config import load_syncnet_training_config
from latentsync.config.training_length import check_steps_left
from latentsync.data import DistributedResumableSampler, SyncNetDataset
from latentsync.models.checkpoint_io import load_state_dict_strict, read_checkpoint
from latentsync.models.stable_syncnet import StableSyncNet
from latentsync.pipelines.loading import load_vae
from latentsync.training.data_position import DataPosition
from latentsync.training.frozen_precision import frozen_dtype, validation_autocast_dtype
from latentsync.training.optimization import backward, clip_and_step
from latentsync.training.run_options import SyncNetTrainOptions
from latentsync.training.session import TrainingSession, resolve_precision, seed_everything, to_device, training_loader
from latentsync.training.syncnet_step import syncnet_training_step
from latentsync.training.validation import syncnet_validation_loss
from latentsync.utils.distributed import distributed, mean_over_ranks

logger = logging.getLogger(__name__)

VAL_FRAMES_PER_BATCH = 640  # the original's cap on a validation batch (frames), against running out of memory


def train_syncnet(options: SyncNetTrainOptions) -> Path:
    """Train until ``run.max_train_steps``; return the run folder."""
    with distributed(options.device) as ctx, contextlib.ExitStack() as session_scope:
        return _train(options, ctx, session_scope)


def _train(options: SyncNetTrainOptions, ctx, session_scope: contextlib.ExitStack) -> Path:
    config = load_syncnet_training_config(options.config_path)
    data, device = config.data, ctx.device
    seed_everything(config.run.seed + ctx.rank)
    precision = resolve_precision(config.run.mixed_precision_training, options.mixed_precision, device)
    train_set = SyncNetDataset.from_config(data, split="train", seed=config.run.seed)
    has_val = bool(data.val_fileslist or data.val_data_dir)
    val_set = SyncNetDataset.from_config(data, split="val", seed=config.run.seed) if has_val else None
    vae = (load_vae(options.vae_model_path, frozen_dtype(device)).to(device).requires_grad_(False)
           if data.latent_space else None)
    syncnet = StableSyncNet(config.model).to(device)
    session = session_scope.enter_context(TrainingSession(ctx, config, data.train_output_dir, {"syncnet.yaml": config},
                                                          options.resume, options.report_to))

    global_step, curves = 0, {}
    weights = session.resume_checkpoint or config.ckpt.resume_ckpt_path
    if weights:
        state_dict, extras = read_checkpoint(weights)
        load_state_dict_strict(syncnet, state_dict, str(weights),
                               hint="Check that the config's model section matches the checkpoint.")
        global_step = int(extras["global_step"])
        check_steps_left(global_step, config.run.max_train_steps,
                         "--resume" if session.bundle is not None else "ckpt.resume_ckpt_path")
        curves = extras
    syncnet.train()
    model = DistributedDataParallel(syncnet, device_ids=[device.index] if device.type == "cuda" else None) \
        if ctx.is_distributed else syncnet
    optimizer = torch.optim.AdamW(syncnet.parameters(), lr=config.optimizer.lr)
    scaler = precision.grad_scaler(device)
    sampler = DistributedResumableSampler(train_set, ctx.world_size, ctx.rank, shuffle=True, seed=config.run.seed)
    loader = training_loader(train_set, sampler, data, device, config.run.seed)
    if session.bundle is None:
        sampler.set_position(global_step // len(loader), 0)  # the epoch the original continues in
    if session.bundle is not None:
        session.restore(optimizer, None, scaler, sampler)
    elif session.metrics is not None and "train_loss_list" in curves:  # an original checkpoint's curves
        session.metrics.history = {
            "train_loss": {"steps": list(curves["train_step_list"]), "values": list(curves["train_loss_list"])},
            "val_loss": {"steps": list(curves.get("val_step_list", [])), "values": list(curves.get("val_loss_list", []))},
        }

    def loss_of(net: torch.nn.Module, batch: dict, autocast_dtype: torch.dtype | None) -> torch.Tensor:
        return syncnet_training_step(to_device(batch, device), net, lower_half=data.lower_half, vae=vae,
                                     autocast_dtype=autocast_dtype).loss

    accumulation = data.gradient_accumulation_steps
    max_steps = config.run.max_train_steps
    progress = tqdm(total=max_steps, initial=global_step, desc="training SyncNet", disable=not ctx.is_main)
    last_saved = global_step
    position = DataPosition(loader, sampler, train_set)
    micro_step, accumulated = 0, torch.zeros((), device=device)
    while global_step < max_steps:
        for batch in position.batches():
            micro_step += 1
            sync_now = micro_step % accumulation == 0
            with contextlib.nullcontext() if sync_now or not ctx.is_distributed else model.no_sync():
                loss = loss_of(model, batch, precision.autocast_dtype) / accumulation
                backward(loss, scaler)
            accumulated += loss.detach()
            if not sync_now:
                continue
            clip_and_step(optimizer, syncnet.parameters(), config.optimizer.max_grad_norm, scaler)
            global_step += 1
            train_loss = float(mean_over_ranks(accumulated))
            accumulated = torch.zeros((), device=device)
            progress.update(1)
            progress.set_postfix(loss=f"{train_loss:.4f}")
            if session.metrics is not None:
                session.metrics.log(global_step, train_loss=train_loss)
            if val_set is not None and global_step % config.run.validation_steps == 0:
                val_set.set_epoch(global_step if options.fresh_val_samples else 0)
                _validate(session, syncnet, val_set, data, global_step, ctx.world_size,
                          lambda batch: loss_of(syncnet, batch, validation_autocast_dtype(device)))
            if global_step % config.ckpt.save_ckpt_steps == 0 or global_step == max_steps:
                session.save(global_step, syncnet.state_dict(), optimizer=optimizer, lr_scheduler=None,
                             grad_scaler=scaler, sampler_state=position.sampler_state(),
                             checkpoint_extras=_loss_lists(session))
                last_saved = global_step
            if global_step >= max_steps:
                break
    progress.close()
    if session.metrics is not None:
        session.metrics.save_chart(last_saved)
    return session.run_dir


def _validate(session: TrainingSession, syncnet: StableSyncNet, val_set, data, step: int, world_size: int,
              loss_of_batch) -> None:
    """Rank 0 scores validation batches with the unwrapped net (no collective): as many batches, of the size, as the
    original (``num_val_samples // (processes x batch_size) + 1`` of ``min(640 // num_frames, batch_size)``)."""
    if session.metrics is None:
        return
    device = next(syncnet.parameters()).device
    val_loss = syncnet_validation_loss(syncnet, val_set, batch_size=min(VAL_FRAMES_PER_BATCH // data.num_frames,
                                                                         data.batch_size),
                                       num_batches=data.num_val_samples // (world_size * data.batch_size) + 1,
                                       loss_of_batch=loss_of_batch, device=device, num_workers=data.num_workers)
    session.metrics.log(step, val_loss=val_loss)
    session.metrics.save_chart(step)
    logger.info("step %d: validation loss %.4f", step, val_loss)


def _loss_lists(session: TrainingSession) -> dict:
    """The original checkpoint's curves: train/val step and loss lists (rank 0 holds them)."""
    history = session.metrics.history if session.metrics is not None else {}
    train, val = history.get("train_loss", {}), history.get("val_loss", {})
    return {"train_step_list": train.get("steps", []), "train_loss_list": train.get("values", []),
            "val_step_list": val.get("steps", []), "val_loss_list": val.get("values", [])}
