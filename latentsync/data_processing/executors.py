"""Where the clips of a stage run: in this process, in a local process pool, or on a Ray cluster.

All three call the same ``run_clip`` and yield ledger records as clips finish (in any order); the driver
appends them to the ledger, so resumption works the same everywhere. At most a few clips per worker are
in flight, so a folder of millions of clips never becomes millions of pending tasks.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from latentsync.data_processing.records import LedgerRecord
from latentsync.data_processing.stage import Stage, run_clip
from latentsync.errors import EnvironmentProblem
from latentsync.utils.quiet_logs import quiet_library_logs
from latentsync.utils.ray_cluster import connect_ray

IN_FLIGHT_PER_WORKER = 2


class Executor(ABC):
    @abstractmethod
    def map(self, stage: Stage, input_dir: Path, output_dir: Path, clips: Iterable[str]) -> Iterator[LedgerRecord]:
        """Run ``stage`` on every clip; yield the records in completion order."""

    def close(self) -> None:
        """Stop the workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Everything in this process, clip after clip (one worker, debugging, tests)."""

    def map(self, stage: Stage, input_dir: Path, output_dir: Path, clips: Iterable[str]) -> Iterator[LedgerRecord]:
        for clip in clips:
            yield run_clip(stage, input_dir, output_dir, clip)


class LocalExecutor(Executor):
    """One machine: ``total_num_workers`` processes for CPU stages, ``per_gpu_num_workers`` per visible GPU
    for model stages (each process pinned to one GPU), or that many on the CPU when there is no GPU.

    Pools are started on first use and kept for the next stages, so workers load their models once.
    A pool of one worker is this process.
    """

    def __init__(self, total_num_workers: int = os.cpu_count() or 1, per_gpu_num_workers: int = 1):
        self.total_num_workers = max(1, total_num_workers)
        self.per_gpu_num_workers = max(1, per_gpu_num_workers)
        self.num_gpus = torch.cuda.device_count()
        self._pools: dict[bool, concurrent.futures.ProcessPoolExecutor] = {}

    def map(self, stage: Stage, input_dir: Path, output_dir: Path, clips: Iterable[str]) -> Iterator[LedgerRecord]:
        pool = self._pool(stage.uses_gpu)
        if pool is None:
            return SerialExecutor().map(stage, input_dir, output_dir, clips)
        return _bounded(lambda clip: pool.submit(run_clip, stage, input_dir, output_dir, clip), clips,
                        self._pool_size(stage.uses_gpu) * IN_FLIGHT_PER_WORKER)

    def _pool_size(self, uses_gpu: bool) -> int:
        if uses_gpu:
            return self.per_gpu_num_workers * max(1, self.num_gpus)
        return self.total_num_workers

    def _pool(self, uses_gpu: bool) -> concurrent.futures.ProcessPoolExecutor | None:
        size = self._pool_size(uses_gpu)
        gpus = list(range(self.num_gpus)) if uses_gpu else []
        if size == 1 and not gpus:
            return None
        if uses_gpu not in self._pools:
            # Model workers are spawned (CUDA and forked parents do not mix); media workers are forked where
            # possible, which starts them in milliseconds instead of re-importing the libraries.
            forkable = not uses_gpu and "fork" in multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if forkable else "spawn")
            devices = context.Queue()
            for index in range(size):
                devices.put(gpus[index % len(gpus)] if gpus else None)
            self._pools[uses_gpu] = concurrent.futures.ProcessPoolExecutor(
                size, mp_context=context, initializer=_init_worker, initargs=(devices,))
        return self._pools[uses_gpu]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(cancel_futures=True)
        self._pools.clear()


def _init_worker(devices: Any) -> None:
    """Pin this worker to its GPU before CUDA starts; one torch thread per worker on the CPU; the entry points'
    filters of library noise (spawned workers start without them)."""
    quiet_library_logs()
    gpu = devices.get()
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    torch.set_num_threads(1)


class RayExecutor(Executor):
    """A Ray cluster (``address="auto"`` joins the running one; reuses ``ray.init`` done by the caller).

    Each clip is one task; model stages request ``1 / per_gpu_num_workers`` GPU when the cluster has GPUs.
    Ray reuses worker processes, so models are loaded once per worker. Workers read and write the same
    paths as the driver: the folders must be on storage shared by all nodes.
    """

    def __init__(self, address: str | None = "auto", per_gpu_num_workers: int = 1):
        ray = self._ray = connect_ray(address)
        self.per_gpu_num_workers = max(1, per_gpu_num_workers)
        resources = ray.cluster_resources()
        self.num_cpus = int(resources.get("CPU", 1))
        self.has_gpus = resources.get("GPU", 0) > 0
        self._run_clip = ray.remote(run_clip)

    def map(self, stage: Stage, input_dir: Path, output_dir: Path, clips: Iterable[str]) -> Iterator[LedgerRecord]:
        num_gpus = 1 / self.per_gpu_num_workers if stage.uses_gpu and self.has_gpus else 0
        task = self._run_clip.options(num_cpus=1, num_gpus=num_gpus)
        in_flight: list[Any] = []
        for clip in clips:
            in_flight.append(task.remote(stage, input_dir, output_dir, clip))
            if len(in_flight) >= self.num_cpus * IN_FLIGHT_PER_WORKER:
                done, in_flight = self._ray.wait(in_flight, num_returns=1)
                yield from self._get(done)
        while in_flight:
            done, in_flight = self._ray.wait(in_flight, num_returns=1)
            yield from self._get(done)

    def _get(self, done: list[Any]) -> list[LedgerRecord]:
        """The tasks' records; a task's ``EnvironmentProblem`` is raised as itself, not as Ray's traceback."""
        try:
            return self._ray.get(done)
        except self._ray.exceptions.RayTaskError as error:
            if isinstance(error.cause, EnvironmentProblem):
                raise error.cause from None
            raise


def _bounded(submit: Callable[[str], concurrent.futures.Future], clips: Iterable[str],
             limit: int) -> Iterator[LedgerRecord]:
    pending: set[concurrent.futures.Future] = set()
    for clip in clips:
        pending.add(submit(clip))
        if len(pending) >= limit:
            done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            yield from (future.result() for future in done)
    for future in concurrent.futures.as_completed(pending):
        yield future.result()
