"""Lip-sync a list of videos to a list of audio files (line i to line i), loading the models once.

Example:
  python -m eval.inference_videos --video_fileslist videos.txt --audio_fileslist audios.txt --output_dir results/

Each result is OUTPUT_DIR/<video name>_out.mp4, the pairing ``eval.eval_fvd`` expects. Pairs with a missing
or unusable file, or without a face, are skipped with a warning; the others go on. Seed 42 unless given, as
the original's batch script. See ``latentsync.pipelines.batch_lipsync``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from latentsync.errors import CheckpointError, InputError
from latentsync.pipelines.batch_lipsync import lipsync_batch, plan_jobs, read_path_list
from scripts.inference import (add_pipeline_arguments, face_enhancement, generation_kwargs, load_enhancer,
                               load_pipeline_from_args)

ORIGINAL_BATCH_SEED = 42


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    io = parser.add_argument_group("input and output")
    io.add_argument("--video_fileslist", required=True, help="text file, one video path a line")
    io.add_argument("--audio_fileslist", required=True, help="text file, one audio path a line (as many lines)")
    io.add_argument("--output_dir", required=True, help="results go here as <video name>_out.mp4")
    io.add_argument("--skip_existing", action="store_true", help="leave pairs whose output exists (resume a batch)")
    add_pipeline_arguments(parser)
    parser.set_defaults(seed=ORIGINAL_BATCH_SEED)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        # The lists are read and paired before minutes of model loading.
        jobs = plan_jobs(read_path_list(args.video_fileslist), read_path_list(args.audio_fileslist), args.output_dir)
        enhancer = load_enhancer(args) if args.face_enhance else None  # a missing model fails before the batch
        pipeline = load_pipeline_from_args(args)
        enhancement = None if enhancer is None else face_enhancement(args, enhancer, pipeline.config.mask_image_path)
        report = lipsync_batch(pipeline, jobs, skip_existing=args.skip_existing, frame_postprocessor=enhancement,
                               **generation_kwargs(args))
    except (InputError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"lip-synced {len(report.done)} of {len(jobs)} pairs into {args.output_dir}")
    for job, reason in report.skipped:
        print(f"skipped {job.video_path} + {job.audio_path}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
