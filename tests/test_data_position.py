"""DataPosition: a run stopped after any batch resumes with the very next one, epoch after epoch."""

from __future__ import annotations

from torch.utils.data import DataLoader, Dataset

from latentsync.data import DistributedResumableSampler
from latentsync.training.data_position import DataPosition


class Numbers(Dataset):
    """0..9, recording the epochs it is told (a training dataset changes its draws with them)."""

    def __init__(self):
        self.epochs = []

    def __len__(self) -> int:
        return 10

    def __getitem__(self, index: int) -> int:
        return index

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)


def _position(dataset: Numbers, state: dict | None = None) -> DataPosition:
    sampler = DistributedResumableSampler(dataset, num_replicas=1, rank=0, seed=3)
    if state is not None:
        sampler.load_state_dict(state)
    return DataPosition(DataLoader(dataset, batch_size=2, sampler=sampler), sampler, dataset)


def _take(position: DataPosition, count: int | None = None) -> list[list[int]]:
    taken = []
    for batch in position.batches():
        taken.append(batch.tolist())
        if len(taken) == count:
            break
    return taken


def test_an_epoch_used_up_moves_to_the_next_and_reshuffles():
    dataset = Numbers()
    position = _position(dataset)
    first, second = _take(position), _take(position)
    assert len(first) == len(second) == 5 and first != second
    assert sorted(sum(first, [])) == sorted(sum(second, [])) == list(range(10))
    assert dataset.epochs == [0, 1] and position.epoch == 2 and position.sampler_state() == {"epoch": 2, "start": 0}


def test_stopping_mid_epoch_resumes_with_the_next_batch():
    uninterrupted = _position(Numbers())
    epochs = [_take(uninterrupted), _take(uninterrupted)]
    stopped = _position(Numbers())
    taken = _take(stopped, 2)
    assert stopped.epoch == 0  # stopping early is not the end of the epoch
    state = stopped.sampler_state()
    assert state == {"epoch": 0, "start": 4}
    resumed_dataset = Numbers()
    resumed = _position(resumed_dataset, state)
    assert taken + _take(resumed) == epochs[0] and _take(resumed) == epochs[1]
    assert resumed_dataset.epochs == [0, 1]
