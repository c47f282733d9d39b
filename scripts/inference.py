"""Lip-sync a video to a new audio track.

Example:
  python -m scripts.inference --video_path talk.mp4 --audio_path speech.wav --video_out_path synced.mp4
  ... --face_enhance --face_enhance_method gfpgan --face_enhance_strength 0.8 --high_quality

The output has the video's resolution, 25 fps, the new audio, and lasts as long as the audio: a longer video
is cut, a shorter one is played forward and backward in turn. Frames without a face pass through unchanged.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from latentsync.errors import CheckpointError, InputError
from latentsync.face.enhancement import (DEFAULT_MOUTH_PROTECTION, DEFAULT_STRENGTH, FaceEnhancement,
                                         enhancer_specs, load_face_enhancer)
from latentsync.face.enhancement.onnx_enhancer import DEFAULT_CODEFORMER_FIDELITY
from latentsync.face.landmarks import LANDMARK_DETECTORS
from latentsync.pipelines.loading import DEFAULT_VAE, load_lipsync_pipeline
from latentsync.pipelines.lipsync_video import LipsyncOptions, lipsync_video
from latentsync.utils.device import resolve_device


def unit_interval(text: str) -> float:
    """argparse type: a number from 0 to 1."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.inference", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    io = parser.add_argument_group("input and output")
    io.add_argument("--video_path", required=True, help="talking-head video (any container/codec/fps)")
    io.add_argument("--audio_path", required=True, help="speech to lip-sync to (any audio file, or a video's track)")
    io.add_argument("--video_out_path", required=True, help="where to write the result (.mp4 or .mov)")
    models = parser.add_argument_group("models")
    models.add_argument("--unet_config_path", default="configs/unet/stage2_512.yaml",
                        help="U-Net config matching the checkpoint: stage2_512.yaml for 1.6, stage2.yaml for 1.5")
    models.add_argument("--inference_ckpt_path", default="checkpoints/latentsync_unet.pt", help="U-Net weights")
    models.add_argument("--whisper_model_path", default=None,
                        help="Whisper checkpoint (default: checkpoints/whisper/tiny.pt for 384-dim configs, "
                             "small.pt for 768)")
    models.add_argument("--vae_model_path", default=DEFAULT_VAE, help="VAE: Hugging Face id or local folder")
    generation = parser.add_argument_group("generation")
    generation.add_argument("--inference_steps", type=int, default=20, help="DDIM steps (20-50)")
    generation.add_argument("--guidance_scale", type=float, default=1.0,
                            help="classifier-free audio guidance; 1.0 = off, 1.5 = inference.sh (better sync, slower)")
    generation.add_argument("--seed", type=int, default=1247, help="seed of the noise; same seed, same video")
    generation.add_argument("--enable_deepcache", action="store_true",
                            help="reuse deep U-Net features every 3 steps: ~2x faster, slightly different output")
    generation.add_argument("--mask_image_path", default=None,
                            help="custom mouth mask image (white = keep, black = regenerate); default: built-in")
    enhance = parser.add_argument_group("face enhancement (optional restoration of the generated face)")
    enhance.add_argument("--face_enhance", action="store_true",
                         help="restore the lip-synced face before pasting it back (the generated mouth is protected)")
    enhance.add_argument("--face_enhance_method", default="gfpgan", choices=list(enhancer_specs()),
                         help="gfpgan = GFPGAN v1.4, codeformer = CodeFormer, gpen = GPEN-BFR-512")
    enhance.add_argument("--face_enhance_strength", type=unit_interval, default=DEFAULT_STRENGTH,
                         help="0 = unrestored face, 1 = fully restored outside the protected mouth")
    enhance.add_argument("--face_enhance_mouth_protection", type=unit_interval, default=DEFAULT_MOUTH_PROTECTION,
                         help="share of the generated mouth kept over the restored one (1 = mouth untouched)")
    enhance.add_argument("--codeformer_fidelity", type=unit_interval, default=DEFAULT_CODEFORMER_FIDELITY,
                         help="CodeFormer's fidelity weight: 0 = strongest restoration, 1 = closest to the input")
    enhance.add_argument("--enhancers_dir", type=Path, default=Path("checkpoints/enhancers"),
                         help="folder of the ONNX restoration models (fetched by scripts.download_checkpoints)")
    output = parser.add_argument_group("output")
    output.add_argument("--high_quality", action="store_true",
                        help="encode with a lower CRF and a slower preset (bigger file, finer detail)")
    runtime = parser.add_argument_group("runtime")
    runtime.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cuda, cuda:1, cpu, ...")
    runtime.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"],
                         help="auto = float16 on GPUs that support it, else float32")
    runtime.add_argument("--face_backend", default="auto", choices=["auto", *LANDMARK_DETECTORS],
                         help="landmark detector; auto = face_alignment on CUDA when installed, else mediapipe")
    runtime.add_argument("--audio_cache_dir", default=None,
                         help="cache Whisper features here, keyed by the audio file's content")
    runtime.add_argument("--temp_dir", default=None,
                         help="accepted for compatibility with the original; unused (nothing is staged on disk)")
    return parser.parse_args(argv)


def load_face_enhancement(args: argparse.Namespace) -> FaceEnhancement:
    """The chosen restorer on the run's device, with the run's strength, mouth protection and mouth mask."""
    enhancer = load_face_enhancer(args.face_enhance_method, args.enhancers_dir, resolve_device(args.device),
                                  fidelity=args.codeformer_fidelity)
    return FaceEnhancement(enhancer, strength=args.face_enhance_strength,
                           mouth_protection=args.face_enhance_mouth_protection, mask_image_path=args.mask_image_path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    options = LipsyncOptions(num_inference_steps=args.inference_steps, guidance_scale=args.guidance_scale,
                             seed=args.seed, enable_deepcache=args.enable_deepcache, face_backend=args.face_backend,
                             mask_image_path=args.mask_image_path, high_quality=args.high_quality)
    try:
        from latentsync.io.paths import check_audio_input, check_output_path, check_video_input

        # Input problems are reported before minutes of model loading.
        video, audio = check_video_input(args.video_path), check_audio_input(args.audio_path)
        check_output_path(args.video_out_path, inputs=[video, audio])
        face_enhancement = load_face_enhancement(args) if args.face_enhance else None  # a missing model fails fast
        pipeline = load_lipsync_pipeline(args.unet_config_path, args.inference_ckpt_path, args.whisper_model_path,
                                         args.vae_model_path, device=args.device, dtype=args.dtype,
                                         audio_cache_dir=args.audio_cache_dir)
        report = lipsync_video(pipeline, video, audio, args.video_out_path, options,
                               face_postprocessor=face_enhancement)
    except (InputError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {report.output_path} ({report.num_output_frames} frames, {report.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
