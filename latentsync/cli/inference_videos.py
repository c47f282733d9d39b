"""Lip-sync the videos of one list to the audios of another, as the original's evaluation script pairs them, loading
the models once per process.

Example (the original's protocol: random cross-pairing with seed 42, each pair with seed 1247 and DeepCache):
  python -m eval.inference_videos --video_fileslist videos.txt --audio_fileslist audios.txt --output_dir results
  -> results__42/<video name>__<audio name>.mp4
See the pairs first: ... --dry_run (VIDEO<TAB>AUDIO<TAB>OUTPUT per pair, in run order; no model is loaded).
Line i with line i: ... --pairing lines (-> results/<video name>_out.mp4).
On 8 GPUs (one process each, the lists checked once first): ... --nproc_per_node 8
(several nodes: torchrun --nnodes N --rdzv_backend c10d --rdzv_endpoint host:port -m eval.inference_videos ...)
On a Ray cluster (each pair a task with one GPU): ... --executor ray --ray_address auto

A pair whose video shows no face is skipped with a warning; a pair that fails otherwise (a missing or unreadable
file included) is reported, the others go on, and the command exits with 1. See
``latentsync.pipelines.batch_pairing`` and ``latentsync.pipelines.batch_lipsync``.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import TYPE_CHECKING

from latentsync.cli.lipsync_arguments import (add_model_arguments, add_settings_arguments, check_before_loading,
                                              load_pipeline_from_args, settings_from_args)
from latentsync.cli.runner import run_command
from latentsync.errors import InputError
from latentsync.pipelines.batch_pairing import (ORIGINAL_SHUFFLE_SEED, PAIRINGS, LipsyncJob, PairedLists,
                                                pair_lists, read_list_lines)
from latentsync.pipelines.settings import LipsyncSettings
from latentsync.utils.cli_ranges import non_negative_int, positive_int
from latentsync.utils.one_line_parser import ArgumentParser

if TYPE_CHECKING:  # the batch code loads torch: imported when the command runs, not for --help
    from latentsync.pipelines.batch_lipsync import BatchReport, BatchSetup

ORIGINAL_INFERENCE_SEED = 1247  # the default --seed of the original's scripts/inference.py, which runs each pair
WORKER_MODULE = "latentsync.cli.inference_videos"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m eval.inference_videos", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    io = parser.add_argument_group("input and output")
    io.add_argument("--video_fileslist", required=True, help="text file, one video path a line")
    io.add_argument("--audio_fileslist", required=True, help="text file, one audio path a line")
    io.add_argument("--output_dir", required=True,
                    help="results go to OUTPUT_DIR__SEED/<video name>__<audio name>.mp4 (--pairing original) or "
                         "OUTPUT_DIR/<video name>_out.mp4 (--pairing lines)")
    io.add_argument("--pairing", default="original", choices=PAIRINGS,
                    help="original = the original's evaluation protocol: both lists shuffled with --shuffle_seed, cut "
                         "to the shorter, shuffled again, paired in that order; lines = line i with line i (lists "
                         "of equal length)")
    io.add_argument("--shuffle_seed", type=non_negative_int, default=ORIGINAL_SHUFFLE_SEED,
                    help=f"seed of --pairing original's shuffles and suffix of its folder, at least 0 (default "
                         f"{ORIGINAL_SHUFFLE_SEED}, the original's); the noise seed of every pair is --seed")
    io.add_argument("--dry_run", action="store_true",
                    help="print VIDEO<TAB>AUDIO<TAB>OUTPUT for each pair that would run, in order, and exit without "
                         "loading a model")
    io.add_argument("--skip_existing", action="store_true", help="leave pairs whose output exists (resume a batch)")
    workers = parser.add_argument_group("where the pairs run")
    workers.add_argument("--executor", default="local", choices=["local", "ray"],
                         help="local: this process, or each torchrun process its share of the pairs; "
                              "ray: each pair a task with one GPU on a Ray cluster")
    workers.add_argument("--ray_address", default="auto", help="Ray cluster to join (with --executor ray)")
    workers.add_argument("--nproc_per_node", type=positive_int, default=None,
                         help="check the lists, the weights and the options once, then start this many processes "
                              "under torchrun (one per GPU; NNODES and RDZV_ENDPOINT as for the trainers), each "
                              "taking every N-th pair; a problem is told in one line")
    add_model_arguments(parser)
    add_settings_arguments(parser, LipsyncSettings(seed=ORIGINAL_INFERENCE_SEED, enable_deepcache=True))
    return parser.parse_args(argv)


def pair_args_lists(args: argparse.Namespace) -> PairedLists:
    return pair_lists(read_list_lines(args.video_fileslist), read_list_lines(args.audio_fileslist), args.output_dir,
                      args.pairing, args.shuffle_seed)


def load_batch_setup(args: argparse.Namespace) -> BatchSetup:
    """The pipeline and the settings of every pair; a missing restorer fails before the models load."""
    settings = settings_from_args(args)
    check_before_loading(args, settings)
    return load_pipeline_from_args(args), settings


def run_batch(args: argparse.Namespace, jobs: list[LipsyncJob]) -> BatchReport | None:
    """All pairs' report (None on the processes other than torchrun's rank 0)."""
    from latentsync.pipelines.batch_lipsync import BatchReport, lipsync_batch, lipsync_batch_on_ray, share_of_jobs

    if args.executor == "ray":  # this process only hands out the pairs: no torch here
        return lipsync_batch_on_ray(functools.partial(load_batch_setup, args), jobs, args.skip_existing,
                                    args.ray_address)
    from latentsync.utils.distributed import distributed, gather_to_main

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


def launch_workers(args: argparse.Namespace, argv: list[str]) -> int:
    """Check what every worker would meet (options, restorer, weights), then run ``argv`` under torchrun in this
    process. A worker's bad input is told once, by rank 0's ``error:`` line (exit 2), failed pairs by rank 0's
    summary (exit 1), without torchrun's per-process report."""
    from latentsync.cli.launch_environment import launch_environment
    from latentsync.cli.launch_training import run_torchrun, torchrun_arguments

    launch = launch_environment({**os.environ, "NPROC_PER_NODE": str(args.nproc_per_node)})  # NNODES, RDZV_ENDPOINT
    check_before_loading(args, settings_from_args(args))
    return run_torchrun(torchrun_arguments(WORKER_MODULE, argv, launch), explain_exit_codes=False)


