"""What one web request may upload; apart from the upload checks (PyAV) so ``gradio_app.py --help`` shows the
defaults without loading it."""

from __future__ import annotations

from dataclasses import dataclass

BYTES_PER_MB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """What one request may upload; set by ``gradio_app.py`` flags."""

    max_video_seconds: float = 60.0
    max_audio_seconds: float = 60.0
    max_upload_mb: float = 200.0

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * BYTES_PER_MB)

    def describe(self) -> str:
        """One line for the page, so people know the limits before they upload."""
        return (f"Videos up to {self.max_video_seconds:g} s, audio up to {self.max_audio_seconds:g} s, "
                f"each file up to {self.max_upload_mb:g} MB.")
