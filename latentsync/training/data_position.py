"""Where a trainer stands in its data (epoch, batches taken), so that a checkpoint resumes with the next batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader

from latentsync.data import DistributedResumableSampler


class DataPosition:
    """Walks ``loader`` epoch after epoch from the sampler's (possibly restored) position.

    ``dataset`` is a training dataset (``ClipDataset``): its draws change with the epoch it is told.
    """

    def __init__(self, loader: DataLoader, sampler: DistributedResumableSampler, dataset: Any):
        self.loader, self.sampler, self.dataset = loader, sampler, dataset
        self.epoch = sampler.epoch
        self.batches_taken = sampler.start // loader.batch_size

    def batches(self) -> Iterator[Any]:
        """The rest of the current epoch. Only when it runs out does the position move to the next epoch's start;
        a caller that stops early (the last step) stays in this epoch."""
        self.dataset.set_epoch(self.epoch)
        for batch in self.loader:
            self.batches_taken += 1
            yield batch
        self.epoch += 1
        self.batches_taken = 0
        self.sampler.set_epoch(self.epoch)

    def sampler_state(self) -> dict[str, int]:
        """The sampler state (for the resume bundle) that continues right after the last batch given out."""
        self.sampler.set_position(self.epoch, self.batches_taken * self.loader.batch_size)
        return self.sampler.state_dict()
