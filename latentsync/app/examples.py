"""The original demo's example clips: three (video, audio) pairs in ``assets/``.

``scripts/download_checkpoints.py`` fetches them; the page offers the pairs that are present.
"""

from __future__ import annotations

from pathlib import Path

DEMO_CLIP_PAIRS = [(f"demo{number}_video.mp4", f"demo{number}_audio.wav") for number in (1, 2, 3)]


def demo_examples(assets_dir: str | Path) -> list[list[str]]:
    """``[video, audio]`` paths of each demo pair whose two files are in ``assets_dir``."""
    assets_dir = Path(assets_dir)
    return [[str(assets_dir / video), str(assets_dir / audio)] for video, audio in DEMO_CLIP_PAIRS
            if (assets_dir / video).is_file() and (assets_dir / audio).is_file()]
