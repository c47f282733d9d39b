"""File list, total hours and duration histogram of a folder of processed clips.

    python -m data_processing.fileslist /data/high_visual_quality --output fileslist.txt --histogram durations.png
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="folder of .mp4 clips (searched recursively)")
    parser.add_argument("--output", default="fileslist.txt", help="where to write one absolute path per line")
    parser.add_argument("--histogram", default=None, help="also save a PNG histogram of clip durations here")
    args = parser.parse_args(argv)

    from latentsync.data_processing.fileslist import (clip_durations, list_clips, plot_duration_histogram,
                                                      write_fileslist)

    clips = list_clips(args.folder)
    if not clips:
        print(f"error: no .mp4 clips under {args.folder!r}; pass the folder of a pipeline stage", file=sys.stderr)
        return 2
    write_fileslist(clips, args.output)
    durations = clip_durations(clips)
    print(f"{len(clips)} clips, {sum(durations) / 3600:.3f} hours, listed in {args.output}")
    if args.histogram:
        plot_duration_histogram(durations, args.histogram)
        print(f"duration histogram: {args.histogram}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
