"""DataLoader workers start from a fork server: they inherit no lock another thread held when they started."""

from __future__ import annotations

import threading

from latentsync.data.loader import data_loader
from tests.helpers.lock_probe import HELD_BY_A_THREAD, LockProbe


def test_workers_do_not_inherit_a_lock_another_thread_holds():
    released = threading.Event()

    def hold() -> None:
        with HELD_BY_A_THREAD:
            released.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert HELD_BY_A_THREAD.locked()
        from_workers = [bool(free) for batch in data_loader(LockProbe(), num_workers=2) for free in batch]
        assert from_workers == [True, True]  # forked from this process, each would wait on the held copy and fail
    finally:
        released.set()
        holder.join()
