"""Lip-sync speed: end-to-end frames/s and a per-stage breakdown, with peak host and device memory.

Two runs of ``LipsyncPipeline.__call__`` on the same clip:

* end to end, as users run it (``pipelined=True``: background decode and encode), wall-clock frames/s;
* instrumented, sequential (``pipelined=False``), each stage timed where the pipeline calls it (the device is
  synchronised around every timed call, so the stages add up): decode, landmarks, align, audio features,
  VAE encode, U-Net (the whole denoising loop), VAE decode, paste-back, encode.

Models: ``--release 1.5`` (256 px) or ``1.6`` (512 px) use the real U-Net configs, with the released weights
when ``--checkpoints_dir`` holds them and random weights of the same shapes otherwise (speed does not depend on
the values); ``--tiny`` uses tiny random models so the whole path runs on a CPU in seconds. Before the timed
runs, one window is generated to warm up (with ``--compile``, a whole call: compiling, CUDA graphs recorded).

    python benchmarks/bench_inference.py --release 1.5 --dtype float16             # a GPU, the 1.5 setting
    python benchmarks/bench_inference.py --release 1.6 --deepcache                 # 1.6 with DeepCache
    python benchmarks/bench_inference.py --tiny --device cpu --frames 32 --scale 0.5   # CPU smoke run

Each phase (building, warm-up, the two timed runs) is announced on stderr with the time so far; on a CPU, the
full-size models' cost is said before anything starts.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import resource
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.demo_inputs import demo_clip, missing_inputs  # noqa: E402
from latentsync.io.audio_reader import load_audio  # noqa: E402
from latentsync.io.encodings import ENCODINGS  # noqa: E402
from latentsync.io.video_reader import VideoReader  # noqa: E402
from latentsync.io.video_writer import VideoWriter  # noqa: E402
from latentsync.locations import DEFAULT_CHECKPOINTS_DIR, CheckpointLayout  # noqa: E402
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline  # noqa: E402
from latentsync.pipelines.loading import load_lipsync_pipeline, load_scheduler  # noqa: E402
from latentsync.utils.cli_ranges import positive_float, positive_int  # noqa: E402
from latentsync.utils.device import resolve_device, resolve_dtype  # noqa: E402
from latentsync.utils.one_line_parser import ArgumentParser  # noqa: E402
from latentsync.utils.quiet_logs import quiet_library_logs  # noqa: E402

RELEASE_CONFIGS = {"1.5": REPO_ROOT / "configs" / "unet" / "stage2.yaml",
                   "1.6": REPO_ROOT / "configs" / "unet" / "stage2_512.yaml"}
# What one run of the full-size models costs on a CPU: --frames 16 --steps 1 --scale 0.25 (one window per phase).
CPU_COST = {"1.6": "at 512 px, 15 min and a 16 GB peak for --frames 16 --steps 1 --scale 0.25 (reported, CPU "
                   "unknown)",
            "1.5": "at 256 px, 18 min and a 10 GB peak for --frames 16 --steps 1 --scale 0.25 (measured on a "
                   "2-core CPU: about 100 s each for VAE encode, U-Net and VAE decode per 16-frame window)"}
DEFAULT_VIDEO = demo_clip("demo1_video.mp4")
DEFAULT_AUDIO = demo_clip("demo1_audio.wav")
STAGES = ("decode", "landmarks", "align", "audio features", "VAE encode", "U-Net", "VAE decode", "paste-back",
          "encode")
# Whisper sizes by the U-Net's audio width (openai-whisper ModelDimensions of tiny and small).
WHISPER_DIMS = {384: dict(n_audio_state=384, n_audio_head=6, n_audio_layer=4),
                768: dict(n_audio_state=768, n_audio_head=12, n_audio_layer=12)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python benchmarks/bench_inference.py", description=__doc__.splitlines()[0])
    models = parser.add_mutually_exclusive_group()
    models.add_argument("--release", choices=sorted(RELEASE_CONFIGS), default="1.5",
                        help="real model sizes: 1.5 (256 px) or 1.6 (512 px)")
    models.add_argument("--tiny", action="store_true", help="tiny random models (CPU smoke run)")
    parser.add_argument("--checkpoints_dir", type=Path, default=DEFAULT_CHECKPOINTS_DIR,
                        help="the release's U-Net (latentsync_unet.pt for 1.6, latentsync-1.5/latentsync_unet.pt "
                             "for 1.5) and whisper/; random weights of the same shapes when the U-Net is absent")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--audio", type=Path, default=DEFAULT_AUDIO)
    parser.add_argument("--frames", type=positive_int, default=100,
                        help="output frames (the audio is cut to them), at least 1")
    parser.add_argument("--scale", type=positive_float, default=1.0,
                        help="resize the video first (0.5: 540x960), more than 0")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    parser.add_argument("--steps", type=positive_int, default=20, help="denoising steps, at least 1")
    parser.add_argument("--no_guidance", action="store_true", help="guidance 1.0 (one U-Net branch)")
    parser.add_argument("--deepcache", action="store_true", help="DeepCache, full U-Net every 3rd step")
    parser.add_argument("--compile", nargs="?", const="default", default=None,
                        choices=["default", "reduce-overhead", "max-autotune"],
                        help="torch.compile the U-Net and the VAE in this mode (reduce-overhead: CUDA graphs)")
    parser.add_argument("--windows_per_call", type=positive_int, default=1,
                        help="16-frame windows per U-Net call, at least 1")
    parser.add_argument("--encoding", choices=list(ENCODINGS), default="standard", help="x264 settings")
    parser.add_argument("--face_backend", default="auto")
    return parser.parse_args(argv)


class Progress:
    """Phase lines on stderr with the time since start: a full-size run on a CPU is silent for minutes otherwise."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.0f} s] {message}", file=sys.stderr, flush=True)


