"""Lip-sync many video/audio pairs with one loaded pipeline (the pairs: ``latentsync.pipelines.batch_pairing``).

Unlike the original's evaluation script, the models load once per process instead of once per pair and no shell
is involved. A pair whose video shows no face is skipped with a warning (the original's run of that pair stops
without an output); a pair that fails otherwise (a missing or unreadable file, an error during generation) is
reported as failed and the others go on.

Many GPUs: under ``torchrun`` each process takes every ``world_size``-th pair from its rank on (``share_of_jobs``);
on a Ray cluster each pair is one task asking for a GPU (``lipsync_batch_on_ray``), and a Ray worker keeps its
loaded pipeline for the next pair. A pair's output depends only on its files and settings (the seed included),
so it is the same whichever process writes it.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from latentsync.errors import InputError, NoFaceError
from latentsync.pipelines.batch_pairing import LipsyncJob
from latentsync.pipelines.settings import LipsyncSettings
from latentsync.utils.ray_cluster import connect_ray

if TYPE_CHECKING:  # the pipeline's code loads when a batch runs, not when the lists are checked
    from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
    from latentsync.pipelines.lipsync_report import LipsyncReport

    # What a batch process needs: a loaded pipeline and the settings of every pair.
    BatchSetup = tuple[LipsyncPipeline, LipsyncSettings]

logger = logging.getLogger(__name__)


@dataclass
class BatchReport:
    done: list[LipsyncReport] = field(default_factory=list)
    skipped: list[tuple[LipsyncJob, str]] = field(default_factory=list)  # (job, one-line reason)
    failed: list[tuple[LipsyncJob, str]] = field(default_factory=list)  # (job, the error)

    def extend(self, other: BatchReport) -> BatchReport:
        """Add ``other``'s pairs to this report (e.g. those of another process)."""
        self.done += other.done
        self.skipped += other.skipped
        self.failed += other.failed
        return self


def skip_finished(jobs: Sequence[LipsyncJob], skip_existing: bool) -> tuple[list[LipsyncJob], BatchReport]:
    """The jobs still to run, and the report of those skipped because their output exists (with
    ``skip_existing``; outputs appear only when complete, so an existing one is finished)."""
    finished = [job for job in jobs if skip_existing and job.output_path.is_file()]
    return ([job for job in jobs if job not in finished],
            BatchReport(skipped=[(job, f"{job.output_path} exists") for job in finished]))


def lipsync_job(pipeline: LipsyncPipeline, job: LipsyncJob, settings: LipsyncSettings,
                skip_existing: bool = False) -> BatchReport:
    """One pair: done, skipped (its output exists and ``skip_existing``; no face in its video) or failed (anything
    else, a missing or unreadable file included)."""
    pending, report = skip_finished([job], skip_existing)
    if not pending:
        return report
    try:
        job.output_path.parent.mkdir(parents=True, exist_ok=True)
        report.done.append(pipeline(job.video_path, job.audio_path, job.output_path, settings=settings))
    except NoFaceError as error:
        logger.warning("skipping %s + %s: %s", job.video_path, job.audio_path, error)
        report.skipped.append((job, str(error)))
    except InputError as error:  # the user's to fix: the message says how, a traceback would not help
        logger.error("lip-syncing %s + %s failed: %s", job.video_path, job.audio_path, error)
        report.failed.append((job, str(error)))
    except Exception as error:  # one broken pair must not stop the batch; the log keeps the traceback
        logger.exception("lip-syncing %s + %s failed", job.video_path, job.audio_path)
        report.failed.append((job, f"{type(error).__name__}: {error}"))
    return report


def lipsync_batch(pipeline: LipsyncPipeline, jobs: Sequence[LipsyncJob], settings: LipsyncSettings,
                  skip_existing: bool = False) -> BatchReport:
    """Run ``pipeline(...)`` on each job in turn with ``settings``.

    ``skip_existing`` leaves jobs whose output exists alone, so an interrupted batch can be resumed.
    """
    report = BatchReport()
    for job in tqdm(jobs, desc="videos", unit="video"):
        report.extend(lipsync_job(pipeline, job, settings, skip_existing))
    return report


def share_of_jobs(jobs: Sequence[LipsyncJob], rank: int, world_size: int) -> list[LipsyncJob]:
    """The pairs of process ``rank`` of ``world_size``: every ``world_size``-th from ``rank`` on."""
    return list(jobs[rank::world_size])


_worker_setup: dict[bytes, BatchSetup] = {}  # in a Ray worker: the pipeline of the last setup it loaded


def _lipsync_on_worker(load: Callable[[], BatchSetup], job: LipsyncJob, skip_existing: bool) -> BatchReport:
    """A Ray task: load the setup once per worker process (a new setup replaces the old), then run ``job``."""
    key = pickle.dumps(load)
    if key not in _worker_setup:
        _worker_setup.clear()
        _worker_setup[key] = load()
    pipeline, settings = _worker_setup[key]
    return lipsync_job(pipeline, job, settings, skip_existing)


def lipsync_batch_on_ray(load: Callable[[], BatchSetup], jobs: Sequence[LipsyncJob], skip_existing: bool = False,
                         address: str | None = "auto") -> BatchReport:
    """Each job as a Ray task (one GPU each when the cluster has GPUs); Ray schedules them over its nodes.

    ``load`` (picklable, e.g. a ``functools.partial``) builds the pipeline and settings in a worker. The
    files must be on storage every node sees.
    """
    ray = connect_ray(address)
    num_gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
    task = ray.remote(_lipsync_on_worker).options(num_cpus=1, num_gpus=num_gpus)
    jobs_by_task = {task.remote(load, job, skip_existing): job for job in jobs}
    pending, report = list(jobs_by_task), BatchReport()
    with tqdm(total=len(pending), desc="videos", unit="video") as bar:
        while pending:
            (finished,), pending = ray.wait(pending, num_returns=1)
            try:
                report.extend(ray.get(finished))
            except Exception as error:  # the worker died (out of memory, lost node): that pair failed
                job = jobs_by_task[finished]
                logger.error("lip-syncing %s + %s failed on Ray: %s", job.video_path, job.audio_path, error)
                report.failed.append((job, f"{type(error).__name__}: {str(error).splitlines()[0]}"))
            bar.update(1)
    return report
