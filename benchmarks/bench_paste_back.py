"""Frames/s of the face stages around the models: alignment, paste-back, then paste-back + encode per encoding.

On a CPU these stages can set the pace of a whole run once the models are fast, so they are measured apart:
real demo frames (scaled by ``--scale``) and landmarks (mediapipe), 16 frames at a time as the pipeline does.
Alignment warps and resizes the faces (frames in host memory; on a GPU only the windows around the faces are
copied to it); the aligned faces are pasted back as if generated, then encoded with ``VideoWriter`` (in the
calling thread) and ``BackgroundVideoWriter`` (in a thread of its own, as ``pipe(...)`` does).

    python benchmarks/bench_paste_back.py --scale 0.5                           # 540x960
    python benchmarks/bench_paste_back.py --scale 1 --device cuda --encodings   # 1080x1920 on a GPU, no encoding
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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
from latentsync.face.tracking import FaceTrack, locate_faces  # noqa: E402
from latentsync.io.background_writer import BackgroundVideoWriter  # noqa: E402
from latentsync.io.encodings import ENCODINGS  # noqa: E402
from latentsync.io.video_reader import VideoReader  # noqa: E402
from latentsync.io.video_writer import VideoWriter  # noqa: E402
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
    parser.add_argument("--encodings", nargs="*", choices=list(ENCODINGS), default=["standard", "fast"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_library_logs()
    error = missing_inputs([args.video], "--video")
    if error:
        print(error, file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    frames, aligner, track = tracked_demo_frames(args.video, args.frames, args.scale, args.resolution, device)
    frames_on_host = torch.from_numpy(np.stack(frames))
    frames_on_device = frames_on_host.to(device)
    matrices = track.affine_matrices.to(device)

    windows = [slice(start, start + WINDOW) for start in range(0, len(frames), WINDOW)]

    def aligned_windows():
        for window in windows:
            yield aligner.resize_crops(aligner.crop(frames_on_host[window], matrices[window], device))

    faces = torch.cat(list(aligned_windows())).float() / 127.5 - 1

    def pasted_windows():
        for window in windows:
            yield paste_faces_back(frames_on_device[window], faces[window], matrices[window], aligner.crop_size).cpu()

    height, width = frames[0].shape[:2]
    print(f"{width}x{height}, {len(frames)} frames, {args.resolution} px faces, alignment and paste-back on {device}")
    print(f"{'align (warp + Lanczos resize)':72s} {frames_per_second(aligned_windows, device):7.1f} frames/s")
    print(f"{'paste-back':72s} {frames_per_second(pasted_windows, device):7.1f} frames/s")
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


def frames_per_second(windows: Callable[[], Iterator[torch.Tensor]], device: torch.device) -> float:
    """Frames/s of a second pass over ``windows()`` (the first chooses kernels and fills caches)."""
    sum(len(window) for window in windows())
    started = time.perf_counter()
    count = sum(len(window) for window in windows())
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return count / (time.perf_counter() - started)


def tracked_demo_frames(video: Path, num_frames: int, scale: float, resolution: int,
                        device: torch.device) -> tuple[list[np.ndarray], FaceAligner, FaceTrack]:
    """The first ``num_frames`` of ``video`` (scaled), the aligner of ``resolution`` and their faces (mediapipe)."""
    frames = read_frames(video, num_frames, scale)
    aligner = FaceAligner(resolution)
    detector = create_landmark_detector("mediapipe", device)
    try:
        return frames, aligner, locate_faces(iter(frames), len(frames), detector, aligner, max_gap=2)
    finally:
        detector.close()


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
