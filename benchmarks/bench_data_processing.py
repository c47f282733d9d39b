"""Clips per second of every data-processing stage, on this machine (GPU stages on the GPU when there is one).

    python benchmarks/bench_data_processing.py [--seconds 10] [--scale 0.5] [--weights_dir checkpoints/auxiliary]

The raw folder is made from the demo videos of ``../shared/media``, else of ``assets/`` (their first ``--seconds``
seconds, resized by ``--scale``, with their own audio). Model weights missing from ``--weights_dir`` are replaced by random ones of the same
architecture (same cost); with random S3FD weights no face track is found, so the sync stage then times face
detection only and rejects every clip, and the quality stage sees nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import tempfile
import time
from pathlib import Path

import cv2
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.demo_inputs import demo_clip, missing_inputs  # noqa: E402
from latentsync.data_processing.driver import build_stages, run_pipeline  # noqa: E402
from latentsync.data_processing.media import load_clip_audio, write_clip  # noqa: E402
from latentsync.io.video_reader import VideoReader  # noqa: E402
from latentsync.locations import CheckpointLayout  # noqa: E402
from latentsync.utils.quiet_logs import quiet_library_logs  # noqa: E402

DEMO_VIDEOS = (demo_clip("demo1_video.mp4"), demo_clip("demo2_video.mp4"))


def make_raw_folder(folder: Path, seconds: float, scale: float) -> None:
    for source in DEMO_VIDEOS:
        reader = VideoReader(source)
        size = (round(reader.width * scale / 2) * 2, round(reader.height * scale / 2) * 2)
        num_frames = round(seconds * 25)
        with contextlib.closing(reader.frames()) as decoded:
            frames = (cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                      for frame in itertools.islice(decoded, num_frames))
            write_clip(folder / source.name, frames, load_clip_audio(source), num_frames)


def weight_files(weights_dir: Path, scratch: Path) -> dict[str, Path]:
    """Real weights where present, else random ones of the same networks saved in ``scratch``."""
    from latentsync.analysis.syncnet_v2 import SyncNetV2
    from latentsync.models.hyperiqa import HyperNet
    from latentsync.models.s3fd import S3FDNet

    layout = CheckpointLayout(auxiliary_dir=weights_dir)
    files = {}
    for key, path, network in (("syncnet", layout.syncnet_v2, SyncNetV2), ("s3fd", layout.s3fd, S3FDNet),
                               ("hyperiqa", layout.hyperiqa, HyperNet)):
        if not path.is_file():
            path = scratch / path.name
            torch.save(network().state_dict(), path)
            print(f"{path.name}: not in {weights_dir}, timing random weights")
        files[key] = path
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each of the 2 raw clips")
    parser.add_argument("--scale", type=float, default=0.5, help="resize of the 1080x1920 demo videos")
    parser.add_argument("--weights_dir", type=Path, default=Path("checkpoints/auxiliary"))
    parser.add_argument("--landmark_detector", default="mediapipe")
    args = parser.parse_args()
    quiet_library_logs()
    error = missing_inputs(DEMO_VIDEOS)
    if error:
        print(error, file=sys.stderr)
        sys.exit(2)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"device for the model stages: {device}, torch threads: {torch.get_num_threads()}")

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        raw = scratch / "raw"
        raw.mkdir()
        make_raw_folder(raw, args.seconds, args.scale)
        weights = weight_files(args.weights_dir, scratch)
        stages = build_stages(landmark_detector=args.landmark_detector, syncnet_weights=weights["syncnet"],
                              s3fd_weights=weights["s3fd"], hyperiqa_weights=weights["hyperiqa"])
        started = time.perf_counter()
        result = run_pipeline(raw, stages, scratch / "out", progress=False)
        total = time.perf_counter() - started

    print(f"\n{'stage':<22}{'clips':>6}{'seconds':>10}{'clips/s':>10}{'video s/s':>11}")
    for name, records in result.stages:
        seconds = sum(record.seconds for record in records.values())
        video = sum(record.duration_s for record in records.values())
        rate = len(records) / seconds if seconds else float("nan")
        speed = video / seconds if seconds else float("nan")
        print(f"{name:<22}{len(records):>6}{seconds:>10.2f}{rate:>10.3f}{speed:>11.2f}")
    print(f"\nwhole run: {total:.1f} s (model loading included)\n\n{result.summary}")


if __name__ == "__main__":
    main()
