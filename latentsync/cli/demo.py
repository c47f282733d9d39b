"""Web demo: `python gradio_app.py`, then open http://127.0.0.1:7860.

Loads the models once, then serves one lip-sync run at a time (others wait in the queue).
Bind to another address with --host 0.0.0.0 only on a network you trust.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from latentsync.app.upload_limits import UploadLimits
from latentsync.cli.arguments import device_name
from latentsync.cli.runner import TIMED_LOG_FORMAT, run_command
from latentsync.locations import ASSETS_DIR, DEFAULT_CHECKPOINTS_DIR, DEFAULT_VAE
from latentsync.utils.cli_ranges import number_in_range, positive_float
from latentsync.utils.one_line_parser import ArgumentParser

if TYPE_CHECKING:
    from latentsync.pipelines.pipeline_weights import ReleaseChoice

DEFAULT_LIMITS = UploadLimits()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python gradio_app.py", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=number_in_range(int, 1, 65535), default=7860, help="1 to 65535")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    parser.add_argument("--max_video_seconds", type=positive_float, default=DEFAULT_LIMITS.max_video_seconds,
                        help="more than 0")
    parser.add_argument("--max_audio_seconds", type=positive_float, default=DEFAULT_LIMITS.max_audio_seconds,
                        help="more than 0; the result lasts as long as the audio")
    parser.add_argument("--max_upload_mb", type=positive_float, default=DEFAULT_LIMITS.max_upload_mb, help="more than 0")
    parser.add_argument("--keep_results_minutes", type=positive_float, default=60.0,
                        help="more than 0: uploads and results are deleted from the server this long after a run")
    parser.add_argument("--device", type=device_name, default="auto", help="auto, cuda, cuda:1, mps or cpu")
    parser.add_argument("--dtype", default="auto", help="auto, float16, bfloat16 or float32")
    parser.add_argument("--checkpoints_dir", type=Path, default=DEFAULT_CHECKPOINTS_DIR)
    parser.add_argument("--unet_config_path", type=Path, help="serve this model instead of the releases found "
                        "in --checkpoints_dir (needs --inference_ckpt_path)")
    parser.add_argument("--inference_ckpt_path", type=Path)
    parser.add_argument("--whisper_model_path", type=Path, help="default: the one the U-Net config calls for")
    parser.add_argument("--vae_model_path", default=DEFAULT_VAE, help="hub id or local diffusers folder")
    parser.add_argument("--assets_dir", type=Path, default=ASSETS_DIR,
                        help="the demo clips offered as examples (scripts/download_checkpoints.py fetches them)")
    parser.add_argument("--enhancers_dir", type=Path, help="ONNX face restorers for Face Enhance (default: "
                        "<checkpoints_dir>/enhancers)")
    args = parser.parse_args(argv)
    if (args.unet_config_path is None) != (args.inference_ckpt_path is None):
        parser.error("--unet_config_path and --inference_ckpt_path go together")
    return args


def served_releases(args: argparse.Namespace) -> list[ReleaseChoice]:
    """The model given on the command line, else every release whose checkpoint is installed."""
    from latentsync.pipelines.pipeline_weights import ReleaseChoice, available_releases

    if args.unet_config_path is not None:
        return [ReleaseChoice(f"Custom: {args.inference_ckpt_path.name} ({args.unet_config_path.name})",
                              args.unet_config_path, args.inference_ckpt_path)]
    return available_releases(args.checkpoints_dir)


def serve(args: argparse.Namespace) -> None:
    """Load the first release, build the page and serve it until interrupted (a bad custom config stops here;
    missing weights are said on the terminal and on the page)."""
    from latentsync.app.demo import build_demo, missing_checkpoints
    from latentsync.app.examples import demo_examples
    from latentsync.app.pipeline_cache import PipelineCache
    from latentsync.utils.quiet_logs import launch_gradio

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry calls from a private demo
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up probes, one line each
    pipelines = PipelineCache(served_releases(args), args.checkpoints_dir, args.whisper_model_path,
                              args.vae_model_path, device=args.device, dtype=args.dtype,
                              enhancers_dir=args.enhancers_dir)
    limits = UploadLimits(args.max_video_seconds, args.max_audio_seconds, args.max_upload_mb)
    startup_problem = pipelines.preload_first()
    if missing := missing_checkpoints(pipelines, startup_problem):
        print(f"warning: {missing}", file=sys.stderr)
    demo = build_demo(pipelines, limits, startup_problem=startup_problem,
                      keep_results_seconds=round(args.keep_results_minutes * 60),
                      examples=demo_examples(args.assets_dir))
    launch_gradio(demo, server_name=args.host, server_port=args.port, share=args.share, ssr_mode=False,
                  max_file_size=limits.max_upload_bytes, allowed_paths=[str(args.assets_dir)])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: serve(args), TIMED_LOG_FORMAT)


if __name__ == "__main__":
    raise SystemExit(main())
