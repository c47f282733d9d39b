"""Lip-sync a video to a new audio track.

Example:
  latentsync-inference --video_path talk.mp4 --audio_path speech.wav --video_out_path synced.mp4
  ... --face_enhance --face_enhance_method gfpgan --face_enhance_strength 0.8 --encoding high_quality

The output has the video's resolution, 25 fps, the new audio, and lasts as long as the audio: a longer video
is cut, a shorter one is played forward and backward in turn (--sync_mode chooses another rule). Frames without a
face pass through unchanged.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from latentsync.errors import CheckpointError, InputError
from latentsync.face.enhancement import (DEFAULT_MOUTH_PROTECTION, DEFAULT_STRENGTH, FaceEnhancement,
                                         FaceEnhancer, enhancer_specs, load_face_enhancer)
from latentsync.face.enhancement.onnx_enhancer import DEFAULT_CODEFORMER_FIDELITY
from latentsync.face.landmarks import LANDMARK_DETECTORS
from latentsync.face.quick_check import require_a_face
from latentsync.face.speaker_selection import SPEAKER_HELP, SpeakerChoice
from latentsync.io.video_writer import ENCODINGS
from latentsync.pipelines.frame_plan import SYNC_MODES
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from latentsync.pipelines.loading import DEFAULT_CHECKPOINTS_DIR, DEFAULT_VAE, load_lipsync_pipeline
from latentsync.pipelines.silence import DEFAULT_SILENCE_DB, DEFAULT_SILENCE_MIN_SECONDS, SILENCE_MODES
from latentsync.utils.cli_ranges import number_in_range, positive_float, positive_int, unit_interval
from latentsync.utils.device import resolve_device
from latentsync.utils.interrupts import run_interruptible
from latentsync.utils.one_line_parser import ArgumentParser
from latentsync.utils.quiet_logs import quiet_library_logs
from latentsync.utils.time_format import written_video_summary
from latentsync.whisper.seam_windows import AUDIO_CONTEXTS

MAX_INFERENCE_STEPS = 1000  # DDIM takes at most the scheduler's num_train_timesteps (configs/scheduler_config.json)


def speaker_choice(text: str) -> SpeakerChoice:
    """argparse type: a ``--speaker`` value."""
    try:
        return SpeakerChoice.parse(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="latentsync-inference", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    io = parser.add_argument_group("input and output")
    io.add_argument("--video_path", required=True, help="talking-head video (any container/codec/fps)")
    io.add_argument("--audio_path", required=True, help="speech to lip-sync to (any audio file, or a video's track)")
    io.add_argument("--video_out_path", required=True, help="where to write the result (.mp4 or .mov)")
    add_pipeline_arguments(parser)
    return parser.parse_args(argv)


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """The model, generation and runtime options, shared with the batch command ``eval/inference_videos.py``."""
    models = parser.add_argument_group("models")
    models.add_argument("--unet_config_path", default="configs/unet/stage2_512.yaml",
                        help="U-Net config matching the checkpoint: stage2_512.yaml for 1.6, stage2.yaml for 1.5; "
                             "also gives the defaults of steps, guidance, seed, fps and the mask")
    models.add_argument("--checkpoints_dir", default=str(DEFAULT_CHECKPOINTS_DIR),
                        help="folder of the weights: latentsync_unet.pt, whisper/, auxiliary/ (landmark detectors)")
    models.add_argument("--inference_ckpt_path", default=None,
                        help="U-Net weights (default: CHECKPOINTS_DIR/latentsync_unet.pt)")
    models.add_argument("--whisper_model_path", default=None,
                        help="Whisper checkpoint (default: CHECKPOINTS_DIR/whisper/tiny.pt for 384-dim configs, "
                             "small.pt for 768)")
    models.add_argument("--vae_model_path", default=DEFAULT_VAE, help="VAE: Hugging Face id or local folder")
    generation = parser.add_argument_group("generation")
    generation.add_argument("--inference_steps", type=number_in_range(int, 1, MAX_INFERENCE_STEPS), default=None,
                            help=f"DDIM steps, 1 to {MAX_INFERENCE_STEPS}; 20-50 give good results, more are "
                                 "slower (default: the config's run.inference_steps, 20)")
    generation.add_argument("--guidance_scale", type=number_in_range(float, 1.0), default=None,
                            help="classifier-free audio guidance, at least 1.0; 1.0 = off (faster), higher = "
                                 "stronger lip movement, 1.5-2.5 usual (default: the config's run.guidance_scale, 1.5)")
    generation.add_argument("--seed", type=int, default=None,
                            help="seed of the noise; same seed, same video; -1 draws one and logs it "
                                 "(default: the config's run.seed, 1247)")
    generation.add_argument("--enable_deepcache", action="store_true",
                            help="reuse deep U-Net features every 3 steps: ~2x faster, slightly different output")
    generation.add_argument("--windows_per_call", type=positive_int, default=1,
                            help="16-frame windows per U-Net call, at least 1: more is faster on a GPU with memory to spare "
                                 "(same output to float noise; default 1)")
    generation.add_argument("--mask_image_path", default=None,
                            help="custom mouth mask image (white = keep, black = regenerate); default: built-in")
    generation.add_argument("--speaker", type=speaker_choice, default=SpeakerChoice(), help=SPEAKER_HELP)
    timing = parser.add_argument_group("timing, audio and silence")
    timing.add_argument("--sync_mode", default="bounce", choices=SYNC_MODES,
                        help="when video and audio lengths differ: bounce = the video plays forward and backward "
                             "until the audio ends (the original's); loop = restarts from its first frame; remap = "
                             "time-stretched to the audio; cut_off = the longer one is trimmed; silence = nothing is "
                             "trimmed (a shorter audio is padded with silence over the source frames, a shorter "
                             "video holds its last frame)")
    timing.add_argument("--audio_context", default="cut", choices=AUDIO_CONTEXTS,
                        help="Whisper's 30 s windows: cut = back to back (the original's; features jump every 30 s), "
                             "overlap = one more window across each 30 s boundary, no seam (a little slower)")
    timing.add_argument("--silence", default="generate", choices=SILENCE_MODES,
                        help="generate = lips are generated through pauses (the original's); keep = the source "
                             "frames pass through where the audio is silent, cross-faded over 3 frames")
    timing.add_argument("--silence_db", type=number_in_range(float, high=0.0), default=DEFAULT_SILENCE_DB,
                        help="silent below this RMS level over a frame, in dBFS, at most 0 (default -45)")
    timing.add_argument("--silence_min_seconds", type=positive_float, default=DEFAULT_SILENCE_MIN_SECONDS,
                        help="shortest pause kept, in seconds, more than 0 (default 0.4)")
    enhance = parser.add_argument_group("face enhancement (optional restoration of the generated face)")
    enhance.add_argument("--face_enhance", action="store_true",
                         help="restore the lip-synced face before pasting it back (the generated mouth is protected)")
    enhance.add_argument("--face_enhance_method", default="gfpgan", choices=list(enhancer_specs()),
                         help="gfpgan = GFPGAN v1.4, codeformer = CodeFormer, gpen = GPEN-BFR-512")
    enhance.add_argument("--face_enhance_strength", type=unit_interval, default=DEFAULT_STRENGTH,
                         help="0 to 1: 0 = unrestored face, 1 = fully restored outside the protected mouth")
    enhance.add_argument("--face_enhance_mouth_protection", type=unit_interval, default=DEFAULT_MOUTH_PROTECTION,
                         help="0 to 1: share of the generated mouth kept over the restored one (1 = mouth untouched)")
    enhance.add_argument("--codeformer_fidelity", type=unit_interval, default=DEFAULT_CODEFORMER_FIDELITY,
                         help="CodeFormer's fidelity weight, 0 to 1: 0 = strongest restoration, 1 = closest to the input")
    enhance.add_argument("--enhancers_dir", type=Path, default=None,
                         help="folder of the ONNX restoration models, fetched by scripts.download_checkpoints "
                              "(default: CHECKPOINTS_DIR/enhancers)")
    output = parser.add_argument_group("output")
    output.add_argument("--encoding", default="standard", choices=list(ENCODINGS),
                        help="x264 settings: standard = the original's (CRF 18, medium); high_quality = CRF 13, "
                             "slow (bigger file, finer detail); fast = CRF 16, veryfast (about standard's fidelity, "
                             "2-3x faster to encode, ~15%% bigger)")
    output.add_argument("--high_quality", dest="encoding", action="store_const", const="high_quality",
                        help="same as --encoding high_quality")
    runtime = parser.add_argument_group("runtime")
    runtime.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cuda, cuda:1, cpu, ...")
    runtime.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"],
                         help="auto = float16 on GPUs that support it, else float32")
    runtime.add_argument("--face_backend", default="auto", choices=["auto", *LANDMARK_DETECTORS],
                         help="landmark detector; auto = the release's (1.6: insightface, 1.5: face_alignment) "
                              "when installed with its weights, else the next best (logged)")
    runtime.add_argument("--audio_cache_dir", default=None,
                         help="cache Whisper features here, keyed by the audio file's content")
    runtime.add_argument("--temp_dir", default=None, help=argparse.SUPPRESS)  # the original's; nothing is staged


def load_pipeline_from_args(args: argparse.Namespace) -> LipsyncPipeline:
    return load_lipsync_pipeline(args.unet_config_path, args.inference_ckpt_path, args.whisper_model_path,
                                 args.vae_model_path, device=args.device, dtype=args.dtype,
                                 audio_cache_dir=args.audio_cache_dir, checkpoints_dir=args.checkpoints_dir,
                                 face_backend=args.face_backend, mask_image_path=args.mask_image_path)


def generation_kwargs(args: argparse.Namespace) -> dict:
    """The ``pipe(...)`` settings given on the command line (None: the config's), the encoding included."""
    return dict(num_inference_steps=args.inference_steps, guidance_scale=args.guidance_scale, seed=args.seed,
                enable_deepcache=args.enable_deepcache, windows_per_call=args.windows_per_call,
                encoding=args.encoding, speaker=args.speaker, sync_mode=args.sync_mode,
                audio_context=args.audio_context, silence=args.silence, silence_db=args.silence_db,
                silence_min_seconds=args.silence_min_seconds)


def load_enhancer(args: argparse.Namespace) -> FaceEnhancer:
    """The chosen restorer on the run's device (default folder: CHECKPOINTS_DIR/enhancers)."""
    enhancers_dir = args.enhancers_dir if args.enhancers_dir is not None else Path(args.checkpoints_dir) / "enhancers"
    return load_face_enhancer(args.face_enhance_method, enhancers_dir, resolve_device(args.device),
                              fidelity=args.codeformer_fidelity)


def face_enhancement(args: argparse.Namespace, enhancer: FaceEnhancer,
                     mask_image_path: str | None) -> FaceEnhancement:
    """The run's strength and mouth protection; ``mask_image_path`` is the pipeline's own mask (config or
    ``--mask_image_path``), so the protected mouth is exactly the generated region."""
    return FaceEnhancement(enhancer, strength=args.face_enhance_strength,
                           mouth_protection=args.face_enhance_mouth_protection, mask_image_path=mask_image_path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_library_logs()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        # Input problems are reported before minutes of model loading; the pipeline trusts these paths.
        video, audio, output = LipsyncPipeline.check_inputs(args.video_path, args.audio_path, args.video_out_path)
        enhancer = load_enhancer(args) if args.face_enhance else None  # a missing model fails fast
        # A few sampled frames (seconds) rather than a faceless video discovered after the models are loaded;
        # auto checks with the offline mediapipe mesh, the pipeline then picks the release's backend.
        backend = "mediapipe" if args.face_backend == "auto" else args.face_backend
        require_a_face(video, backend, resolve_device(args.device), weights_dir=Path(args.checkpoints_dir) / "auxiliary")
        pipeline = load_pipeline_from_args(args)
        enhancement = None if enhancer is None else face_enhancement(args, enhancer, pipeline.config.mask_image_path)
        report = pipeline(video_path=video, audio_path=audio, video_out_path=output, **generation_kwargs(args),
                          frame_postprocessor=enhancement, inputs_checked=True)
    except (InputError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(written_video_summary(report.output_path, report.num_output_frames, pipeline.config.video_fps,
                                report.seconds) + f" (seed {report.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(run_interruptible(main))
