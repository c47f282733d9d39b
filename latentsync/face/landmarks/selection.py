"""``--face_backend auto``: the landmark backend the release was made with, when it can run here.

The crop the U-Net sees depends on the landmarks, so each release is reproduced by its own backend:
LatentSync 1.6 (512 px) aligns faces with InsightFace's 106-point model, 1.5 (256 px) with face-alignment's
68-point model. When that backend's package or weights are missing, ``auto`` takes the next best one and
logs which it took and why; mediapipe (no weights to fetch) is the last resort.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from latentsync.errors import CheckpointError, InputError
from latentsync.face.landmarks import face_alignment_detector, insightface_detector

logger = logging.getLogger(__name__)

RELEASE_BACKENDS = {"1.5": "face_alignment", "1.6": "insightface"}
FALLBACK_ORDER = ("insightface", "face_alignment", "mediapipe")


@dataclass(frozen=True)
class BackendChoice:
    name: str
    reason: str


def release_for_resolution(resolution: int) -> str:
    """The release a U-Net config belongs to: 1.6 generates 512 px faces, 1.5 256 px."""
    return "1.6" if resolution >= 512 else "1.5"


def backend_problem(name: str, weights_dir: str | Path) -> str | None:
    """Why backend ``name`` cannot run with the weights in ``weights_dir``; None when it can."""
    weights_dir = Path(weights_dir)
    if name == "mediapipe":
        return None if importlib.util.find_spec("mediapipe") else "the mediapipe package is not installed"
    if name == "face_alignment":
        if importlib.util.find_spec("face_alignment") is None:
            return "the face_alignment package is not installed"
        version = importlib.metadata.version("face-alignment")
        if not version.startswith(face_alignment_detector.SUPPORTED_VERSION_PREFIX):
            return f"face-alignment {version} is installed, {face_alignment_detector.SUPPORTED_VERSION_PREFIX}x is needed"
        files = [weights_dir / file for file in face_alignment_detector.WEIGHT_FILES]
    elif name == "insightface":
        if importlib.util.find_spec("insightface") is None:
            return "the insightface package is not installed"
        pack = weights_dir / "models" / insightface_detector.MODEL_PACK
        files = [pack / file for file in insightface_detector.WEIGHT_FILES]
    else:
        raise InputError(f"unknown landmark detector {name!r}; choose one of auto, {', '.join(FALLBACK_ORDER)}")
    missing = [str(path) for path in files if not path.is_file()]
    return f"its weights {', '.join(missing)} are missing" if missing else None


def require_release_backend(release: str, weights_dir: str | Path) -> str:
    """The backend release ``release`` was made with; ``InputError`` (package) or ``CheckpointError`` (weights)
    naming the fix when it cannot run here.

    For data processing: clips aligned by another backend than inference's would silently train on other crops,
    so there is no fallback; another backend is used only when named explicitly.
    """
    if release not in RELEASE_BACKENDS:
        raise InputError(f"unknown release {release!r}; known: {', '.join(RELEASE_BACKENDS)}")
    backend = RELEASE_BACKENDS[release]
    problem = backend_problem(backend, weights_dir)
    if problem is not None:
        detector = face_alignment_detector if backend == "face_alignment" else insightface_detector
        package_problem = "package" in problem or "is installed" in problem
        fix = detector.INSTALL_HINT if package_problem else f"put them in {weights_dir}: {detector.FETCH_HINT}"
        error = InputError if package_problem else CheckpointError
        raise error(f"LatentSync {release} aligns faces with {backend}, but {problem}; {fix}, or pass "
                    f"--face_backend {' / '.join(b for b in FALLBACK_ORDER if b != backend)} to align "
                    "with another backend (its crops differ from the release's)")
    return backend


def choose_landmark_backend(name: str, release: str, weights_dir: str | Path) -> BackendChoice:
    """``name`` itself unless it is ``auto``; then the release's backend, else the first of the others that can run."""
    if name != "auto":
        return BackendChoice(name, "chosen explicitly")
    if release not in RELEASE_BACKENDS:
        raise InputError(f"unknown release {release!r}; known: {', '.join(RELEASE_BACKENDS)}")
    reference = RELEASE_BACKENDS[release]
    candidates = [reference] + [backend for backend in FALLBACK_ORDER if backend != reference]
    problems = []
    for candidate in candidates:
        problem = backend_problem(candidate, weights_dir)
        if problem is None:
            if candidate == reference:
                reason = f"LatentSync {release} was made with it"
            else:
                reason = (f"LatentSync {release} was made with {reference}, but {'; '.join(problems)}; "
                          f"{candidate} is the next best (crops differ slightly from the release's)")
            choice = BackendChoice(candidate, reason)
            logger.info("landmark backend %s: %s", choice.name, choice.reason)
            return choice
        problems.append(f"{candidate}: {problem}")
    raise InputError(f"no landmark backend can run ({'; '.join(problems)}); pip install mediapipe")
