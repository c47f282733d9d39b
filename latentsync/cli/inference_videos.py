"""Lip-sync a list of videos to a list of audio files (line i to line i), loading the models once per process.

Example:
  python -m eval.inference_videos --video_fileslist videos.txt --audio_fileslist audios.txt --output_dir results/
On 8 GPUs (one process each; several nodes: torchrun's --nnodes and --rdzv_endpoint):
  torchrun --nproc_per_node 8 -m eval.inference_videos --video_fileslist videos.txt ... --skip_existing
On a Ray cluster (each pair a task with one GPU): ... --executor ray --ray_address auto

Each result is OUTPUT_DIR/<video name>_out.mp4, the pairing ``eval.eval_fvd`` expects. Pairs with a missing
or unusable file, or without a face, are skipped with a warning; a pair that fails otherwise is reported; the
others go on. Seed 42 unless given, as the original's batch script. See ``latentsync.pipelines.batch_lipsync``.
"""

from __future__ import annotations

import argparse
import functools
import os
from typing import TYPE_CHECKING

from latentsync.cli.lipsync_arguments import (add_model_arguments, add_settings_arguments, check_before_loading,
                                              load_pipeline_from_args, settings_from_args)
from latentsync.cli.runner import run_command
from latentsync.pipelines.settings import LipsyncSettings
from latentsync.utils.one_line_parser import ArgumentParser

if TYPE_CHECKING:  # the batch code loads torch: imported when the command runs, not for --help
    from latentsync.pipelines.batch_lipsync import BatchReport, BatchSetup, LipsyncJob

ORIGINAL_BATCH_SEED = 42


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m eval.inference_videos", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    io = parser.add_argument_group("input and output")
    io.add_argument("--video_fileslist", required=True, help="text file, one video path a line")
    io.add_argument("--audio_fileslist", required=True, help="text file, one audio path a line (as many lines)")
    io.add_argument("--output_dir", required=True, help="results go here as <video name>_out.mp4")
    io.add_argument("--skip_existing", action="store_true", help="leave pairs whose output exists (resume a batch)")
    workers = parser.add_argument_group("where the pairs run")
    workers.add_argument("--executor", default="local", choices=["local", "ray"],
                         help="local: this process, or each torchrun process its share of the pairs; "
                              "ray: each pair a task with one GPU on a Ray cluster")
    workers.add_argument("--ray_address", default="auto", help="Ray cluster to join (with --executor ray)")
    add_model_arguments(parser)
    add_settings_arguments(parser, LipsyncSettings(seed=ORIGINAL_BATCH_SEED))
    return parser.parse_args(argv)


def load_batch_setup(args: argparse.Namespace) -> BatchSetup:
    """The pipeline and the settings of every pair; a missing restorer fails before the models load."""
    settings = settings_from_args(args)
    check_before_loading(args, settings)
    return load_pipeline_from_args(args), settings


def run_batch(args: argparse.Namespace, jobs: list[LipsyncJob]) -> BatchReport | None:
    """All pairs' report (None on the processes other than torchrun's rank 0)."""
    from latentsync.pipelines.batch_lipsync import BatchReport, lipsync_batch, lipsync_batch_on_ray, share_of_jobs
    from latentsync.utils.distributed import distributed, gather_to_main

    if args.executor == "ray":
        return lipsync_batch_on_ray(functools.partial(load_batch_setup, args), jobs, args.skip_existing,
                                    args.ray_address)
    with distributed(None if args.device == "auto" else args.device) as context:
        if context.is_distributed and args.device in ("auto", "cuda"):
            args.device = str(context.device)  # cuda:LOCAL_RANK, or the CPU
        pipeline, settings = load_batch_setup(args)
        try:
            report = lipsync_batch(pipeline, share_of_jobs(jobs, context.rank, context.world_size), settings,
                                   skip_existing=args.skip_existing)
        finally:
            pipeline.close()
        reports = gather_to_main(report)
    return None if reports is None else functools.reduce(BatchReport.extend, reports, BatchReport())


def lipsync_lists(args: argparse.Namespace) -> int:
    """Pair the lists (before minutes of model loading), run the pairs not finished yet, say how each went."""
    from latentsync.pipelines.batch_lipsync import BatchReport, plan_jobs, read_path_list, skip_finished

    jobs = plan_jobs(read_path_list(args.video_fileslist), read_path_list(args.audio_fileslist), args.output_dir)
    pending, finished = skip_finished(jobs, args.skip_existing)  # a finished pair needs no model at all
    if pending:
        report = run_batch(args, pending)
    else:  # under torchrun, rank 0 alone reports
        report = BatchReport() if os.environ.get("RANK", "0") == "0" else None
    if report is None:
        return 0
    report = finished.extend(report)
    print(f"lip-synced {len(report.done)} of {len(jobs)} pairs into {args.output_dir}")
    for job, reason in report.skipped:
        print(f"skipped {job.video_path} + {job.audio_path}: {reason}")
    for job, error in report.failed:
        print(f"failed {job.video_path} + {job.audio_path}: {error}")
    return 1 if report.failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: lipsync_lists(args))


if __name__ == "__main__":
    raise SystemExit(main())
