"""Plot SyncNet's mean audio-visual distance against the audio offset for one video (one curve per face track).

A well-synced video shows a sharp dip at offset 0; its depth below the median is the confidence (LSE-C)
and its height is LSE-D. A flat curve means SyncNet cannot tell where the audio belongs.

    python -m eval.plot_sync_offsets --video_path result.mp4 --output_path offsets.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402

from latentsync.errors import CheckpointError, InputError  # noqa: E402
from latentsync.evaluation.video_sync import VideoSyncScore, add_scorer_arguments, scorer_from_args  # noqa: E402
from latentsync.utils.quiet_logs import quiet_library_logs


def plot_offset_curves(score: VideoSyncScore, title: str, output_path: str | Path) -> None:
    """Save the distance-vs-offset curve of every track, with its minimum and median marked."""
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for index, track in enumerate(score.tracks):
        vshift = (len(track.mean_dists) - 1) // 2
        offsets = list(range(vshift, -vshift - 1, -1))  # mean_dists[j] belongs to offset vshift - j
        line, = axes.plot(offsets, track.mean_dists.tolist(), marker=".",
                          label=f"track {index}: offset {track.av_offset}, LSE-C {track.confidence:.2f}, "
                                f"LSE-D {track.min_dist:.2f}")
        axes.plot([track.av_offset], [track.min_dist], "o", color=line.get_color(), markersize=9)
        axes.axhline(track.min_dist + track.confidence, color=line.get_color(), linestyle="--", linewidth=0.8)
    axes.set_xlabel("audio offset (frames at 25 fps)")
    axes.set_ylabel("mean distance (dashed: median)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output_path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> VideoSyncScore:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video_path", required=True)
    parser.add_argument("--output_path", default="sync_offsets.png", help="image file to write (png, pdf, svg)")
    add_scorer_arguments(parser)
    args = parser.parse_args(argv)
    quiet_library_logs()

    try:
        with scorer_from_args(args) as scorer:
            score = scorer(args.video_path)
    except (InputError, CheckpointError) as error:
        parser.exit(2, f"error: {error}\n")
    plot_offset_curves(score, f"{Path(args.video_path).name}: LSE-C {score.confidence:.2f}, "
                              f"LSE-D {score.min_dist:.2f}, AV offset {score.av_offset}", args.output_path)
    print(f"Offset curve written to {args.output_path}")
    return score


if __name__ == "__main__":
    main()
