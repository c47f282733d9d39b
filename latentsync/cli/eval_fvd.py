"""Fréchet Video Distance between real videos and generated ones (e.g. ground truth vs lip-synced results).

    python -m eval.eval_fvd --real_videos_dir DIR --fake_videos_dir DIR [--protocol latentsync|all_clips]

The two folders are two independent sets of videos (no pairing by name; they may differ in size and names).
``latentsync`` (default) is the original's protocol: one face clip per ``.mp4`` of each folder (frames 20-35,
mediapipe face crop, 224x224); a video shorter than 36 frames or with a frame without a face is left out.
``all_clips`` uses every 16-frame whole-frame clip of every video in each folder, with I3D's own preprocessing.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import TYPE_CHECKING

from latentsync.cli.arguments import add_checkpoints_dir_argument, device_name
from latentsync.cli.runner import run_command
from latentsync.evaluation.protocols import DEFAULT_FVD_PROTOCOL, FVD_PROTOCOLS
from latentsync.evaluation.video_files import list_videos
from latentsync.locations import CheckpointLayout
from latentsync.utils.cli_ranges import positive_int
from latentsync.utils.one_line_parser import ArgumentParser

if TYPE_CHECKING:
    import numpy as np
    import torch


def folder_features(detector: torch.jit.ScriptModule, directory: str | Path, clip_len: int, batch_size: int,
                    device: torch.device) -> np.ndarray:
    """``all_clips``: I3D features of every ``clip_len``-frame clip of every video in ``directory``."""
    from tqdm import tqdm

    from latentsync.evaluation.fvd import i3d_features, video_clips

    videos = tqdm(list_videos(directory), desc=f"I3D features of {directory}")
    clips = itertools.chain.from_iterable(video_clips(path, clip_len) for path in videos)
    return i3d_features(detector, clips, batch_size, device, protocol="all_clips")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m eval.eval_fvd", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real_videos_dir", required=True)
    parser.add_argument("--fake_videos_dir", required=True)
    parser.add_argument("--protocol", choices=tuple(FVD_PROTOCOLS), default=DEFAULT_FVD_PROTOCOL,
                        help="latentsync: the original's face clips; all_clips: every whole-frame 16-frame clip")
    add_checkpoints_dir_argument(parser)
    parser.add_argument("--i3d_path", default=None, help="I3D weights (default: "
                        "CHECKPOINTS_DIR/auxiliary/i3d_torchscript.pt)")
    parser.add_argument("--clip_len", type=positive_int, default=16, help="frames per I3D clip (all_clips), at least 1")
    parser.add_argument("--batch_size", type=positive_int, default=8, help="clips per I3D forward pass, at least 1")
    parser.add_argument("--device", type=device_name, default="cpu",
                        help="where I3D runs: cpu (default; the original's, in float32), cuda, cuda:1, auto (the best "
                             "available)")
    return parser.parse_args(argv)


def evaluate(args: argparse.Namespace) -> float:
    """The FVD of the two folders, printed and returned."""
    from latentsync.evaluation.fvd import folder_face_clips, frechet_distance, i3d_features, load_i3d
    from latentsync.utils.device import resolve_device

    device = resolve_device(args.device)
    detector = load_i3d(args.i3d_path or CheckpointLayout(args.checkpoints_dir).i3d, device)
    if args.protocol == "all_clips":
        real = folder_features(detector, args.real_videos_dir, args.clip_len, args.batch_size, device)
        fake = folder_features(detector, args.fake_videos_dir, args.clip_len, args.batch_size, device)
    else:
        real = i3d_features(detector, folder_face_clips(args.real_videos_dir), args.batch_size, device,
                            protocol="latentsync")
        fake = i3d_features(detector, folder_face_clips(args.fake_videos_dir), args.batch_size, device,
                            protocol="latentsync")
    fvd = frechet_distance(real, fake)
    print(f"FVD ({args.protocol}): {fvd:.4f} ({len(real)} real clips, {len(fake)} fake clips)")
    return fvd


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: evaluate(args))


if __name__ == "__main__":
    raise SystemExit(main())
