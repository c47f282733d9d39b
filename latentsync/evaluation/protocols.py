"""What the evaluation commands offer by name: the sync-confidence protocols and face detectors, the FVD protocols.
Apart from the scorers (torch, PyAV, OpenCV) so the commands' ``--help`` reads them without loading those."""

from __future__ import annotations

from dataclasses import dataclass

from latentsync.face.landmarks.factory import LANDMARK_DETECTORS

SYNC_PROTOCOLS = ("original", "lossless")
"""original: score what the original's staging writes (comparable with the paper); lossless: the decoded frames."""
FACE_DETECTORS = ("s3fd", *LANDMARK_DETECTORS)


@dataclass(frozen=True)
class FVDProtocol:
    """How uint8 clips reach I3D: multiplied by ``input_scale``, then called with ``detector_kwargs``."""

    name: str
    input_scale: float
    detector_kwargs: dict


FVD_PROTOCOLS = {
    "latentsync": FVDProtocol("latentsync", 1 / 255, {"rescale": False, "resize": False, "return_features": True}),
    "all_clips": FVDProtocol("all_clips", 1.0, {"rescale": True, "resize": True, "return_features": True}),
}
DEFAULT_FVD_PROTOCOL = "latentsync"
