"""Lip-sync many videos with one loaded pipeline: the i-th video of a list to the i-th audio of another.

As the original ``eval/inference_videos.py``, each result is ``<output_dir>/<video name>_out.mp4`` (the name
the FVD pairing expects), and a pair whose files are missing is skipped. Unlike it, the models load once for
the whole list instead of once per video, no shell is involved, and a pair that fails its input checks (or
has no face) is reported and skipped without stopping the others.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import InputError
from .lipsync_pipeline import LipsyncPipeline, LipsyncReport

logger = logging.getLogger(__name__)

OUTPUT_SUFFIX = "_out.mp4"


@dataclass(frozen=True)
class LipsyncJob:
    video_path: Path
    audio_path: Path
    output_path: Path


@dataclass
class BatchReport:
    done: list[LipsyncReport] = field(default_factory=list)
    skipped: list[tuple[LipsyncJob, str]] = field(default_factory=list)  # (job, one-line reason)


def read_path_list(list_path: str | os.PathLike) -> list[Path]:
    """The paths of a text file, one a line (blank lines ignored); InputError when the file is missing."""
    list_path = Path(list_path)
    if not list_path.is_file():
        raise InputError(f"file list {list_path} not found; write one path a line")
    return [Path(line.strip()) for line in list_path.read_text().splitlines() if line.strip()]


def plan_jobs(video_paths: list[Path], audio_paths: list[Path], output_dir: str | os.PathLike) -> list[LipsyncJob]:
    """Pair the lists line by line; two videos with the same name would write one output, so that is refused."""
    if len(video_paths) != len(audio_paths):
        raise InputError(f"the video list has {len(video_paths)} paths and the audio list {len(audio_paths)}; "
                         "line i of one is lip-synced to line i of the other, so they must be as long")
    jobs, outputs = [], {}
    for video, audio in zip(video_paths, audio_paths):
        output = Path(output_dir) / f"{video.stem}{OUTPUT_SUFFIX}"
        if output in outputs:
            raise InputError(f"{outputs[output]} and {video} would both be written to {output}; rename one")
        outputs[output] = video
        jobs.append(LipsyncJob(video, audio, output))
    return jobs


def lipsync_batch(pipeline: LipsyncPipeline, jobs: list[LipsyncJob], skip_existing: bool = False,
                  **call_kwargs) -> BatchReport:
    """Run ``pipeline(...)`` on each job (``call_kwargs``: steps, guidance, seed, DeepCache, ...).

    Bad inputs (missing or undecodable files, no face) are logged and skipped; ``skip_existing`` leaves
    jobs whose output exists alone, so an interrupted batch can be resumed.
    """
    report = BatchReport()
    for job in tqdm(jobs, desc="videos", unit="video"):
        if skip_existing and job.output_path.is_file():
            report.skipped.append((job, f"{job.output_path} exists"))
            continue
        try:
            job.output_path.parent.mkdir(parents=True, exist_ok=True)
            report.done.append(pipeline(video_path=job.video_path, audio_path=job.audio_path,
                                        video_out_path=job.output_path, **call_kwargs))
        except InputError as error:
            logger.warning("skipping %s + %s: %s", job.video_path, job.audio_path, error)
            report.skipped.append((job, str(error)))
    return report
