"""Fréchet Video Distance between two folders of videos (e.g. ground truth vs lip-synced results).

    python -m eval.eval_fvd --real_videos_dir DIR --fake_videos_dir DIR [--i3d_path ...]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from latentsync.evaluation.fvd import frechet_distance, i3d_features, load_i3d, video_clips
from latentsync.evaluation.video_files import list_videos
from latentsync.utils.device import resolve_device

REPO_ROOT = Path(__file__).resolve().parents[1]


def folder_features(detector: torch.jit.ScriptModule, directory: str | Path, clip_len: int, batch_size: int,
                    device: torch.device) -> np.ndarray:
    """I3D features of every ``clip_len``-frame clip of every video in ``directory``."""
    videos = tqdm(list_videos(directory), desc=f"I3D features of {directory}")
    clips = itertools.chain.from_iterable(video_clips(path, clip_len) for path in videos)
    return i3d_features(detector, clips, batch_size, device)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real_videos_dir", required=True)
    parser.add_argument("--fake_videos_dir", required=True)
    parser.add_argument("--i3d_path", default=str(REPO_ROOT / "checkpoints/auxiliary/i3d_torchscript.pt"))
    parser.add_argument("--clip_len", type=int, default=16, help="frames per I3D clip")
    parser.add_argument("--batch_size", type=int, default=8, help="clips per I3D forward pass")
    parser.add_argument("--device", default=None, help="cuda, cpu, ... (default: best available)")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    detector = load_i3d(args.i3d_path, device)
    real = folder_features(detector, args.real_videos_dir, args.clip_len, args.batch_size, device)
    fake = folder_features(detector, args.fake_videos_dir, args.clip_len, args.batch_size, device)
    fvd = frechet_distance(real, fake)
    print(f"FVD: {fvd:.4f} ({len(real)} real clips, {len(fake)} fake clips)")
    return fvd


def command() -> int:
    """Console command ``latentsync-eval-fvd``: prints the result and exits 0 (``main`` returns the score)."""
    main()
    return 0


if __name__ == "__main__":
    main()
