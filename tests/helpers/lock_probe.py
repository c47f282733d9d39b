"""A dataset that reports whether a module-level lock is free in the process that reads it (DataLoader workers)."""

from __future__ import annotations

import threading

from torch.utils.data import Dataset

HELD_BY_A_THREAD = threading.Lock()


class LockProbe(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> bool:
        acquired = HELD_BY_A_THREAD.acquire(timeout=2)
        if acquired:
            HELD_BY_A_THREAD.release()
        return acquired