def print_report(report: BatchReport, paired: PairedLists, output_dir: str) -> int:
    """How each pair went; 1 when a pair failed."""
    print(f"lip-synced {len(report.done)} of {len(paired.jobs) + len(paired.blank)} pairs into {output_dir}")
    for video, audio in paired.blank:
        print(f"skipped {video!r} + {audio!r}: a blank line of a list")
    for job, reason in report.skipped:
        print(f"skipped {job.video_path} + {job.audio_path}: {reason}")
    for job, error in report.failed:
        print(f"failed {job.video_path} + {job.audio_path}: {error}")
    return 1 if report.failed else 0


def lipsync_lists(args: argparse.Namespace, argv: list[str]) -> int:
    """Pair the lists (before minutes of model loading), run the pairs not finished yet, say how each went."""
    if args.nproc_per_node and args.executor == "ray":
        raise InputError("--nproc_per_node starts processes on this machine and --executor ray hands the pairs to a "
                         "Ray cluster; use one of them")
    from latentsync.pipelines.batch_lipsync import BatchReport, skip_finished

    paired = pair_args_lists(args)
    pending, finished = skip_finished(paired.jobs, args.skip_existing)  # a finished pair needs no model at all
    if args.dry_run:
        for job in pending:
            print(f"{job.video_path}\t{job.audio_path}\t{job.output_path}")
        return 0
    if pending and args.nproc_per_node and "RANK" not in os.environ:  # the launcher; the workers run the pairs
        return launch_workers(args, argv)
    if pending:
        report = run_batch(args, pending)
    else:  # under torchrun, rank 0 alone reports
        report = BatchReport() if os.environ.get("RANK", "0") == "0" else None
    if report is None:
        return 0
    output_dir = paired.jobs[0].output_path.parent if paired.jobs else args.output_dir
    return print_report(finished.extend(report), paired, str(output_dir))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    return run_command(lambda: lipsync_lists(args, argv))


if __name__ == "__main__":
    raise SystemExit(main())
