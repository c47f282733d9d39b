"""Lip-sync a whole video file: stream frames through detection, alignment, generation, paste-back, encoding.

Memory stays flat with video length. A first pass decodes the frames once to find the faces and keeps only
a 2x3 matrix per frame; a second pass decodes again in output order (forward, backward, ... when the audio
is longer than the video), generates 16 frames at a time, restores them and encodes them straight away.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import InputError
from ..face.alignment import FaceAligner
from ..face.landmarks import create_landmark_detector
from ..face.mask import load_fixed_mask, prepare_masks_and_masked_images
from ..face.restore import restore_faces
from ..io.audio_reader import load_audio
from ..io.paths import check_audio_input, check_output_path
from ..io.video_reader import VideoReader
from ..io.video_writer import HIGH_QUALITY_ENCODING, STANDARD_ENCODING, VideoWriter
from ..utils.frame_schedule import (AUDIO_SAMPLE_RATE, VIDEO_FPS, inference_windows, iter_source_frame_indices,
                                    num_frames_to_align, num_output_audio_samples)
from ..whisper.audio2feature import num_chunks
from .lipsync_pipeline import LipsyncPipeline

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]
# Applied to each window's generated aligned faces, (B, 3, res, res) in [-1, 1], right before paste-back.
FacePostprocessor = Callable[[torch.Tensor], torch.Tensor]
DETECTION_BATCH = 16


@dataclass
class LipsyncOptions:
    """User-facing knobs of one run (the defaults are those of the original ``inference.sh``, but DeepCache)."""

    num_inference_steps: int = 20
    guidance_scale: float = 1.5
    seed: int = 1247
    enable_deepcache: bool = False
    deepcache_interval: int = 3
    face_backend: str = "auto"
    mask_image_path: str | os.PathLike | None = None
    max_face_gap: int = 2  # frames without a face that may borrow the neighbours' landmarks
    high_quality: bool = False  # lower CRF and a slower x264 preset: larger files, fewer artefacts


@dataclass
class LipsyncReport:
    output_path: Path
    num_output_frames: int
    num_video_frames: int
    frames_without_face: int
    seconds: float


def choose_face_backend(name: str, device: torch.device) -> str:
    """``auto``: face_alignment on CUDA when installed (the 1.5 default), else the offline mediapipe mesh."""
    if name != "auto":
        return name
    if device.type == "cuda":
        try:
            import face_alignment  # noqa: F401
            return "face_alignment"
        except ImportError:
            pass
    return "mediapipe"


def fill_face_gaps(points: list[np.ndarray | None], max_gap: int) -> list[np.ndarray | None]:
    """Frames without a face inside a gap of at most ``max_gap`` frames borrow the nearest neighbour's points.

    Brief detector misses (motion blur, a hand in front of the mouth) then keep being lip-synced, while longer
    gaps (cutaways, the speaker turning away) stay untouched.
    """
    filled = list(points)
    index = 0
    while index < len(points):
        if points[index] is not None:
            index += 1
            continue
        end = index
        while end < len(points) and points[end] is None:
            end += 1
        before = points[index - 1] if index > 0 else None
        after = points[end] if end < len(points) else None
        if end - index <= max_gap and (before is not None or after is not None):
            for k in range(index, end):
                nearest_before = before is not None and (after is None or k - (index - 1) <= end - k)
                filled[k] = before if nearest_before else after
        index = end
    return filled


def _locate_faces(reader: VideoReader, num_frames: int, aligner: FaceAligner, backend: str, device: torch.device,
                  max_gap: int, progress: ProgressCallback | None) -> tuple[torch.Tensor, torch.Tensor]:
    """First pass: ``(matrices (n, 2, 3), has_face (n,))`` for source frames ``0..n-1``, in video order."""
    detector = create_landmark_detector(backend, device)
    points: list[np.ndarray | None] = []
    try:
        batch: list[np.ndarray] = []
        frames = reader.frames()
        with tqdm(total=num_frames, desc="detecting faces", unit="frame") as bar:
            for index, frame in enumerate(frames):
                if index == num_frames:
                    break
                batch.append(frame)
                if len(batch) == DETECTION_BATCH or index == num_frames - 1:
                    points += [None if face is None else face.points for face in detector.detect(batch)]
                    bar.update(len(batch))
                    if progress is not None:
                        progress("detecting faces", len(points) / num_frames)
                    batch = []
    finally:
        detector.close()
    if not any(p is not None for p in points):
        raise InputError(f"no face was found in any frame of {reader.path}; use a video in which the speaker's "
                         "face is visible and roughly frontal")
    points = fill_face_gaps(points, max_gap)
    has_face = torch.tensor([p is not None for p in points])
    matrices = torch.zeros(len(points), 2, 3)
    if has_face.any():
        found = np.stack([p for p in points if p is not None])
        matrices[has_face] = aligner.estimate_affine(found)  # smoothing follows the frames that have a face
    return matrices, has_face


@torch.no_grad()
def lipsync_video(pipeline: LipsyncPipeline, video_path: str | os.PathLike, audio_path: str | os.PathLike,
                  output_path: str | os.PathLike, options: LipsyncOptions | None = None,
                  progress: ProgressCallback | None = None,
                  face_postprocessor: FacePostprocessor | None = None) -> LipsyncReport:
    """Write ``output_path``: ``video_path`` with its mouth regenerated to follow ``audio_path``.

    The output lasts as long as the audio (the video is cut, or played forward and backward in turn), has the
    input's resolution, 25 fps H.264 video and the new audio as AAC. It appears only when complete.
    ``progress(stage, fraction)`` is called as the stages advance. Bad inputs raise ``InputError`` before any
    model work. ``face_postprocessor`` (e.g. ``latentsync.face.enhancement.FaceEnhancement``) gets the generated
    aligned faces of each window before they are pasted back.
    """
    options = options or LipsyncOptions()
    started = time.monotonic()
    reader = VideoReader(video_path, fps=VIDEO_FPS)  # checks the video while opening it
    video_path, audio_path = reader.path, check_audio_input(audio_path)
    output_path = check_output_path(output_path, inputs=[video_path, audio_path])
    device = pipeline.unet.device
    num_video_frames = reader.count_frames()

    waveform = load_audio(audio_path, AUDIO_SAMPLE_RATE)
    features = pipeline.audio_encoder.audio2feat(waveform)
    # The original yields 2 chunks past the end of the audio (its video ends 80 ms after its sound); stop
    # at the frame that covers the last audio sample so the output lasts exactly as long as the audio.
    frames_covering_audio = math.floor(len(waveform) * VIDEO_FPS / AUDIO_SAMPLE_RATE + 0.5)
    num_output_frames = min(num_chunks(len(features), VIDEO_FPS), frames_covering_audio)
    if num_output_frames < 1:
        raise InputError(f"{audio_path} is shorter than one video frame (40 ms); use a longer audio file")
    num_aligned = num_frames_to_align(num_video_frames, num_output_frames)
    logger.info("%s: %d frames at 25 fps; %s: %d output frames", video_path, num_video_frames, audio_path,
                num_output_frames)

    resolution = pipeline.config.resolution
    aligner = FaceAligner(resolution)
    backend = choose_face_backend(options.face_backend, device)
    matrices, has_face = _locate_faces(reader, num_aligned, aligner, backend, device, options.max_face_gap, progress)
    matrices = matrices.to(device)
    mask = load_fixed_mask(resolution, options.mask_image_path)
    generator = torch.Generator(device=device).manual_seed(options.seed)
    initial_noise = pipeline.prepare_initial_noise(resolution, resolution, generator)
    deep_cache_interval = options.deepcache_interval if options.enable_deepcache else None
    pipeline.set_progress_bar_config(disable=True)  # one bar over frames instead of one per 16-frame window

    source_indices = list(iter_source_frame_indices(num_aligned, num_output_frames))
    frames = reader.iter_frames(source_indices)
    frames_without_face = 0
    audio = waveform[:num_output_audio_samples(num_output_frames)]
    encoding = HIGH_QUALITY_ENCODING if options.high_quality else STANDARD_ENCODING
    with VideoWriter(output_path, audio=audio, sample_rate=AUDIO_SAMPLE_RATE, fps=VIDEO_FPS,
                     crf=encoding.crf, preset=encoding.preset, inputs=[video_path, audio_path]) as writer, \
            tqdm(total=num_output_frames, desc="lip-syncing", unit="frame") as bar:
        for window in inference_windows(num_output_frames):
            batch = torch.from_numpy(np.stack([next(frames) for _ in window])).to(device)
            sources = torch.tensor(source_indices[window.start:window.stop])
            with_face = has_face[sources]
            face_rows = with_face.to(device)
            frames_without_face += int((~with_face).sum())
            if with_face.any():
                window_matrices = matrices[sources[with_face]]
                faces = aligner.resize_crops(aligner.crop(batch[face_rows], window_matrices))
                pixel_values, masked_pixel_values, masks = prepare_masks_and_masked_images(faces, mask)
                audio_embeds = pipeline.audio_encoder.crop_overlap_audio_window(features, window.start)
                generated = pipeline(pixel_values, masked_pixel_values, masks, audio_embeds[:len(window)][with_face],
                                     num_inference_steps=options.num_inference_steps,
                                     guidance_scale=options.guidance_scale, generator=generator,
                                     initial_noise=initial_noise, deep_cache_interval=deep_cache_interval)
                if face_postprocessor is not None:
                    generated = face_postprocessor(generated)
                batch[face_rows] = restore_faces(batch[face_rows], generated, window_matrices, aligner.crop_size)
            for frame in batch.cpu().numpy():
                writer.write(frame)
            bar.update(len(window))
            if progress is not None:
                progress("generating", window.stop / num_output_frames)
    if frames_without_face:
        logger.warning("%d of %d output frames had no face and were passed through unchanged",
                       frames_without_face, num_output_frames)
    return LipsyncReport(output_path, num_output_frames, num_video_frames, frames_without_face,
                         time.monotonic() - started)
