"""``DistributedSampler`` that can start part-way through an epoch, for exact resume."""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Dataset, DistributedSampler


class DistributedResumableSampler(DistributedSampler):
    """Torch's ``DistributedSampler`` (same order for a seed, rank and epoch) plus a start offset.

    As the original's sampler (torch's defaults), an epoch holds every index, padded with the first indices of
    its order so that every process gets as many (``clips mod processes`` repeats at most); the number of
    batches of an epoch, and so ``run.max_train_steps: -1``'s step count, are the original's.
    After ``set_position(epoch, consumed)`` the next iteration skips the first ``consumed`` indices of
    this rank's share of ``epoch``; the offset applies to that epoch only.
    """

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                         drop_last=drop_last)
        self.start = 0

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.start = 0
        super().set_epoch(epoch)

    def set_position(self, epoch: int, consumed: int) -> None:
        super().set_epoch(epoch)
        self.start = consumed

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start :])

    def __len__(self) -> int:
        return self.num_samples - self.start

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "start": self.start}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.set_position(state["epoch"], state["start"])
