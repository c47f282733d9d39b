"""Backward pass and optimizer step shared by both trainers (and driven by the parity tests)."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def backward(loss: torch.Tensor, scaler: torch.amp.GradScaler | None = None) -> None:
    """Accumulate gradients of ``loss``, scaled first when fp16 training uses a GradScaler."""
    (scaler.scale(loss) if scaler is not None else loss).backward()


def clip_and_step(optimizer: torch.optim.Optimizer, parameters: Iterable[torch.nn.Parameter], max_grad_norm: float,
                  scaler: torch.amp.GradScaler | None = None) -> torch.Tensor:
    """Unscale, clip the total gradient norm to ``max_grad_norm``, step, then zero the gradients.

    Returns the total norm before clipping (inf/nan when fp16 overflowed: the scaler then skips the step).
    """
    if scaler is not None:
        scaler.unscale_(optimizer)
    total_norm = torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total_norm


def scaled_learning_rate(lr: float, scale_lr: bool, num_processes: int) -> float:
    """``optimizer.lr``, times the number of processes with ``optimizer.scale_lr`` (as the original: not times the
    per-process batch size)."""
    return lr * num_processes if scale_lr else lr
