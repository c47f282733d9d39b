"""The default strengths of face enhancement, apart from the restorer's code (torch, onnxruntime) so the lip-sync
settings and the command line's ``--help`` read them without loading it."""

DEFAULT_STRENGTH = 0.8
# How much of the generated mouth is kept over the restored one inside the protected region: the restorer
# may add detail there but not redraw the lip shape that follows the audio.
DEFAULT_MOUTH_PROTECTION = 0.8
# CodeFormer's fidelity weight w: 0 = strongest restoration, 1 = closest to the input face.
DEFAULT_CODEFORMER_FIDELITY = 0.5
