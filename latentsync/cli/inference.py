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
from pathlib import Path

from latentsync.app.examples import DEMO_CLIP_PAIRS
from latentsync.cli.lipsync_arguments import (add_model_arguments, add_settings_arguments, check_before_loading,
                                              load_pipeline_from_args, settings_from_args)
from latentsync.cli.runner import run_command
from latentsync.errors import InputError
from latentsync.locations import ASSETS_DIR
from latentsync.utils.one_line_parser import ArgumentParser
from latentsync.utils.time_format import written_video_summary

DEMO_CLIPS = {name for pair in DEMO_CLIP_PAIRS for name in pair}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="latentsync-inference", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    io = parser.add_argument_group("input and output")
    io.add_argument("--video_path", required=True, help="talking-head video (any container/codec/fps)")
    io.add_argument("--audio_path", required=True, help="speech to lip-sync to (any audio file, or a video's track)")
    io.add_argument("--video_out_path", required=True, help="where to write the result (.mp4 or .mov)")
    add_model_arguments(parser)
    add_settings_arguments(parser)
    return parser.parse_args(argv)


def check_demo_clips(args: argparse.Namespace) -> None:
    """inference.sh lip-syncs the checkout's demo clips unless --video_path / --audio_path is given: before
    ./setup_env.sh has fetched them, say that (not just "does not exist")."""
    for flag, value in (("--video_path", args.video_path), ("--audio_path", args.audio_path)):
        path = Path(value)
        if path.name in DEMO_CLIPS and path.parent.resolve() == ASSETS_DIR and not path.exists():
            raise InputError(f"the demo clip {path} is missing; run ./setup_env.sh (it downloads the demo clips), "
                             f"or pass {flag}")


def lipsync(args: argparse.Namespace) -> None:
    """Check everything that is quick to check, load the models, lip-sync, and say what was written."""
    from latentsync.pipelines.lipsync_inputs import check_input_paths

    check_demo_clips(args)
    settings = settings_from_args(args)
    # Input problems are reported before minutes of model loading (and before the model code is imported); the
    # pipeline trusts these paths.
    video, audio, output = check_input_paths(args.video_path, args.audio_path, args.video_out_path)
    check_before_loading(args, settings, video)
    pipeline = load_pipeline_from_args(args)
    report = pipeline(video, audio, output, settings=settings, inputs_checked=True)
    print(written_video_summary(report.output_path, report.num_output_frames, pipeline.config.video_fps,
                                report.seconds) + f" (seed {report.seed})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: lipsync(args), interrupted_note="; no output was written")


if __name__ == "__main__":
    raise SystemExit(main())