def cpu_cost_note(args: argparse.Namespace) -> str:
    """What full-size models cost on a CPU, said before the run starts."""
    windows = -(-args.frames // 16)
    cost = CPU_COST[args.release]
    return (f"note: LatentSync {args.release} on the CPU runs full-size models: {cost}. This run does the work of "
            f"{2 * windows + 1} windows (a warm-up window, then two timed runs of {windows}) at {args.steps} step(s) "
            "each; --tiny times the pipeline with tiny models in seconds.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_library_logs()
    error = missing_inputs((args.video, args.audio), "--video/--audio")
    if error:
        print(error, file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    progress = Progress()
    if device.type == "cpu" and not args.tiny:
        print(cpu_cost_note(args), file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        progress("building the models" if args.tiny else f"building LatentSync {args.release}'s models")
        pipe, weights = build_pipeline(args, device, dtype, work)
        if args.compile:  # in place, so the pipeline's own calls use the compiled forwards
            for module in (pipe.unet, pipe.vae.encoder, pipe.vae.decoder):
                module.compile(mode=args.compile)
        video, audio = prepare_clip(args.video, args.audio, args.frames, args.scale, pipe.config.audio_sample_rate,
                                    work)
        reader = VideoReader(video)
        call = functools.partial(pipe, video, audio, num_inference_steps=args.steps,
                                 guidance_scale=1.0 if args.no_guidance else pipe.config.guidance_scale,
                                 enable_deepcache=args.deepcache, windows_per_call=args.windows_per_call,
                                 encoding=args.encoding)
        progress(f"warming up: one call of {args.windows_per_call} window(s) on random faces")
        warm_up(pipe, args, device)
        if args.compile:  # the first whole call still recompiled (measured on CPU: 1.6 against 8.7 frames/s)
            progress("warming up: a whole call, compiled")
            call(video_out_path=work / "compile-warm-up.mp4")
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        progress("timed run 1 of 2: end to end (background decode and encode)")
        synchronize(device)
        started = time.perf_counter()
        report = call(video_out_path=work / "pipelined.mp4")
        synchronize(device)
        end_to_end = report.num_output_frames / (time.perf_counter() - started)
        progress("timed run 2 of 2: sequential, every stage timed")
        with instrumented(pipe, device) as seconds:
            started = time.perf_counter()
            call(video_out_path=work / "sequential.mp4", pipelined=False)
            sequential = report.num_output_frames / (time.perf_counter() - started)
        pipe.close()
        progress("done")

    guidance = "off" if args.no_guidance else f"{pipe.config.guidance_scale:g}"
    print(f"\nmodels: {'tiny random' if args.tiny else f'LatentSync {args.release} ({weights})'}, "
          f"{pipe.config.resolution} px, {device} {str(dtype).removeprefix('torch.')}, {args.steps} steps, "
          f"guidance {guidance}, DeepCache {'on' if args.deepcache else 'off'}, "
          f"torch.compile {args.compile or 'off'}, {args.windows_per_call} window(s) per U-Net call, "
          f"{args.encoding} encoding")
    print(f"clip: {args.video.name} at {reader.width}x{reader.height}, {report.num_output_frames} output frames\n")
    print_table(seconds, report.num_output_frames, end_to_end, sequential, device)
    return 0


def build_pipeline(args: argparse.Namespace, device: torch.device, dtype: torch.dtype,
                   work: Path) -> tuple[LipsyncPipeline, str]:
    """The pipeline to time, and where its weights came from."""
    if args.tiny:
        from tests.helpers.tiny_models import write_random_whisper, write_tiny_release
        release = write_tiny_release(work / "tiny", whisper_model_path=write_random_whisper(work / "whisper.pt"))
        return load_lipsync_pipeline(**release, device=device, dtype=dtype,
                                     face_backend="mediapipe" if args.face_backend == "auto" else args.face_backend,
                                     checkpoints_dir=args.checkpoints_dir), "random"
    config_path = RELEASE_CONFIGS[args.release]
    released = CheckpointLayout(args.checkpoints_dir).unet(args.release)
    if released.is_file():
        return load_lipsync_pipeline(config_path, released, device=device, dtype=dtype,
                                     checkpoints_dir=args.checkpoints_dir, face_backend=args.face_backend), \
            f"weights {released}"
    return random_pipeline(config_path, device, dtype, args.checkpoints_dir, args.face_backend, work), "random weights"


def random_pipeline(config_path: Path, device: torch.device, dtype: torch.dtype, checkpoints_dir: Path,
                    face_backend: str, work: Path) -> LipsyncPipeline:
    """Full-size models with random weights: the release's U-Net config, sd-vae-ft-mse's VAE shape, Whisper."""
    import whisper
    from diffusers import AutoencoderKL
    from omegaconf import OmegaConf

    from latentsync.models.unet_loading import unet_from_config
    from latentsync.whisper.audio2feature import Audio2Feature

    config = OmegaConf.load(config_path)
    unet = unet_from_config(config).to(device=device, dtype=dtype).eval()
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=2)
    vae.config.scaling_factor = 0.18215
    vae = vae.to(device=device, dtype=dtype).eval()
    dims = whisper.model.ModelDimensions(n_mels=80, n_audio_ctx=1500, n_vocab=51865, n_text_ctx=448,
                                         n_text_state=384, n_text_head=6, n_text_layer=4,
                                         **WHISPER_DIMS[config.model.cross_attention_dim])
    whisper_path = work / "whisper_random.pt"
    torch.save({"dims": vars(dims), "model_state_dict": whisper.model.Whisper(dims).state_dict()}, whisper_path)
    audio_encoder = Audio2Feature(whisper_path, device=device, dtype=dtype, num_frames=config.data.num_frames,
                                  audio_feat_length=list(config.data.audio_feat_length))
    scheduler = load_scheduler()
    return LipsyncPipeline.from_unet_config(config, vae=vae, audio_encoder=audio_encoder, unet=unet,
                                            scheduler=scheduler, checkpoints_dir=checkpoints_dir,
                                            face_backend=face_backend)


def prepare_clip(video: Path, audio: Path, num_frames: int, scale: float, sample_rate: int,
                 work: Path) -> tuple[Path, Path]:
    """The audio cut to ``num_frames`` output frames (25 fps), the video scaled by ``scale`` (or as it is)."""
    waveform = load_audio(audio, sample_rate)[:round(num_frames / 25 * sample_rate)]
    cut_audio = work / "audio.wav"
    with wave.open(str(cut_audio), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes((np.clip(waveform, -1, 1) * 32767).astype("<i2").tobytes())
    if scale == 1.0:
        return video, cut_audio
    import cv2
    reader = VideoReader(video)
    size = (round(reader.width * scale / 2) * 2, round(reader.height * scale / 2) * 2)
    scaled = work / "video.mp4"
    with VideoWriter(scaled, crf=10, preset="ultrafast") as writer:
        for index, frame in enumerate(reader.frames()):
            if index == num_frames:
                break
            writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    return scaled, cut_audio


def warm_up(pipe: LipsyncPipeline, args: argparse.Namespace, device: torch.device) -> None:
    """One call of generation on random faces (CUDA kernels chosen, compiled graphs built); the detector loaded."""
    pipe.landmark_detector  # noqa: B018 - created on first use
    resolution, length = pipe.config.resolution, pipe.config.num_frames * args.windows_per_call
    generator = torch.Generator(device=device).manual_seed(0)
    faces = torch.randint(0, 256, (length, 3, resolution, resolution), dtype=torch.uint8)
    seconds = length / pipe.config.video_fps + 1  # a second more: the last frames' audio windows reach past them
    features = pipe.audio_features(np.zeros(round(seconds * pipe.config.audio_sample_rate), dtype=np.float32))
    noise = pipe.prepare_initial_noise(resolution, resolution, generator)
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        window = pipe.config.num_frames
        audio_embeds = torch.cat([pipe.audio_embeds(features, start, window) for start in range(0, length, window)])
        pipe.generate_window(faces, audio_embeds, noise, generator, args.steps,
                             1.0 if args.no_guidance else pipe.config.guidance_scale,
                             3 if args.deepcache else None, args.windows_per_call)
    synchronize(device)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def instrumented(pipe: LipsyncPipeline, device: torch.device) -> Iterator[dict[str, float]]:
    """Time every stage where the pipeline calls it; yields {stage: seconds}, filled as the run goes."""
    seconds = dict.fromkeys(STAGES, 0.0)

    def timed(stage: str, function: Callable) -> Callable:
        @functools.wraps(function)
        def call(*args, **kwargs):
            synchronize(device)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                synchronize(device)
                seconds[stage] += time.perf_counter() - started
        return call

    def timed_iterator(stage: str, function: Callable) -> Callable:
        @functools.wraps(function)
        def call(*args, **kwargs):
            items = function(*args, **kwargs)
            while True:
                started = time.perf_counter()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    seconds[stage] += time.perf_counter() - started
                yield item
        return call

    detector = pipe.landmark_detector
    patches = [(pipe, "align_faces", timed("align", pipe.align_faces)),
               (pipe.aligner, "estimate_affine", timed("align", pipe.aligner.estimate_affine)),
               (detector, "detect", timed("landmarks", detector.detect)),
               (pipe, "audio_features", timed("audio features", pipe.audio_features)),
               (pipe, "encode_images", timed("VAE encode", pipe.encode_images)),
               (pipe, "denoise", timed("U-Net", pipe.denoise)),
               (pipe, "decode_latents", timed("VAE decode", pipe.decode_latents)),
               (pipe, "paste_back", timed("paste-back", pipe.paste_back)),
               (VideoReader, "frames", timed_iterator("decode", VideoReader.frames)),
               (VideoReader, "iter_frames", timed_iterator("decode", VideoReader.iter_frames)),
               (VideoWriter, "write", timed("encode", VideoWriter.write)),
               (VideoWriter, "close", timed("encode", VideoWriter.close))]
    originals = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield seconds
    finally:
        for owner, name, original in originals:
            if original is None:  # an instance attribute shadowing the method: remove it
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def print_table(seconds: dict[str, float], num_frames: int, end_to_end: float, sequential: float,
                device: torch.device) -> None:
    total = sum(seconds.values())
    print(f"{'stage':16s} {'seconds':>9s} {'frames/s':>10s} {'share':>7s}")
    for stage in STAGES:
        spent = seconds[stage]
        rate = f"{num_frames / spent:10.1f}" if spent > 0 else f"{'-':>10s}"
        print(f"{stage:16s} {spent:9.2f} {rate} {spent / total:7.1%}")
    print(f"{'sum of stages':16s} {total:9.2f} {num_frames / total:10.1f}")
    print(f"{'end to end':16s} {'':9s} {end_to_end:10.1f}   pipelined (background decode + encode)")
    print(f"{'end to end':16s} {'':9s} {sequential:10.1f}   sequential, instrumented")
    peak_host = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak host memory {peak_host:.0f} MiB", end="")
    if device.type == "cuda":
        print(f", peak device memory {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB", end="")
    print()


if __name__ == "__main__":
    sys.exit(main())
