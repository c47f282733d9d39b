"""Raw talking-head videos -> training clips (25 fps, 16 kHz, aligned faces, audio in sync, good quality).

    python -m data_processing.pipeline --input_dir /data/VoxCeleb2/raw
    python -m data_processing.pipeline --input_dir /data/raw --output_root /data/processed --executor ray

Stage folders go beside the input folder (or under --output_root); ledgers/<stage>.jsonl record every clip's
decision, and a re-run continues where the last one stopped. The input folder is never modified.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from latentsync.cli.arguments import add_checkpoints_dir_argument
from latentsync.cli.runner import run_command
from latentsync.face.align_precision import ALIGN_PRECISIONS
from latentsync.face.landmarks.factory import LANDMARK_DETECTORS
from latentsync.locations import CheckpointLayout
from latentsync.utils.cli_ranges import number_in_range, positive_int
from latentsync.utils.one_line_parser import ArgumentParser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m data_processing.pipeline", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input_dir", required=True, help="folder of raw videos (searched recursively)")
    parser.add_argument("--output_root", default=None, help="where the stage folders go (default: beside input_dir)")
    parser.add_argument("--resolution", type=positive_int, default=256,
                        help="aligned face size in pixels, at least 1: 256 (1.5) or 512 (1.6)")
    parser.add_argument("--sync_conf_threshold", type=float, default=3, help="smallest SyncNet confidence kept")
    parser.add_argument("--quality_threshold", type=number_in_range(float, 0, 100), default=40,
                        help="smallest HyperIQA score kept, 0 to 100")
    parser.add_argument("--filter_high_resolution", action="store_true",
                        help="also drop clips whose face is smaller than --resolution (off in the original)")
    parser.add_argument("--filter_incorrect_alignment", action="store_true",
                        help="also drop aligned clips without exactly one face per frame (off in the original)")
    parser.add_argument("--face_backend", "--landmark_detector", dest="face_backend", default="auto",
                        choices=["auto", *LANDMARK_DETECTORS],
                        help="landmarks for the affine stage; auto: the release's (insightface for 512, "
                             "face_alignment for 256, as inference), an error when it cannot run")
    parser.add_argument("--encoding", default="standard", choices=["standard", "original"],
                        help="standard: re-encoded clips at CRF 18, aligned clips encoded once; original: as the "
                             "original's commands, non-25-fps sources at CRF 23, shots at CRF 22 veryfast, aligned "
                             "clips at CRF 13 then re-encoded with the audio at libx264's defaults")
    parser.add_argument("--align_dtype", default="float32", choices=ALIGN_PRECISIONS,
                        help="precision of the face crops: float32 (default) or float16, the original's (its aligner "
                             "runs in float16 on the GPU)")
    add_checkpoints_dir_argument(parser)
    parser.add_argument("--weights_dir", type=Path, default=None,
                        help="folder of sfd_face.pth, syncnet_v2.model, koniq_pretrained.pkl and landmark weights "
                             "(default: CHECKPOINTS_DIR/auxiliary)")
    parser.add_argument("--executor", default="local", choices=["local", "ray"],
                        help="local: process pools on this machine; ray: tasks on a Ray cluster")
    parser.add_argument("--ray_address", default="auto", help="Ray cluster to join (with --executor ray)")
    parser.add_argument("--total_num_workers", type=positive_int, default=os.cpu_count() or 1,
                        help="processes for the CPU stages (local executor), at least 1")
    parser.add_argument("--per_gpu_num_workers", type=positive_int, default=1,
                        help="processes per GPU for the model stages (on the CPU when there is no GPU), at least 1")
    parser.add_argument("--temp_dir", default=None, help=argparse.SUPPRESS)  # the original's; nothing is staged
    parser.add_argument("--no_progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def process(args: argparse.Namespace) -> None:
    from latentsync.data_processing.driver import build_stages, check_run, run_pipeline
    from latentsync.data_processing.executors import LocalExecutor, RayExecutor

    weights = CheckpointLayout(args.checkpoints_dir, args.weights_dir)
    stages = build_stages(args.resolution, args.sync_conf_threshold, args.quality_threshold,
                          args.filter_high_resolution, args.filter_incorrect_alignment, args.face_backend,
                          weights.auxiliary, weights.syncnet_v2, weights.s3fd, weights.hyperiqa, args.encoding,
                          args.align_dtype)
    check_run(args.input_dir, args.output_root, stages)  # before starting workers or a cluster connection
    if args.executor == "ray":
        executor = RayExecutor(args.ray_address, args.per_gpu_num_workers)
    else:
        executor = LocalExecutor(args.total_num_workers, args.per_gpu_num_workers)
    with executor:
        result = run_pipeline(args.input_dir, stages, args.output_root, executor, progress=not args.no_progress)
    print(result.summary)
    print(f"{len(result.final_clips)} clips listed in {result.fileslist}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: process(args))


if __name__ == "__main__":
    raise SystemExit(main())
