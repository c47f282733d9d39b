"""The names of ``--audio_context``, how Whisper's 30 s windows are laid over the audio (``seam_windows``); apart
from the encoder's code so the settings and ``--help`` read them without loading torch."""

AUDIO_CONTEXTS = ("cut", "overlap")
"""cut: back to back, as the original; overlap: one more window across each 30 s boundary."""
