"""Peak resident memory of a ``LipsyncPipeline`` run at 10 s, 40 s and 160 s of output, and per-stage frames/s.

``pipe(video, audio, out)`` streams (two decode passes, 16 frames generated, pasted back and encoded at a time), so its
peak memory must not grow with the length of the output. This checks it on the demo clip with tiny random
models on the CPU (1 inference step, guidance 1.0: the models' own memory is not the point here):

* ``ping-pong``: the 10 s video with speech looped to each length, so the video plays forward, backward, ...
  (the backward decode is the path that buffers frames);
* ``long-video``: the video itself concatenated (forward copies) to each length, so pass 1 sees every frame.

Each run is a fresh subprocess so ``ru_maxrss`` is that run's own peak; the table also gives the RSS after
loading the models and after the first and the last 16-frame window, to show where memory grows. Then each
stage is timed on the 10 s clip by calling the stages a run uses (``latentsync.face.tracking.locate_faces``, the
pipeline's ``align_faces``, ``audio_embeds``, ``generate_window``, ``paste_back``): decode, detect+align, generate,
paste-back+encode. The CPU may be shared, so timings are noisy.

    python benchmarks/bench_lipsync_memory.py [--scale 0.5] [--lengths 10 40 160]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.demo_inputs import demo_clip, missing_inputs  # noqa: E402
from latentsync.face.tracking import locate_faces  # noqa: E402
from latentsync.io.audio_reader import load_audio  # noqa: E402
from latentsync.io.video_reader import VideoReader  # noqa: E402
from latentsync.io.video_writer import VideoWriter  # noqa: E402
from latentsync.pipelines.frame_plan import inference_windows  # noqa: E402
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline  # noqa: E402
from latentsync.pipelines.loading import load_lipsync_pipeline  # noqa: E402
from latentsync.utils.quiet_logs import quiet_library_logs  # noqa: E402
from tests.helpers.tiny_models import write_random_whisper, write_tiny_release  # noqa: E402

DEFAULT_VIDEO = demo_clip("demo1_video.mp4")
DEFAULT_AUDIO = demo_clip("demo2_audio.wav")
GENERATION = dict(num_inference_steps=1, guidance_scale=1.0)  # the models' own cost is not the point here
FACE_BACKEND = "mediapipe"
MEDIA_FPS, MEDIA_SAMPLE_RATE = 25, 16000  # of the clips this benchmark writes (the pipeline's defaults)
VARIANTS = ("ping-pong", "long-video")
FLAT_TOLERANCE = 0.15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="source clip (default: demo1_video.mp4)")
    parser.add_argument("--audio", type=Path, default=DEFAULT_AUDIO, help="speech to loop (default: demo2_audio.wav)")
    parser.add_argument("--scale", type=float, default=0.5, help="downscale factor of the video (0.5: 540x960)")
    parser.add_argument("--lengths", type=float, nargs="+", default=[10.0, 40.0, 160.0], help="output seconds")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--models", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_library_logs()
    if args.child:
        models = {key: Path(value) for key, value in json.loads(args.models).items()}
        run_child(args.video, args.audio, args.output, models)
        return
    error = missing_inputs((args.video, args.audio), "--video/--audio")
    if error:
        print(error, file=sys.stderr)
        sys.exit(2)

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        models = write_tiny_release(work / "models", whisper_model_path=write_random_whisper(work / "whisper.pt"))
        clip = work / "clip.mp4"
        write_scaled_clip(args.video, clip, args.scale)
        reader = VideoReader(clip)
        speech = load_audio(args.audio, MEDIA_SAMPLE_RATE)
        print(f"input: {args.video.name} scaled by {args.scale} to {reader.width}x{reader.height}, "
              f"{reader.count_frames()} frames; speech {args.audio.name} looped; tiny models, CPU, "
              f"{GENERATION['num_inference_steps']} step, guidance {GENERATION['guidance_scale']}, torch threads "
              f"{torch.get_num_threads()}", flush=True)

        rows = []
        for variant in args.variants:
            for seconds in args.lengths:
                audio = work / f"speech_{seconds:g}s.wav"
                write_looped_wav(speech, audio, seconds)
                video = clip if variant == "ping-pong" else work / f"video_{seconds:g}s.mp4"
                if variant == "long-video":
                    write_looped_video(clip, video, round(seconds * MEDIA_FPS))
                result = run_in_subprocess(video, audio, work / f"out_{variant}_{seconds:g}s.mp4", models)
                rows.append((variant, seconds, result))
                print(f"  done {variant} {seconds:g} s: {format_row(variant, seconds, result)}", flush=True)
                audio.unlink()
                if video != clip:
                    video.unlink()

        print()
        print(f"{'variant':11s} {'length':>7s} {'frames':>7s} {'peak RSS':>10s} {'models':>9s} "
              f"{'1st window':>11s} {'last window':>12s} {'wall':>8s}")
        print(f"{'':11s} {'s':>7s} {'':>7s} {'MiB':>10s} {'MiB':>9s} {'RSS MiB':>11s} {'RSS MiB':>12s} {'s':>8s}")
        for variant, seconds, result in rows:
            print(format_row(variant, seconds, result))
        print()
        for variant in args.variants:
            peaks = {seconds: result["peak_rss_kib"] for name, seconds, result in rows if name == variant}
            shortest, longest = min(peaks), max(peaks)
            growth = peaks[longest] / peaks[shortest] - 1
            verdict = "FLAT" if abs(growth) <= FLAT_TOLERANCE else "NOT FLAT"
            print(f"verdict {variant}: peak RSS at {longest:g} s is {growth:+.1%} vs {shortest:g} s "
                  f"-> {verdict} (tolerance {FLAT_TOLERANCE:.0%})")

        print()
        print(f"per-stage throughput on {clip.name} ({reader.count_frames()} frames, "
              f"{reader.width}x{reader.height}; noisy on a shared CPU):")
        for stage, frames_per_second in measure_stages(clip, speech, models).items():
            print(f"  {stage:20s} {frames_per_second:8.1f} frames/s")


def format_row(variant: str, seconds: float, result: dict) -> str:
    def mib(kib: int) -> str:
        return f"{kib / 1024:.0f}"

    return (f"{variant:11s} {seconds:7g} {result['frames']:7d} {mib(result['peak_rss_kib']):>10s} "
            f"{mib(result['models_rss_kib']):>9s} {mib(result['first_window_rss_kib']):>11s} "
            f"{mib(result['last_window_rss_kib']):>12s} {result['seconds']:8.1f}")


def write_scaled_clip(source: Path, target: Path, scale: float) -> None:
    """Re-encode ``source`` at ``scale`` (even sizes), near-lossless, as the benchmark's short clip."""
    reader = VideoReader(source)
    size = (round(reader.width * scale / 2) * 2, round(reader.height * scale / 2) * 2)
    with VideoWriter(target, crf=10, preset="ultrafast") as writer:
        for frame in reader.frames():
            writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))


