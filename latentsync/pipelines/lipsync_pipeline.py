"""``LipsyncPipeline``: regenerate the mouth of a talking-head video so it follows a new audio track.

``pipe(video, audio, video_out_path)`` is two steps: ``plan_lipsync`` decides what every output frame shows,
which windows the U-Net generates together, the audio features and which face each source frame lip-syncs
(``LipsyncPlan``); ``LipsyncExecutor`` then decodes, generates, pastes and writes what the plan says. The video and
the audio may be files or in memory (``lipsync_inputs``), and the output a file or frames in memory.

The stages the executor uses are public, so other callers (training validation, benchmarks, notebooks) can run
them one by one: ``align_faces``, ``audio_features`` / ``audio_embeds`` (Whisper), ``generate_window`` (the
latent core of ``LatentInpaintingPipeline``) and ``paste_back``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler
from omegaconf import DictConfig

from latentsync.config.unet_config import pipeline_settings
from latentsync.errors import InputError
from latentsync.face.alignment import FaceAligner
from latentsync.face.enhancement import FaceEnhancement, FaceEnhancer, load_face_enhancer
from latentsync.face.landmarks import FaceLandmarkDetector, create_landmark_detector
from latentsync.face.landmarks.selection import choose_landmark_backend, release_for_resolution
from latentsync.face.mask import load_fixed_mask, prepare_masks_and_masked_images
from latentsync.face.paste_back import paste_faces_back
from latentsync.face.warp import ALIGN_DTYPES
from latentsync.io.background_writer import BackgroundVideoWriter
from latentsync.io.encodings import ENCODINGS
from latentsync.io.original_encodes import ReencodedVideo, TwiceEncodedWriter
from latentsync.io.video_frames import FrameCollector
from latentsync.io.video_writer import VideoWriter
from latentsync.locations import DEFAULT_CHECKPOINTS_DIR, CheckpointLayout
from latentsync.models.unet import UNet3DConditionModel
from latentsync.pipelines.latent_inpainting import LatentInpaintingPipeline
from latentsync.pipelines.lipsync_executor import FacePostprocessor, FramePostprocessor, LipsyncExecutor
from latentsync.pipelines.lipsync_inputs import AudioInput, LipsyncInputs, VideoInput, check_input_paths, read_inputs
from latentsync.pipelines.lipsync_plan import LipsyncPlan, ProgressCallback, plan_lipsync
from latentsync.pipelines.lipsync_report import LipsyncReport
from latentsync.pipelines.settings import LipsyncSettings
from latentsync.utils.allocator import map_large_buffers
from latentsync.whisper.audio2feature import Audio2Feature

logger = logging.getLogger(__name__)


class LipsyncPipeline(LatentInpaintingPipeline):
    """Owns ``vae``, ``audio_encoder`` (Whisper ``Audio2Feature``), ``unet``, ``scheduler`` and a landmark detector.

    Every setting of the models lives in ``self.config`` (``register_to_config``), read from the U-Net YAML by
    ``from_unet_config``: ``resolution``, ``num_frames`` (the U-Net's window), ``video_fps``,
    ``audio_sample_rate``, ``audio_feat_length`` (Whisper frames around each video frame), ``mask_image_path``
    (None: the built-in mouth mask), the generation defaults ``num_inference_steps``, ``guidance_scale``,
    ``seed``, the landmark ``face_backend``, and where the weights it loads on demand are: ``checkpoints_dir``
    (landmark detectors, SyncNet of ``--speaker active``) and ``enhancers_dir`` (face restorers).
    The landmark detector and the face restorers are loaded on first use and kept; ``close()`` frees them.
    """

    def __init__(self, vae: AutoencoderKL, audio_encoder: Audio2Feature | None, unet: UNet3DConditionModel,
                 scheduler: DDIMScheduler, resolution: int = 256, num_frames: int = 16, video_fps: int = 25,
                 audio_sample_rate: int = 16000, audio_feat_length: Sequence[int] = (2, 2),
                 mask_image_path: str | None = None, num_inference_steps: int = 20, guidance_scale: float = 1.5,
                 seed: int = 1247, face_backend: str = "auto",
                 checkpoints_dir: str | os.PathLike = DEFAULT_CHECKPOINTS_DIR,
                 enhancers_dir: str | os.PathLike | None = None):
        super().__init__(vae=vae, unet=unet, scheduler=scheduler, num_frames=num_frames)
        self.register_modules(audio_encoder=audio_encoder)
        enhancers_dir = CheckpointLayout(checkpoints_dir).enhancers if enhancers_dir is None else enhancers_dir
        self.register_to_config(resolution=resolution, video_fps=video_fps, audio_sample_rate=audio_sample_rate,
                                audio_feat_length=list(audio_feat_length), mask_image_path=mask_image_path,
                                num_inference_steps=num_inference_steps, guidance_scale=guidance_scale, seed=seed,
                                face_backend=face_backend, checkpoints_dir=str(checkpoints_dir),
                                enhancers_dir=str(enhancers_dir))
        self.aligner = FaceAligner(resolution)
        self.mask = load_fixed_mask(resolution, mask_image_path)
        self._landmark_detector: FaceLandmarkDetector | None = None
        self._enhancers: dict[tuple[str, float], FaceEnhancer] = {}

    @classmethod
    def from_unet_config(cls, config: DictConfig, vae: AutoencoderKL, audio_encoder: Audio2Feature | None,
                         unet: UNet3DConditionModel, scheduler: DDIMScheduler,
                         checkpoints_dir: str | os.PathLike = DEFAULT_CHECKPOINTS_DIR, face_backend: str = "auto",
                         mask_image_path: str | os.PathLike | None = None,
                         enhancers_dir: str | os.PathLike | None = None) -> LipsyncPipeline:
        """A pipeline of loaded modules whose settings come from a U-Net YAML (see ``pipeline_settings``).

        ``mask_image_path`` overrides the config's ``data.mask_image_path``.
        """
        settings = pipeline_settings(config)
        if mask_image_path is not None:
            settings["mask_image_path"] = str(mask_image_path)
        return cls(vae=vae, audio_encoder=audio_encoder, unet=unet, scheduler=scheduler, face_backend=face_backend,
                   checkpoints_dir=checkpoints_dir, enhancers_dir=enhancers_dir, **settings)

    @property
    def checkpoint_layout(self) -> CheckpointLayout:
        return CheckpointLayout(self.config.checkpoints_dir)

    # ----------------------------------------------------------------------------------------- inputs

    @staticmethod
    def check_inputs(video_path: str | os.PathLike, audio_path: str | os.PathLike,
                     video_out_path: str | os.PathLike | None) -> tuple[Path, Path, Path | None]:
        """The boundary check of a file run: a decodable video and audio, and an output that is neither of them.

        Cheap (one frame and one audio packet are decoded), so commands call it before loading any model and
        then pass ``inputs_checked=True``. Raises ``InputError`` naming the file and the fix.
        """
        return check_input_paths(video_path, audio_path, video_out_path)

    # ----------------------------------------------------------------------------------------- models on demand

    @property
    def landmark_detector(self) -> FaceLandmarkDetector:
        """The detector of ``config.face_backend`` (``auto``: the release's, see ``choose_landmark_backend``).

        Created once and then reused.
        """
        if self._landmark_detector is None:
            weights_dir = self.checkpoint_layout.auxiliary
            backend = choose_landmark_backend(self.config.face_backend, release_for_resolution(self.config.resolution),
                                              weights_dir).name
            self._landmark_detector = create_landmark_detector(backend, self.unet.device, weights_dir)
        return self._landmark_detector

    def face_enhancement(self, settings: LipsyncSettings) -> FaceEnhancement | None:
        """The face restoration ``settings`` ask for (``None`` without ``face_enhance``), its restorer loaded from
        ``config.enhancers_dir`` on first use; the protected mouth is this pipeline's mask."""
        if not settings.face_enhance:
            return None
        key = (settings.face_enhance_method, settings.codeformer_fidelity)
        if key not in self._enhancers:
            self._enhancers[key] = load_face_enhancer(settings.face_enhance_method, self.config.enhancers_dir,
                                                      self.unet.device, fidelity=settings.codeformer_fidelity)
        return FaceEnhancement(self._enhancers[key], settings.face_enhance_strength,
                               settings.face_enhance_mouth_protection, mask_image_path=self.config.mask_image_path)

    def close(self) -> None:
        """Release the landmark detector and the face restorers (a later video loads them again)."""
        if self._landmark_detector is not None:
            self._landmark_detector.close()
            self._landmark_detector = None
        self._enhancers.clear()

    # ----------------------------------------------------------------------------------------- stages

    def align_faces(self, frames: torch.Tensor, affine_matrices: torch.Tensor, align_dtype: str = "float32"
                    ) -> torch.Tensor:
        """(B, H, W, 3) uint8 frames -> (B, 3, res, res) uint8 faces in the template's crop, warped in
        ``align_dtype`` (``float16``: the original's precision)."""
        return self.aligner.resize_crops(self.aligner.crop(frames, affine_matrices, dtype=ALIGN_DTYPES[align_dtype]))

    def audio_features(self, waveform: np.ndarray, context: str = "cut") -> torch.Tensor:
        """Per-layer Whisper encoder features ``(T, layers, dim)`` at 50 Hz of a 16 kHz mono waveform (``context``:
        how 30 s encoder windows cover it, see ``Audio2Feature.audio2feat``)."""
        return self.audio_encoder.audio2feat(waveform, context=context)

    def audio_embeds(self, features: torch.Tensor, start: int, count: int) -> torch.Tensor:
        """The U-Net's audio conditioning ``(count, tokens, dim)`` of output frames ``start..start+count-1``."""
        return self.audio_encoder.crop_overlap_audio_window(features, start, fps=self.config.video_fps)[:count]

    def generate_window(self, faces: torch.Tensor, audio_embeds: torch.Tensor, initial_noise: torch.Tensor,
                        generator: torch.Generator | None, num_inference_steps: int, guidance_scale: float,
                        deep_cache_interval: int | None = None, windows_per_call: int = 1) -> torch.Tensor:
        """(B, 3, res, res) uint8 aligned faces -> (B, 3, res, res) float faces in [-1, 1] with a new mouth.

        ``B`` may span several windows: full ``config.num_frames`` windows are then denoised
        ``windows_per_call`` at a time (see ``LatentInpaintingPipeline.inpaint``).
        """
        pixel_values, masked_pixel_values, masks = prepare_masks_and_masked_images(faces, self.mask)
        return self.inpaint(pixel_values, masked_pixel_values, masks, audio_embeds, num_inference_steps,
                            guidance_scale, generator, initial_noise, deep_cache_interval, windows_per_call)

    def paste_back(self, frames: torch.Tensor, faces: torch.Tensor, affine_matrices: torch.Tensor,
                   in_place: bool = False, align_dtype: str = "float32") -> torch.Tensor:
        """(B, H, W, 3) uint8 frames with ``faces`` (float, [-1, 1]) blended in where they were cropped, computed in
        ``align_dtype`` (``float16``: the original's precision).

        ``in_place`` writes into ``frames`` instead of a copy.
        """
        return paste_faces_back(frames, faces, affine_matrices, self.aligner.crop_size, in_place=in_place,
                                dtype=ALIGN_DTYPES[align_dtype])

    # ----------------------------------------------------------------------------------------- the call

    @torch.no_grad()
    def __call__(self, video: VideoInput, audio: AudioInput, video_out_path: str | os.PathLike | None = None, *,
                 fps: float | None = None, settings: LipsyncSettings | None = None,
                 progress: ProgressCallback | None = None, face_postprocessor: FacePostprocessor | None = None,
                 frame_postprocessor: FramePostprocessor | None = None, inputs_checked: bool = False,
                 pipelined: bool = True, **setting_values: Any) -> LipsyncReport:
        """Lip-sync ``video`` to ``audio``: the video with its mouth regenerated to follow the audio.

        ``video``: a file, or uint8 RGB frames ``(N, H, W, 3)`` at ``fps`` (``VideoFrames`` to give their own
        soundtrack too); ``audio``: a file, or ``(waveform, sample_rate)``. Frames are read at ``config.video_fps``
        (25), as files are. With ``video_out_path`` the result is written there (H.264 at the input's resolution,
        the new audio as AAC; it appears only when complete); without, the report holds the ``frames`` and their
        soundtrack. By default the output lasts as long as the audio (``settings.sync_mode`` chooses another rule).

        ``settings`` (``LipsyncSettings``), or its fields as keywords (``num_inference_steps=20, seed=7``; they
        override ``settings``), say how: ``None`` steps, guidance or seed take ``self.config``'s, seed -1 draws
        one (logged and in the report). ``face_postprocessor`` gets each U-Net call's generated faces right before
        paste-back; ``frame_postprocessor`` gets each window's frames with a face right after paste-back (with
        their faces' points and crop matrices, ``FramedFaces``) and returns the frames to write; ``face_enhance``
        is such a postprocessor, so the two cannot be combined. ``progress(stage, fraction)`` follows the stages.
        Bad inputs raise ``InputError`` before any model work; pass ``inputs_checked=True`` only after
        ``check_inputs`` accepted the same paths. ``pipelined=False`` decodes and encodes in the calling thread
        (same frames, slower; for debugging).
        """
        started = time.monotonic()
        map_large_buffers()  # flat memory with the worker threads (see latentsync/utils/allocator.py)
        settings = (settings or LipsyncSettings()).replace(**setting_values)
        if settings.face_enhance and frame_postprocessor is not None:
            raise InputError("face_enhance is itself a frame postprocessor; pass one or the other")
        config = self.config
        inputs = read_inputs(video, audio, video_out_path, fps, config.video_fps, config.audio_sample_rate,
                             checked=inputs_checked)
        frame_postprocessor = frame_postprocessor or self.face_enhancement(settings)
        with contextlib.ExitStack() as scope:
            if settings.staging == "original":  # the original reads its input only after re-encoding it
                staged = Path(scope.enter_context(tempfile.TemporaryDirectory(prefix="latentsync-staging-")))
                inputs = dataclasses.replace(inputs, video=ReencodedVideo(inputs.video, staged / "video.mp4"))
            plan = plan_lipsync(self, inputs, settings, scope, progress, ahead=pipelined)
            sink = scope.enter_context(self._open_sink(inputs, plan, pipelined))
            counts = LipsyncExecutor(self, plan, face_postprocessor, frame_postprocessor, progress,
                                     pipelined).run(inputs.video, sink)
        report = LipsyncReport(
            output_path=sink.path, num_output_frames=plan.frames.num_output_frames,
            num_video_frames=plan.num_video_frames, frames_without_face=counts.without_face,
            seconds=time.monotonic() - started, seed=plan.seed, frames_passed_through=plan.frames.num_passed_through,
            frames_generated=counts.generated, frames_cross_faded=counts.cross_faded, sync_mode=settings.sync_mode,
            speaker=plan.speaker, frames=None if inputs.output_path is not None else sink.frames,
            audio=plan.audio_track, sample_rate=config.audio_sample_rate)
        if counts.without_face:
            logger.warning("%d of %d output frames had no face and were passed through unchanged",
                           counts.without_face, report.num_output_frames)
        logger.info("lip-synced %s", report.summary())
        return report

    def _open_sink(self, inputs: LipsyncInputs, plan: LipsyncPlan, pipelined: bool):
        """A video writer of the output file (encoding in a background thread when ``pipelined``; the original's two
        encodes with ``staging="original"``), or a collector of the frames in memory."""
        if inputs.output_path is None:
            return FrameCollector(plan.frames.num_output_frames)
        if plan.settings.staging == "original":
            writer_type, encoding = TwiceEncodedWriter, {}
        else:
            encoder = ENCODINGS[plan.settings.encoding]
            writer_type, encoding = VideoWriter, {"crf": encoder.crf, "preset": encoder.preset}
        writer = functools.partial(BackgroundVideoWriter, writer_type=writer_type) if pipelined else writer_type
        return writer(inputs.output_path, audio=plan.audio_track, sample_rate=self.config.audio_sample_rate,
                      fps=self.config.video_fps, inputs=inputs.input_paths, **encoding)
