"""Lip-sync a video to a new audio track.

Example:
  latentsync-inference --video_path talk.mp4 --audio_path speech.wav --video_out_path synced.mp4

The output has the video's resolution, 25 fps, the new audio, and lasts as long as the audio: a longer video
is cut, a shorter one is played forward and backward in turn. Frames without a face pass through unchanged.
"""

from __future__ import annotations

import argparse
import logging
import sys

from latentsync.errors import CheckpointError, InputError
from latentsync.face.landmarks import LANDMARK_DETECTORS
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from latentsync.pipelines.loading import DEFAULT_CHECKPOINTS_DIR, DEFAULT_VAE, load_lipsync_pipeline


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="latentsync-inference", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    io = parser.add_argument_group("input and output")
    io.add_argument("--video_path", required=True, help="talking-head video (any container/codec/fps)")
    io.add_argument("--audio_path", required=True, help="speech to lip-sync to (any audio file, or a video's track)")
    io.add_argument("--video_out_path", required=True, help="where to write the result (.mp4 or .mov)")
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
    generation.add_argument("--inference_steps", type=int, default=None,
                            help="DDIM steps, 20-50 (default: the config's run.inference_steps, 20)")
    generation.add_argument("--guidance_scale", type=float, default=None,
                            help="classifier-free audio guidance; 1.0 = off (faster), higher = stronger lip "
                                 "movement (default: the config's run.guidance_scale, 1.5)")
    generation.add_argument("--seed", type=int, default=None,
                            help="seed of the noise; same seed, same video (default: the config's run.seed, 1247)")
    generation.add_argument("--enable_deepcache", action="store_true",
                            help="reuse deep U-Net features every 3 steps: ~2x faster, slightly different output")
    generation.add_argument("--mask_image_path", default=None,
                            help="custom mouth mask image (white = keep, black = regenerate); default: built-in")
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        # Input problems are reported before minutes of model loading; the pipeline trusts these paths.
        video, audio, output = LipsyncPipeline.check_inputs(args.video_path, args.audio_path, args.video_out_path)
        pipeline = load_lipsync_pipeline(args.unet_config_path, args.inference_ckpt_path, args.whisper_model_path,
                                         args.vae_model_path, device=args.device, dtype=args.dtype,
                                         audio_cache_dir=args.audio_cache_dir, checkpoints_dir=args.checkpoints_dir,
                                         face_backend=args.face_backend, mask_image_path=args.mask_image_path)
        report = pipeline(video_path=video, audio_path=audio, video_out_path=output,
                          num_inference_steps=args.inference_steps, guidance_scale=args.guidance_scale,
                          seed=args.seed, enable_deepcache=args.enable_deepcache, inputs_checked=True)
    except (InputError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {report.output_path} ({report.num_output_frames} frames, {report.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
