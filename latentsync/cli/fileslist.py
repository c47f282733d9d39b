"""File list, total hours and duration histogram of a folder of processed clips.

    python -m data_processing.fileslist /data/high_visual_quality --output fileslist.txt --histogram durations.png
"""

from __future__ import annotations

import argparse

from latentsync.cli.runner import run_command
from latentsync.errors import InputError
from latentsync.utils.one_line_parser import ArgumentParser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m data_processing.fileslist", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="folder of .mp4 clips (searched recursively)")
    parser.add_argument("--output", default="fileslist.txt",
                        help="where to write one absolute path per line (default: fileslist.txt in the current "
                             "folder; never one of the clips)")
    parser.add_argument("--histogram", default=None,
                        help="also save a histogram of clip durations here (png, pdf, svg, ...)")
    return parser.parse_args(argv)


def list_folder(args: argparse.Namespace) -> None:
    """List the clips; both outputs are checked first, so a bad ``--histogram`` leaves no file list behind."""
    from latentsync.data_processing.fileslist import (clip_durations, list_clips, plot_duration_histogram,
                                                      write_fileslist)
    from latentsync.io.paths import FIGURE_SUFFIXES, check_output_file

    clips = list_clips(args.folder)
    if not clips:
        raise InputError(f"no .mp4 clips under {args.folder!r}; pass the folder of a pipeline stage")
    check_output_file(args.output, clips, role="--output")
    if args.histogram:
        check_output_file(args.histogram, [*clips, args.output], role="--histogram", suffixes=FIGURE_SUFFIXES)
    write_fileslist(clips, args.output)
    durations = clip_durations(clips)
    print(f"{len(clips)} clips, {sum(durations) / 3600:.3f} hours, listed in {args.output}")
    if args.histogram:
        plot_duration_histogram(durations, args.histogram)
        print(f"duration histogram: {args.histogram}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: list_folder(args))


if __name__ == "__main__":
    raise SystemExit(main())
