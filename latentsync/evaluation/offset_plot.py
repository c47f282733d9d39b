"""SyncNet's mean audio-visual distance against the audio offset, one curve per face track, as an image."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402

from latentsync.evaluation.video_sync import VideoSyncScore  # noqa: E402


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
