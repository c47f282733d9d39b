"""DataLoaders whose worker processes come from a fork server rather than from the training process itself."""

from __future__ import annotations

import multiprocessing

from torch.utils.data import DataLoader, Dataset

# Imported once by the fork server, so each worker forked from it starts with the data code already loaded.
WORKER_PRELOAD = ["latentsync.data.syncnet_dataset", "latentsync.data.unet_dataset"]


def data_loader(dataset: Dataset, *, num_workers: int = 0, **kwargs) -> DataLoader:
    """A ``DataLoader`` (``kwargs`` as torch's) whose workers, if any, are forked from a fork server.

    Forking the training process copies its other threads' locks as they are at that moment (a video decoder's,
    OpenMP's, TensorBoard's writer's, the validation face detector's), and a worker that needs one held then waits
    forever (a CI run of the test suite stalled so in a worker test). The fork server is a fresh process that has
    only imported the data code; workers forked from it start as fast and inherit none of that state.
    """
    context = None
    if num_workers > 0:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(WORKER_PRELOAD)
    return DataLoader(dataset, num_workers=num_workers, multiprocessing_context=context, **kwargs)
