"""Fréchet Video Distance: Fréchet distance between Gaussian fits of I3D features of two sets of clips.

Features are the 400-d logits-layer outputs (``return_features=True``) of StyleGAN-V's I3D TorchScript model
(``i3d_torchscript.pt``). Two protocols decide which clips it sees:

* ``latentsync`` (default, the original's ``eval/eval_fvd.py``, so numbers compare with the paper): per video
  one clip, decoded frames 20-35; in each frame the first face mediapipe's face detection finds is cropped,
  resized to 224x224 with area interpolation and scaled to [0, 1]; I3D runs without its own rescale / resize.
* ``all_clips``: every consecutive 16-frame clip of the whole frames at 25 fps, 0..255 with I3D's own
  preprocessing (``rescale``: -> [-1, 1], ``resize``: trilinear to 224x224), as StyleGAN-V computes FVD.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from scipy import linalg
from tqdm import tqdm

from latentsync.errors import CheckpointError, InputError
from latentsync.evaluation.protocols import DEFAULT_FVD_PROTOCOL, FVD_PROTOCOLS
from latentsync.evaluation.video_files import list_videos
from latentsync.face.mediapipe_face_boxes import MediapipeFaceBoxes, RelativeBox
from latentsync.io.video_reader import VideoReader
from latentsync.locations import AUXILIARY_SETUP_HINT

logger = logging.getLogger(__name__)

I3D_INPUT_SIZE = 224
# The original's clip: decoded frames 20..35 of each video.
FACE_CLIP_FIRST_FRAME = 20
FACE_CLIP_LENGTH = 16

FaceBoxDetector = Callable[[np.ndarray], "RelativeBox | None"]


def load_i3d(path: str | Path, device: torch.device | str = "cpu") -> torch.jit.ScriptModule:
    """Load the I3D TorchScript feature extractor, in eval mode on ``device``."""
    if not Path(path).is_file():
        raise CheckpointError(f"I3D model {path} not found; run {AUXILIARY_SETUP_HINT} to download it, "
                              "or pass its path")
    with warnings.catch_warnings():  # TorchScript is deprecated, but it is the format the I3D weights ship in
        warnings.simplefilter("ignore", FutureWarning)
        try:
            return torch.jit.load(str(path), map_location=device).eval()
        except RuntimeError as error:  # not a TorchScript archive: truncated, or another file under that name
            reason = " ".join(str(error).split()) or type(error).__name__
            raise CheckpointError(f"I3D model {path} cannot be read ({reason}); download it again with "
                                  f"{AUXILIARY_SETUP_HINT}") from None


def video_clips(path: str | Path, clip_len: int = 16) -> Iterator[np.ndarray]:
    """``all_clips``: consecutive non-overlapping (clip_len, H, W, 3) uint8 RGB clips at 25 fps; drops a short tail."""
    clip = []
    for frame in VideoReader(path).frames():
        clip.append(frame)
        if len(clip) == clip_len:
            yield np.stack(clip)
            clip = []


def decoded_frames(path: str | Path, first: int = FACE_CLIP_FIRST_FRAME,
                   count: int = FACE_CLIP_LENGTH) -> np.ndarray | None:
    """Decoded frames ``first .. first + count - 1`` (native rate, no resampling) as (count, H, W, 3) uint8 RGB.

    None when the video has fewer frames, where the original's ``len(faces) != 16`` check drops the video.
    """
    frames = []
    try:
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index >= first:
                    frames.append(frame.to_ndarray(format="rgb24"))
                    if len(frames) == count:
                        return np.stack(frames)
    except av.error.FFmpegError as error:
        raise InputError(f"{path} cannot be decoded as a video ({error}); re-encode it or remove it") from None
    return None


def crop_relative_box(image: np.ndarray, box: RelativeBox) -> np.ndarray:
    """The original's crop: corners truncated to pixels, clamped to the image (far edge from the clamped near one)."""
    height, width = image.shape[:2]
    xmin, ymin = max(0, int(box[0] * width)), max(0, int(box[1] * height))
    xmax, ymax = min(width, xmin + int(box[2] * width)), min(height, ymin + int(box[3] * height))
    return image[ymin:ymax, xmin:xmax]


def face_clip(frames: np.ndarray, detect_face: FaceBoxDetector, size: int = I3D_INPUT_SIZE) -> np.ndarray | None:
    """(T, H, W, 3) frames -> (T, size, size, 3) uint8 face crops, area-resized; None if a frame has no face."""
    faces = []
    for frame in frames:
        box = detect_face(frame)
        if box is None:
            return None
        face = crop_relative_box(frame, box)
        if face.size == 0:
            return None
        faces.append(cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA))
    return np.stack(faces)


def folder_face_clips(directory: str | Path) -> list[np.ndarray]:
    """``latentsync``: the face clip of every ``.mp4`` in ``directory``, a set of its own (no pairing by name).

    FVD compares two distributions, so the real and generated folders are read independently, as the original
    does; a video without a usable clip is left out with a warning.
    """
    clips = []
    with MediapipeFaceBoxes() as detect_face:
        for path in tqdm(list_videos(directory, suffixes=(".mp4",)), desc=f"face clips of {directory}"):
            frames = decoded_frames(path)
            clip = None if frames is None else face_clip(frames, detect_face)
            if clip is None:
                logger.warning("%s left out of FVD: fewer than 36 frames, or no face in frames 20-35", path)
            else:
                clips.append(clip)
    return clips


@torch.inference_mode()
def i3d_features(detector: Callable[..., torch.Tensor], clips: Iterable[np.ndarray], batch_size: int = 8,
                 device: torch.device | str = "cpu", protocol: str = DEFAULT_FVD_PROTOCOL) -> np.ndarray:
    """(num_clips, feature_dim) float64 features of (T, H, W, 3) uint8 clips (batched while sizes agree)."""
    settings = FVD_PROTOCOLS[protocol]
    features, batch = [], []

    def flush() -> None:
        videos = torch.from_numpy(np.stack(batch)).to(device).permute(0, 4, 1, 2, 3).float()  # (B, 3, T, H, W)
        if settings.input_scale != 1.0:
            videos = videos * settings.input_scale
        features.append(detector(videos, **settings.detector_kwargs).double().cpu().numpy())
        batch.clear()

    for clip in clips:
        if batch and clip.shape != batch[0].shape:
            flush()
        batch.append(clip)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return np.concatenate(features) if features else np.zeros((0, 0))


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 sqrtm(S_a S_b))`` of two (N, D) feature sets, N >= 2 each."""
    for name, features in (("first", features_a), ("second", features_b)):
        if len(features) < 2:
            raise InputError(f"the {name} set has {len(features)} clip(s); FVD needs at least 2 clips per set")
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    sigma_a, sigma_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    sqrt_product = linalg.sqrtm(sigma_a @ sigma_b)
    return float(np.real(np.square(mu_a - mu_b).sum() + np.trace(sigma_a + sigma_b - 2 * sqrt_product)))
