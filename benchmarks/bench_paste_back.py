"""Frames/s of the stages after the models: paste-back alone, then paste-back + encode for each named encoding.

On a CPU these stages can set the pace of a whole run once the models are fast, so they are measured apart:
real demo frames (scaled by ``--scale``), real landmarks and alignment (mediapipe), the aligned faces pasted
back as if generated, 16 frames at a time as the pipeline does, then encoded with ``VideoWriter`` (in the
calling thread) and ``BackgroundVideoWriter`` (in a thread of its own, as ``pipe(...)`` does).

    python benchmarks/bench_paste_back.py --scale 0.5                 # 540x960
    python benchmarks/bench_paste_back.py --scale 1 --device cuda     # 1080x1920, paste-back on a GPU
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.demo_inputs import demo_clip, missing_inputs  # noqa: E402
from latentsync.face.alignment import FaceAligner  # noqa: E402
from latentsync.face.landmarks import create_landmark_detector  # noqa: E402
from latentsync.face.paste_back import paste_faces_back  # noqa: E402
from latentsync.face.tracking import locate_faces  # noqa: E402
from latentsync.io.background_writer import BackgroundVideoWriter  # noqa: E402
from latentsync.io.video_reader import VideoReader  # noqa: E402
from latentsync.io.video_writer import ENCODINGS, VideoWriter  # noqa: E402
from latentsync.utils.device import resolve_device  # noqa: E402
from latentsync.utils.quiet_logs import quiet_library_logs  # noqa: E402

DEFAULT_VIDEO = demo_clip("demo1_video.mp4")
WINDOW = 16  # frames per paste-back call, as the pipeline's windows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--scale", type=float, default=0.5, help="scale the video first (0.5: 540x960)")
    parser.add_argument("--resolution", type=int, default=256, help="the generated faces' size (1.6: 512)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--encodings", nargs="+", choices=list(ENCODINGS), default=["standard", "fast"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_library_logs()
    error = missing_inputs([args.video], "--video")
    if error:
        print(error, file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    frames = read_frames(args.video, args.frames, args.scale)
    aligner = FaceAligner(args.resolution)
    detector = create_landmark_detector("mediapipe", device)
    try:
        track = locate_faces(iter(frames), len(frames), detector, aligner, max_gap=2)
    finally:
        detector.close()
    frames_on_device = torch.from_numpy(np.stack(frames)).to(device)
    matrices = track.affine_matrices.to(device)
    faces = aligner.resize_crops(aligner.crop(frames_on_device, matrices)).float() / 127.5 - 1

    def pasted_windows():
        for start in range(0, len(frames), WINDOW):
            window = slice(start, start + WINDOW)
            yield paste_faces_back(frames_on_device[window], faces[window], matrices[window], aligner.crop_size).cpu()

    sum(len(window) for window in pasted_windows())  # warm-up: kernels chosen, caches filled
    started = time.perf_counter()
    sum(len(window) for window in pasted_windows())
    height, width = frames[0].shape[:2]
    print(f"{width}x{height}, {len(frames)} frames, {args.resolution} px faces, paste-back on {device}")
    print(f"{'paste-back':72s} {len(frames) / (time.perf_counter() - started):7.1f} frames/s")
    for name in args.encodings:
        settings = ENCODINGS[name]
        for writer_type in (VideoWriter, BackgroundVideoWriter):
            with tempfile.TemporaryDirectory() as folder:
                started = time.perf_counter()
                with writer_type(Path(folder) / "out.mp4", crf=settings.crf, preset=settings.preset) as writer:
                    for window in pasted_windows():
                        for frame in window.numpy():
                            writer.write(frame)
                seconds = time.perf_counter() - started
            label = f"paste-back + encode {name} (CRF {settings.crf} {settings.preset}), {writer_type.__name__}"
            print(f"{label:72s} {len(frames) / seconds:7.1f} frames/s")
    return 0


def read_frames(video: Path, num_frames: int, scale: float) -> list[np.ndarray]:
    reader = VideoReader(video)
    size = (round(reader.width * scale / 2) * 2, round(reader.height * scale / 2) * 2)
    frames = []
    for frame in reader.frames():
        if len(frames) == num_frames:
            break
        frames.append(frame if scale == 1 else cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    return frames


if __name__ == "__main__":
    sys.exit(main())
