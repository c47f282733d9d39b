"""A ``--speaker`` value, parsed: which face of a multi-face video is lip-synced (``speaker_selection`` carries the
choice out). Apart from the selection's code (scene cuts, SyncNet) so the settings and ``--help`` read it without
loading torch."""

from __future__ import annotations

import re
from dataclasses import dataclass

from latentsync.errors import InputError

SPEAKER_MODES = ("largest", "center", "active", "point")
SPEAKER_HELP = ("largest = the largest face of each frame (the original's rule); center = the face track nearest "
                "the frame centre; active = the face whose lips follow the video's own soundtrack (per scene); "
                "point:X,Y[@SECONDS] = the face at that pixel (at that time; default: its first frame with a face)")


@dataclass(frozen=True)
class SpeakerChoice:
    """A parsed ``--speaker`` value; ``x``, ``y`` (pixels) and ``seconds`` only for ``point``."""

    mode: str = "largest"
    x: float | None = None
    y: float | None = None
    seconds: float | None = None

    @classmethod
    def parse(cls, text: str | SpeakerChoice) -> SpeakerChoice:
        """``largest``, ``center``, ``active`` or ``point:X,Y[@SECONDS]``; InputError naming the right form."""
        if isinstance(text, SpeakerChoice):
            return text
        text = text.strip()
        if text in ("largest", "center", "active"):
            return cls(text)
        match = re.fullmatch(r"point:\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:@\s*([\d.]+))?", text)
        if match is None:
            raise InputError(f"unknown speaker {text!r}; use largest, center, active or point:X,Y[@SECONDS] "
                             "(pixels from the top-left corner, e.g. point:320,180@2.5)")
        x, y, seconds = match.groups()
        return cls("point", float(x), float(y), None if seconds is None else float(seconds))

    def check_within(self, width: int, height: int, duration: float, video: str) -> None:
        """``InputError`` when a ``point`` lies outside a ``width`` x ``height`` video of ``duration`` seconds (0:
        unknown), said before any face is searched for."""
        if self.mode != "point":
            return
        if not (self.x < width and self.y < height):
            raise InputError(f"speaker {self} is outside the {width}x{height} frame of {video!r}; give a pixel inside "
                             f"it (x 0-{width - 1} from the left, y 0-{height - 1} from the top)")
        if self.seconds is not None and 0 < duration < self.seconds:
            raise InputError(f"speaker {self} is past the end of {video!r} ({duration:.2f} s); give a time within "
                             "the video")

    def __str__(self) -> str:
        if self.mode != "point":
            return self.mode
        return f"point:{self.x:g},{self.y:g}" + ("" if self.seconds is None else f"@{self.seconds:g}")
