"""Command-line options that several commands share, and the objects they describe.

Like every module of ``latentsync.cli``, it imports the model code (torch, PyAV, OpenCV, ...) only inside the
functions that run a command, so ``--help`` and a usage error answer at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from latentsync.errors import InputError
from latentsync.evaluation.protocols import FACE_DETECTORS, SYNC_PROTOCOLS
from latentsync.locations import DEFAULT_CHECKPOINTS_DIR, CheckpointLayout
from latentsync.training.session_options import MIXED_PRECISION, REPORT_TO
from latentsync.utils.cli_ranges import number_in_range, positive_int

if TYPE_CHECKING:
    from latentsync.evaluation.video_sync import VideoSyncScorer


def device_name(text: str) -> str:
    """argparse type of every ``--device``: ``auto`` or a device this machine has, so a missing GPU or a typo
    (``gpu0``) is one line before anything loads (torch is imported only for a device other than the CPU)."""
    if text in ("auto", "cpu"):
        return text
    from latentsync.utils.device import resolve_device

    try:
        resolve_device(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def add_checkpoints_dir_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--checkpoints_dir``: the folder of every weight (``latentsync.locations.CheckpointLayout``)."""
    parser.add_argument("--checkpoints_dir", type=Path, default=DEFAULT_CHECKPOINTS_DIR,
                        help="folder of the weights ./setup_env.sh downloads (default: the checkout's checkpoints/)")


def add_scorer_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``scorer_from_args``, shared by the commands that score videos."""
    add_checkpoints_dir_argument(parser)
    parser.add_argument("--initial_model", default=None,
                        help="classic SyncNet weights (default: CHECKPOINTS_DIR/auxiliary/syncnet_v2.model)")
    parser.add_argument("--detector", "--face_detector", dest="detector", default="s3fd", choices=FACE_DETECTORS,
                        help="face detector of the tracks: s3fd (default, the published LSE-C / LSE-D protocol) "
                             "or a landmark backend (mediapipe needs no extra weights)")
    parser.add_argument("--protocol", default="original", choices=SYNC_PROTOCOLS,
                        help="original (default): score what the original's staging produces (re-encode at 25 fps, "
                             "JPEG frames, mp4v crop videos, in a temporary folder), comparable with the paper; "
                             "lossless: score the decoded frames in memory")
    parser.add_argument("--s3fd_path", default=None,
                        help="S3FD weights (default: CHECKPOINTS_DIR/auxiliary/sfd_face.pth)")
    parser.add_argument("--min_track", type=positive_int, default=50,
                        help="shortest face track scored, in frames, at least 1")
    parser.add_argument("--min_face_size", type=number_in_range(float, 0), default=100,
                        help="smallest mean face size scored, in pixels, at least 0")
    parser.add_argument("--batch_size", type=positive_int, default=20, help="SyncNet windows per forward pass, at least 1")
    parser.add_argument("--device", type=device_name, default=None, help="cuda, cpu, ... (default: best available)")


def scorer_weights(args: argparse.Namespace) -> tuple[Path, Path]:
    """The SyncNet and S3FD weight files the options of ``add_scorer_arguments`` name."""
    layout = CheckpointLayout(args.checkpoints_dir)
    return Path(args.initial_model or layout.syncnet_v2), Path(args.s3fd_path or layout.s3fd)


def scorer_from_args(args: argparse.Namespace) -> VideoSyncScorer:
    """The scorer the options of ``add_scorer_arguments`` describe (see ``load_video_sync_scorer``)."""
    from latentsync.evaluation.video_sync import load_video_sync_scorer
    from latentsync.utils.device import resolve_device

    syncnet, s3fd = scorer_weights(args)
    return load_video_sync_scorer(syncnet, resolve_device(args.device), args.detector, s3fd,
                                  CheckpointLayout(args.checkpoints_dir).auxiliary, args.min_track, args.min_face_size,
                                  args.batch_size, args.protocol)


def add_training_session_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every trainer's CLI takes for its session (resume, metrics, precision, device), in a group."""
    group = parser.add_argument_group("runtime")
    group.add_argument("--resume", default=None,
                       help="'latest' (newest bundle under data.train_output_dir), a run folder or a checkpoint-STEP.pt")
    group.add_argument("--report_to", default="none", choices=REPORT_TO, help="also log to TensorBoard")
    group.add_argument("--mixed_precision", default="auto", choices=MIXED_PRECISION,
                       help="with run.mixed_precision_training: auto = fp16 on CUDA (as the original), fp32 on CPU")
    group.add_argument("--device", type=device_name, default=None,
                       help="cpu to train on the CPU of a GPU machine (default: auto)")
