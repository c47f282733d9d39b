"""The 30 s seam of the Whisper features, with ``--audio_context cut`` (the original's) and ``overlap``.

For each context: the change between consecutive encoder frames (L2 over layers and channels) across the
boundaries at 30 s and 60 s, divided by the median change, the largest such ratio anywhere else, and for
``overlap`` how far from a boundary its features still differ from ``cut``'s. The clip: 75 s of the demo speech
(demo2, demo2, demo1, demo2, demo1 back to back, so no join falls near 30 or 60 s), or ``--audio``. The
Whisper model: ``--whisper`` (default ``checkpoints/whisper/tiny.pt``), or tiny's architecture with random
weights when that file is absent.

    python benchmarks/bench_audio_seams.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from latentsync.io.audio_reader import load_audio  # noqa: E402
from latentsync.locations import CheckpointLayout  # noqa: E402
from latentsync.whisper.audio2feature import Audio2Feature  # noqa: E402
from latentsync.whisper.audio_context import AUDIO_CONTEXTS  # noqa: E402
from latentsync.whisper.seam_windows import jump_ratios  # noqa: E402

BOUNDARIES = (1500, 3000)  # encoder frames at 30 s and 60 s


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whisper", type=Path, default=CheckpointLayout().whisper(384),
                        help="Whisper checkpoint (absent: tiny's architecture with random weights)")
    parser.add_argument("--audio", type=Path, default=None,
                        help="speech of 61 s or more (default: 75 s of demo speech)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tests.helpers.demo_clips import demo_speech
    from tests.helpers.tiny_models import write_random_whisper_tiny

    waveform = demo_speech(75.0) if args.audio is None else load_audio(args.audio)
    if len(waveform) < 61 * 16000:
        print(f"error: the audio lasts {len(waveform) / 16000:.1f} s; the seams need 61 s or more")
        return 2
    with tempfile.TemporaryDirectory() as folder:
        random_weights = not args.whisper.is_file()
        checkpoint = write_random_whisper_tiny(Path(folder) / "tiny.pt") if random_weights else args.whisper
        encoder = Audio2Feature(checkpoint)
        features = {context: encoder.audio2feat(waveform, context=context) for context in AUDIO_CONTEXTS}
    weights = "tiny architecture, random weights" if random_weights else str(args.whisper)
    print(f"Whisper: {weights}; audio: {len(waveform) / 16000:.1f} s\n")
    print(f"{'context':<10}{'30 s / median':>15}{'60 s / median':>15}{'largest elsewhere':>19}")
    for context, feature in features.items():
        ratios = jump_ratios(feature)
        at_seams = [float(ratios[boundary - 1]) for boundary in BOUNDARIES]
        elsewhere = ratios.clone()
        elsewhere[[boundary - 1 for boundary in BOUNDARIES]] = 0
        print(f"{context:<10}{at_seams[0]:>15.2f}{at_seams[1]:>15.2f}{float(elsewhere.max()):>19.2f}")
    changed = torch.nonzero((features["cut"] != features["overlap"]).flatten(1).any(1)).flatten().tolist()
    farthest = max((min(frame - b if frame >= b else b - 1 - frame for b in BOUNDARIES) for frame in changed),
                   default=0)
    print(f"\noverlap differs from cut on {len(changed)} encoder frames, each within {farthest + 1} frames "
          f"({(farthest + 1) / 50:g} s) of a boundary; the others are equal bit for bit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
