"""torch.distributed set-up for the trainers: one process per device, started by ``torchrun``.

NCCL on CUDA, gloo on CPU (so multi-process training runs and is tested without a GPU). A plain
``python -m scripts.train_unet ...`` without torchrun is a world of one and starts no process group.
Multi-node: ``torchrun --nnodes N --nproc_per_node G --rdzv_backend c10d --rdzv_endpoint host:port ...``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.distributed as dist

from latentsync.errors import CheckpointError, InputError
from latentsync.utils.device import resolve_device


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits: global ``rank`` of ``world_size``, ``local_rank`` on its node, its ``device``."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str | None = None) -> DistributedContext:
    """Join the process group described by torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``).

    ``device``: ``None``/"auto" takes ``cuda:LOCAL_RANK`` when CUDA is available, else the CPU; "cpu" forces
    the CPU (and gloo) on a GPU machine; a device this machine lacks is an ``InputError`` naming those it has.
    """
    if device not in (None, "auto"):
        resolve_device(device)
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    use_cuda = torch.cuda.is_available() if device in (None, "auto") else device.startswith("cuda")
    if use_cuda:
        torch_device = torch.device("cuda", local_rank)
        torch.cuda.set_device(torch_device)
    else:
        torch_device = torch.device("cpu" if device in (None, "auto") else device)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", rank=rank, world_size=world_size)
    return DistributedContext(rank=rank, local_rank=local_rank, world_size=world_size, device=torch_device)


@contextlib.contextmanager
def distributed(device: str | None = None) -> Iterator[DistributedContext]:
    """``init_distributed`` for the body of a ``with``; the process group is destroyed after it, error or not."""
    try:
        yield init_distributed(device)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def broadcast_from_main(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (any picklable object), e.g. the run folder rank 0 chose."""
    if not dist.is_initialized():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def run_on_main(function: Callable[[], Any]) -> Any:
    """Rank 0 runs ``function`` and every rank gets its result, or raises its error (no rank is left waiting)."""
    outcome: tuple[Any, BaseException | None] = (None, None)
    if not dist.is_initialized() or dist.get_rank() == 0:
        try:
            outcome = (function(), None)
        except (InputError, CheckpointError) as error:
            outcome = (None, error)
    result, error = broadcast_from_main(outcome)
    if error is not None:
        raise error
    return result


def gather_to_main(value: Any) -> list[Any] | None:
    """Every rank's ``value`` in rank order on rank 0 (``None`` elsewhere); e.g. per-rank RNG states."""
    if not dist.is_initialized():
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered if dist.get_rank() == 0 else None


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any (so all ranks take the same branch around collective ops);
    ``device`` holds the flag for the reduction (the process group's: CUDA for NCCL)."""
    if not dist.is_initialized():
        return flag
    value = torch.tensor(float(flag), device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """The average of a (detached) tensor over all ranks, for logging losses that every rank computed."""
    value = value.detach().clone()
    if dist.is_initialized():
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= dist.get_world_size()
    return value
