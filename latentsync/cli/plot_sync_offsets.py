"""Plot SyncNet's mean audio-visual distance against the audio offset for one video (one curve per face track).

A well-synced video shows a sharp dip at offset 0; its depth below the median is the confidence (LSE-C)
and its height is LSE-D. A flat curve means SyncNet cannot tell where the audio belongs.

    python -m eval.plot_sync_offsets --video_path result.mp4 --output_path offsets.png
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from latentsync.cli.arguments import add_scorer_arguments, scorer_from_args, scorer_weights
from latentsync.cli.runner import run_command
from latentsync.utils.one_line_parser import ArgumentParser

if TYPE_CHECKING:
    from latentsync.evaluation.video_sync import VideoSyncScore


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m eval.plot_sync_offsets", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video_path", required=True)
    parser.add_argument("--output_path", default="sync_offsets.png",
                        help="image file to write: png, pdf, svg, ... (default: sync_offsets.png in the current "
                             "folder; never the video)")
    add_scorer_arguments(parser)
    return parser.parse_args(argv)


def plot(args: argparse.Namespace) -> VideoSyncScore:
    """Score the video and write its offset curves (the video and the output are checked before any model loads)."""
    from latentsync.io.paths import FIGURE_SUFFIXES, check_audio_input, check_output_file, check_video_input

    video = check_audio_input(check_video_input(args.video_path))
    check_output_file(args.output_path, [video, *scorer_weights(args)], role="--output_path",
                      suffixes=FIGURE_SUFFIXES)
    from latentsync.evaluation.offset_plot import plot_offset_curves  # the model code: after the quick checks

    with scorer_from_args(args) as scorer:
        score = scorer(args.video_path)
    plot_offset_curves(score, f"{Path(args.video_path).name}: LSE-C {score.confidence:.2f}, "
                              f"LSE-D {score.min_dist:.2f}, AV offset {score.av_offset}", args.output_path)
    print(f"Offset curve written to {args.output_path}")
    return score


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: plot(args))


if __name__ == "__main__":
    raise SystemExit(main())
