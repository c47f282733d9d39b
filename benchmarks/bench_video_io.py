"""Frames per second of VideoWriter (encode) and VideoReader (forward and backward decode) on a 720p clip.

Video I/O runs beside the model on the same CPU, so it must stay far faster than inference;
this measures it on a generated clip: ``python benchmarks/bench_video_io.py [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentsync.io.video_reader import VideoReader  # noqa: E402
from latentsync.io.video_writer import VideoWriter  # noqa: E402


def moving_picture(width: int, height: int) -> np.ndarray:
    """A textured picture (gradients plus coarse noise) that codecs cannot reduce to nothing."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    picture = np.stack([x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)], axis=-1)
    blocks = rng.integers(0, 64, (height // 16 + 1, width // 16 + 1, 3)).repeat(16, 0).repeat(16, 1)
    return (picture + blocks[:height, :width]).clip(0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--block_size", type=int, default=64)
    args = parser.parse_args()
    num_frames = round(args.seconds * 25)
    picture = moving_picture(args.width, args.height)
    audio = np.zeros(round(args.seconds * 16000), dtype=np.float32)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        started = time.perf_counter()
        with VideoWriter(path, audio=audio, sample_rate=16000) as writer:
            for index in range(num_frames):
                writer.write(np.roll(picture, 8 * index, axis=1))
        report("encode (libx264 crf 18 medium + AAC)", num_frames, started)

        reader = VideoReader(path, block_size=args.block_size)
        started = time.perf_counter()
        counted = reader.count_frames()
        print(f"{'count_frames (demux only)':40s} {counted} frames in {time.perf_counter() - started:.3f} s")
        started = time.perf_counter()
        decoded = sum(1 for _ in reader.frames())
        report("decode forward to RGB", decoded, started)
        started = time.perf_counter()
        decoded = sum(1 for _ in reader.iter_frames(range(counted - 1, -1, -1)))
        report(f"decode backward (blocks of {args.block_size})", decoded, started)
        print(f"{'peak frames buffered backward':40s} {reader.max_buffered_frames}")


def report(label: str, num_frames: int, started: float) -> None:
    seconds = time.perf_counter() - started
    print(f"{label:40s} {num_frames} frames in {seconds:.2f} s = {num_frames / seconds:.1f} frames/s")


if __name__ == "__main__":
    main()