def write_looped_video(clip: Path, target: Path, num_frames: int) -> None:
    """Forward copies of ``clip`` back to back, cut to ``num_frames`` (decoded a copy at a time, not held)."""
    reader = VideoReader(clip)
    with VideoWriter(target, crf=10, preset="ultrafast") as writer:
        while writer.frames_written < num_frames:
            for frame in reader.frames():
                if writer.frames_written == num_frames:
                    break
                writer.write(frame)


def write_looped_wav(speech: np.ndarray, target: Path, seconds: float) -> None:
    """``speech`` repeated and cut to ``seconds``, as 16 kHz mono PCM16 (the samples round-trip exactly)."""
    num_samples = round(seconds * MEDIA_SAMPLE_RATE)
    looped = np.tile(speech, -(-num_samples // len(speech)))[:num_samples]
    with wave.open(str(target), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(MEDIA_SAMPLE_RATE)
        file.writeframes((looped * 32768).astype("<i2").tobytes())


def run_in_subprocess(video: Path, audio: Path, output: Path, models: dict[str, Path]) -> dict:
    """One lip-sync run in a fresh interpreter; returns the JSON line it prints."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--video", str(video), "--audio", str(audio),
               "--output", str(output), "--models", json.dumps({key: str(value) for key, value in models.items()})]
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True,
                               env={**os.environ, "TQDM_DISABLE": "1"})
    return json.loads(completed.stdout.strip().splitlines()[-1])


def current_rss_kib() -> int:
    """Resident set size now, from ``/proc/self/statm`` (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def run_child(video: Path, audio: Path, output: Path, models: dict[str, Path]) -> None:
    """Lip-sync once and print peak RSS (``ru_maxrss``, KiB on Linux), RSS around pass 2, frames and seconds."""
    pipeline = load_lipsync_pipeline(**models, device="cpu", dtype="float32", face_backend=FACE_BACKEND)
    models_rss = current_rss_kib()
    window_rss: list[int] = []

    def progress(stage: str, _fraction: float) -> None:
        if stage == "generating":
            window_rss.append(current_rss_kib())

    report = pipeline(video, audio, output, **GENERATION, progress=progress)
    print(json.dumps({"peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "models_rss_kib": models_rss, "first_window_rss_kib": window_rss[0],
                      "last_window_rss_kib": window_rss[-1], "frames": VideoReader(output).count_frames(),
                      "seconds": report.seconds}))


class TimedIterator:
    """Wraps an iterator and adds up the time spent producing its items (to take feeding work out of a stage)."""

    def __init__(self, items: Iterator[np.ndarray]) -> None:
        self.items = items
        self.seconds = 0.0

    def __iter__(self) -> TimedIterator:
        return self

    def __next__(self) -> np.ndarray:
        started = time.perf_counter()
        try:
            return next(self.items)
        finally:
            self.seconds += time.perf_counter() - started


def batches(frames: Iterator[np.ndarray], size: int) -> Iterator[torch.Tensor]:
    """Stack frames into (size, H, W, 3) uint8 tensors, as the pipeline feeds its windows."""
    batch: list[np.ndarray] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield torch.from_numpy(np.stack(batch))
            batch = []
    if batch:
        yield torch.from_numpy(np.stack(batch))


def measure_stages(clip: Path, speech: np.ndarray, models: dict[str, Path]) -> dict[str, float]:
    """Frames/s of each stage of ``LipsyncPipeline`` on ``clip``, timing only that stage's calls.

    The stages are the pipeline's own, chained as in its ``__call__`` (one window of ``config.num_frames``
    at a time); the decoding that feeds a stage is excluded from its time. Expects a face in every frame.
    """
    pipeline: LipsyncPipeline = load_lipsync_pipeline(**models, device="cpu", dtype="float32",
                                                      face_backend=FACE_BACKEND)
    config = pipeline.config
    reader = VideoReader(clip, fps=config.video_fps)
    num_frames = reader.count_frames()
    seconds: dict[str, float] = {}

    def clock(stage: str, work: Callable[[], object]) -> object:
        started = time.perf_counter()
        result = work()
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - started
        return result

    clock("decode", lambda: sum(1 for _ in reader.frames()))

    detector = pipeline.landmark_detector  # created before the clock starts, as a loaded pipeline has it
    decoding = TimedIterator(reader.frames())
    track = clock("detect+align", lambda: locate_faces(decoding, num_frames, detector, pipeline.aligner))
    seconds["detect+align"] -= decoding.seconds
    if not track.has_face.all():
        raise RuntimeError(f"{clip} has a frame without a face; the stage timing needs one in every frame")
    windows = inference_windows(num_frames, config.num_frames)
    faces = []
    for window, batch in zip(windows, batches(reader.frames(), config.num_frames)):
        matrices = track.affine_matrices[window.start:window.stop]
        faces.append(clock("detect+align", lambda: pipeline.align_faces(batch, matrices)))

    waveform = speech[:round(num_frames / config.video_fps * config.audio_sample_rate)]
    features = pipeline.audio_features(waveform)
    generator = torch.Generator().manual_seed(config.seed)
    noise = pipeline.prepare_initial_noise(config.resolution, config.resolution, generator)
    pipeline.set_progress_bar_config(disable=True)
    generated = []
    for window, window_faces in zip(windows, faces):
        audio_embeds = pipeline.audio_embeds(features, window.start, len(window))
        generated.append(clock("generate", lambda: pipeline.generate_window(
            window_faces, audio_embeds, noise, generator, GENERATION["num_inference_steps"],
            GENERATION["guidance_scale"])))

    decoding = TimedIterator(reader.frames())  # paste-back+encode excludes this decode, includes the encoder flush
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        with VideoWriter(Path(folder) / "pasted.mp4", audio=waveform, sample_rate=config.audio_sample_rate,
                         fps=config.video_fps) as writer:
            for window, batch, window_faces in zip(windows, batches(decoding, config.num_frames), generated):
                matrices = track.affine_matrices[window.start:window.stop]
                for frame in pipeline.paste_back(batch, window_faces, matrices).numpy():
                    writer.write(frame)
        seconds["paste-back+encode"] = time.perf_counter() - started - decoding.seconds
    pipeline.close()
    return {stage: num_frames / spent for stage, spent in seconds.items()}


if __name__ == "__main__":
    main()
