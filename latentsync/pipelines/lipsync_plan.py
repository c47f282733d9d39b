"""The plan of a lip-sync run, made before any frame is generated: what each output frame shows, the windows the
U-Net generates together, the audio features that condition them and which face each source frame lip-syncs.

``plan_lipsync`` makes it from the inputs and the settings; ``LipsyncExecutor`` carries it out. Face tracking is
the one part that keeps running while the plan is executed: it is data (a 2x3 matrix, 5 points and a flag per
source frame), filled in order by a tracker that may run ahead in background threads, and the executor asks for
each window's faces right before it generates them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from latentsync.errors import InputError, NoFaceError
from latentsync.face.speaker_selection import SpeakerSelector
from latentsync.face.tracking import GrowingFaceTrack, batched, detect_faces, track_faces
from latentsync.io.video_source import VideoSource
from latentsync.pipelines.frame_plan import FramePlan, PlannedWindow, count_audio_frames, plan_frames
from latentsync.pipelines.lipsync_inputs import LipsyncInputs
from latentsync.pipelines.settings import LipsyncSettings
from latentsync.pipelines.silence import silence_weights
from latentsync.utils.background import Prefetcher
from latentsync.utils.seed import resolve_seed

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]  # (stage, fraction done of that stage)
# Decoded frames the face tracker keeps ahead of the landmark detector (one detection batch).
PREFETCH_FRAMES = 16
# Frames face tracking may run ahead of generation: four windows, so the models never wait for a detector that
# keeps up on average, with the queue bounded like every other one here.
TRACKED_FRAMES_AHEAD = 64


@dataclass(frozen=True)
class LipsyncPlan:
    """Everything a run decided before generating (see the module docstring)."""

    settings: LipsyncSettings
    num_inference_steps: int  # the settings' or the U-Net config's
    guidance_scale: float
    seed: int  # the noise seed used (a drawn one when -1 was asked for)
    frames: FramePlan
    windows: list[PlannedWindow]
    audio_features: torch.Tensor  # Whisper features (T, layers, dim) at 50 Hz
    audio_track: np.ndarray  # the output's soundtrack: the audio cut to the output, or padded with silence
    faces: GrowingFaceTrack  # per source frame: the lip-synced face's alignment (filled as tracking goes)
    speaker: str  # the face choice, with the tracks chosen
    num_video_frames: int

    @property
    def deep_cache_interval(self) -> int | None:
        return self.settings.deepcache_interval if self.settings.enable_deepcache else None


def plan_lipsync(pipeline, inputs: LipsyncInputs, settings: LipsyncSettings, scope: contextlib.ExitStack,
                 progress: ProgressCallback | None = None, ahead: bool = True) -> LipsyncPlan:
    """The plan of lip-syncing ``inputs`` with ``pipeline`` (a ``LipsyncPipeline``) under ``settings``.

    Face tracking starts here and lives in ``scope`` (with ``ahead``, in background threads that run up to
    ``TRACKED_FRAMES_AHEAD`` frames ahead of generation). Raises ``InputError`` for an audio shorter than a frame
    and for a video in which no frame has a face.
    """
    config = pipeline.config
    fps, sample_rate = config.video_fps, config.audio_sample_rate
    seed = resolve_seed(config.seed if settings.seed is None else settings.seed)
    num_video_frames = inputs.video.count_frames()
    waveform = inputs.waveform
    features = pipeline.audio_features(waveform, settings.audio_context)
    audio_frames = count_audio_frames(len(waveform), len(features), fps, sample_rate)
    if audio_frames.num_audio_frames < 1:
        raise InputError(f"{inputs.audio_name} is shorter than one video frame; use a longer audio")
    weights = None if settings.silence == "generate" else silence_weights(
        waveform, audio_frames.num_audio_frames, fps, sample_rate, settings.silence_db, settings.silence_min_seconds)
    frames = plan_frames(settings.sync_mode, num_video_frames, audio_frames.num_audio_frames, weights,
                         audio_frames.num_generated_frames)
    faces, speaker = track_source_faces(pipeline, inputs.video, frames.num_frames_to_track, settings, scope,
                                        None if progress is None else lambda done: progress("detecting faces", done),
                                        ahead)
    logger.info("%s: %d frames at %g fps; %s: %d frames; %s: %d output frames; speaker %s", inputs.video.name,
                num_video_frames, fps, inputs.audio_name, audio_frames.num_audio_frames, settings.sync_mode,
                frames.num_output_frames, speaker)
    return LipsyncPlan(
        settings=settings,
        num_inference_steps=config.num_inference_steps if settings.num_inference_steps is None
        else settings.num_inference_steps,
        guidance_scale=config.guidance_scale if settings.guidance_scale is None else settings.guidance_scale,
        seed=seed, frames=frames, windows=frames.windows(config.num_frames), audio_features=features,
        audio_track=frames.audio_track(waveform, fps, sample_rate), faces=faces, speaker=speaker,
        num_video_frames=num_video_frames)


def track_source_faces(pipeline, video: VideoSource, num_frames: int, settings: LipsyncSettings,
                       scope: contextlib.ExitStack, progress: Callable[[float], None] | None = None,
                       ahead: bool = True) -> tuple[GrowingFaceTrack, str]:
    """The face track of source frames ``0..num_frames-1`` and how its face was chosen.

    ``largest`` (the original's rule) detects each frame's largest face as tracking goes; any other speaker
    choice first plans the chosen face of every frame (a pass over the video), then aligns those faces. Gaps of at
    most ``settings.max_face_gap`` frames borrow their neighbours' face. ``NoFaceError`` when no frame has a face.
    """
    detector = pipeline.landmark_detector
    if settings.speaker.mode == "largest":
        frames = video.frames()
        if ahead:
            frames = scope.enter_context(Prefetcher(frames, PREFETCH_FRAMES))
        face_batches, speaker = detect_faces(frames, num_frames, detector), "largest"
    else:
        selector = SpeakerSelector(settings.speaker, settings.max_face_gap, pipeline.checkpoint_layout.syncnet_v2,
                                   device=str(pipeline.unet.device))
        speaker_plan = selector.plan(video, num_frames, detector)
        face_batches, speaker = batched(speaker_plan.faces), speaker_plan.describe()
    tracked = track_faces(face_batches, num_frames, pipeline.aligner, settings.max_face_gap, progress)
    if ahead:
        tracked = scope.enter_context(Prefetcher(tracked, TRACKED_FRAMES_AHEAD, name="face-tracking"))
    faces = GrowingFaceTrack(tracked, num_frames)
    if not faces.find_a_face():
        raise NoFaceError(f"no face was found in any frame of {video.name}; use a video in which the speaker's face "
                         "is visible and roughly frontal")
    return faces, speaker
