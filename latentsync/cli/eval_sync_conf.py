"""SyncNet confidence (LSE-C, higher is better) and distance (LSE-D, lower is better) of talking-face videos.

    python -m eval.eval_sync_conf --video_path result.mp4
    python -m eval.eval_sync_conf --videos_dir results/ --csv_path sync_conf.csv

Prints each video's scores and the mean, and writes them to a CSV (one row per video, then "MEAN"; by default
sync_conf.csv in the current folder). A video that cannot be scored ends a one-video run with one error line
(exit 2); in a folder it is skipped, its reason in the CSV. Faces are tracked with S3FD, as in the published
protocol; ``--detector mediapipe`` uses the landmark backend.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from latentsync.cli.arguments import add_scorer_arguments, scorer_from_args, scorer_weights
from latentsync.cli.runner import run_command
from latentsync.errors import InputError
from latentsync.evaluation.video_files import list_videos
from latentsync.utils.one_line_parser import ArgumentParser

if TYPE_CHECKING:
    from latentsync.evaluation.video_sync import VideoSyncScore

CSV_FIELDS = ["video", "lse_c", "lse_d", "av_offset", "num_tracks", "error"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m eval.eval_sync_conf", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    inputs = parser.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--video_path", help="one video")
    inputs.add_argument("--videos_dir", help="a folder of videos, all scored")
    parser.add_argument("--csv_path", default="sync_conf.csv",
                        help="where to write the per-video scores (default: sync_conf.csv in the current folder; "
                             "never one of the videos)")
    add_scorer_arguments(parser)
    return parser.parse_args(argv)


def score_videos(args: argparse.Namespace) -> dict[Path, VideoSyncScore]:
    """Score every video, print and write the scores. Unusable inputs, an output that would overwrite one and
    missing weights end the run before any video is read; a one-video run ends on an unscorable video, a folder
    run skips it."""
    from tqdm import tqdm

    from latentsync.io.paths import check_audio_input, check_output_file, check_video_input

    if args.video_path:
        videos = [check_audio_input(check_video_input(args.video_path))]  # SyncNet compares lips with the audio
    else:
        videos = list_videos(args.videos_dir)
    csv_path = check_output_file(args.csv_path, [*videos, *scorer_weights(args)], role="--csv_path")
    scorer = scorer_from_args(args)
    scores: dict[Path, VideoSyncScore] = {}
    rows = []
    with scorer:
        for video in tqdm(videos, desc="videos", disable=len(videos) == 1):
            try:
                score = scores[video] = scorer(video)
            except InputError as error:  # one unusable video must not end a folder run
                if args.video_path:
                    raise
                tqdm.write(f"{video}: skipped, {error}")
                rows.append({"video": str(video), "error": str(error)})
                continue
            tqdm.write(f"{video}: LSE-C {score.confidence:.3f}  LSE-D {score.min_dist:.3f}  "
                       f"AV offset {score.av_offset}  ({len(score.tracks)} face tracks)")
            rows.append({"video": str(video), "lse_c": f"{score.confidence:.6f}", "lse_d": f"{score.min_dist:.6f}",
                         "av_offset": score.av_offset, "num_tracks": len(score.tracks)})
    if scores:
        mean_c = statistics.fmean(score.confidence for score in scores.values())
        mean_d = statistics.fmean(score.min_dist for score in scores.values())
        print(f"Mean over {len(scores)} of {len(videos)} videos: LSE-C {mean_c:.3f}  LSE-D {mean_d:.3f}")
        rows.append({"video": "MEAN", "lse_c": f"{mean_c:.6f}", "lse_d": f"{mean_d:.6f}", "num_tracks": len(scores)})
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"Scores written to {csv_path}")
    if not scores:
        raise SystemExit(f"no video could be scored; see {csv_path}")
    return scores


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: score_videos(args))


if __name__ == "__main__":
    raise SystemExit(main())
