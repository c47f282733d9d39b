"""``LipsyncPipeline``: regenerate the mouth of a talking-head video so it follows a new audio track.

``pipe(video_path=..., audio_path=..., video_out_path=...)`` streams the video through small stages that
other callers reuse one by one: ``tracking_faces`` / ``locate_faces`` (landmarks + alignment matrices),
``audio_features`` / ``audio_embeds`` (Whisper, once per audio), ``align_faces``, ``generate_window`` (the
latent core of ``LatentInpaintingPipeline``), ``paste_back``, then the ``VideoWriter`` encodes. Memory stays
flat with video length: face tracking keeps a 2x3 matrix and 5 points per frame, generation decodes the video again in
output order (forward, backward, ... when the audio is longer than the video) and writes 16 frames at a time.

Pipelined by default (``pipelined=True``): face tracking (its own decoder, then the landmark detector) runs
ahead of generation in background threads, generation's frames are decoded ahead in another and encoded behind
in another, all joined by bounded queues (memory stays flat), so the models wait neither for the detector nor
for the decoder nor for the encoder; on CUDA, frame batches are staged in pinned memory. The frames are the
same as with ``pipelined=False``, where everything runs in the calling thread (a test checks it).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from ..errors import InputError
from ..face.alignment import FaceAligner
from ..face.framed_faces import FramedFaces
from ..face.landmarks import FaceLandmarkDetector, create_landmark_detector
from ..face.landmarks.selection import choose_landmark_backend, release_for_resolution
from ..face.mask import load_fixed_mask, prepare_masks_and_masked_images
from ..face.paste_back import paste_faces_back
from ..face.tracking import FaceTrack, GrowingFaceTrack, track_faces
from ..io.audio_reader import load_audio
from ..io.background_writer import BackgroundVideoWriter
from ..io.paths import check_audio_input, check_output_path, check_video_input
from ..io.video_reader import VideoReader
from ..io.video_writer import ENCODINGS, VideoWriter
from ..models.unet import UNet3DConditionModel
from ..utils.allocator import map_large_buffers
from ..utils.background import Prefetcher
from ..utils.frame_schedule import (group_windows, inference_windows, iter_source_frame_indices,
                                    num_frames_to_align, num_output_audio_samples)
from ..utils.seed import resolve_seed
from ..whisper.audio2feature import Audio2Feature, num_chunks
from .latent_inpainting import LatentInpaintingPipeline

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]  # (stage, fraction done of that stage)
FacePostprocessor = Callable[[torch.Tensor], torch.Tensor]  # generated faces (B, 3, res, res) in [-1, 1] -> same
FramePostprocessor = Callable[[FramedFaces], torch.Tensor]  # frames after paste-back -> (B, H, W, 3) uint8 frames
# Decoded frames the first pass keeps ahead of the landmark detector (one detection batch).
PREFETCH_FRAMES = 16
# Frame windows the second pass keeps decoded ahead of generation.
PREFETCH_WINDOWS = 2
# Frames face tracking may run ahead of generation: four windows, so the models never wait for a detector that
# keeps up on average, with the queue bounded like every other one here.
TRACKED_FRAMES_AHEAD = 64


@dataclass
class LipsyncReport:
    """What one ``pipe(...)`` call wrote."""

    output_path: Path
    num_output_frames: int
    num_video_frames: int
    frames_without_face: int
    seconds: float
    seed: int  # the noise seed used (a drawn one when -1 was asked for)


@dataclass
class _FrameWindow:
    """One window of output frames on their way through generation (``frames`` are pasted into in place)."""

    output_frames: range
    frames: torch.Tensor  # (len(output_frames), H, W, 3) uint8 on the models' device
    has_face: torch.Tensor  # (len(output_frames),) bool, on the CPU
    affine_matrices: torch.Tensor  # (faces, 2, 3) of the frames with a face
    five_points: torch.Tensor  # (faces, 5, 2) of the frames with a face (CPU)


# Pipeline setting -> its key in a U-Net YAML (the training config of the release).
UNET_CONFIG_KEYS = {
    "resolution": "data.resolution",
    "num_frames": "data.num_frames",
    "video_fps": "data.video_fps",
    "audio_sample_rate": "data.audio_sample_rate",
    "audio_feat_length": "data.audio_feat_length",
    "mask_image_path": "data.mask_image_path",
    "num_inference_steps": "run.inference_steps",
    "guidance_scale": "run.guidance_scale",
    "seed": "run.seed",
}


def settings_from_unet_config(config: DictConfig) -> dict:
    """The ``LipsyncPipeline`` settings a U-Net YAML sets; absent keys keep the pipeline's defaults."""
    settings = {name: OmegaConf.select(config, key) for name, key in UNET_CONFIG_KEYS.items()}
    settings = {name: value for name, value in settings.items() if value is not None}
    if "audio_feat_length" in settings:
        settings["audio_feat_length"] = list(settings["audio_feat_length"])
    return settings


class LipsyncPipeline(LatentInpaintingPipeline):
    """Owns ``vae``, ``audio_encoder`` (Whisper ``Audio2Feature``), ``unet``, ``scheduler`` and a landmark detector.

    Every setting lives in ``self.config`` (``register_to_config``), read from the U-Net YAML by
    ``from_unet_config``: ``resolution``, ``num_frames`` (the U-Net's window), ``video_fps``,
    ``audio_sample_rate``, ``audio_feat_length`` (Whisper frames around each video frame), ``mask_image_path``
    (None: the built-in mouth mask), the generation defaults ``num_inference_steps``, ``guidance_scale``,
    ``seed``, and the landmark ``face_backend`` with the ``landmark_weights_dir`` its weights are read from.
    The landmark detector is created on first use and kept for every later video; ``close()`` frees it.
    """

    def __init__(self, vae: AutoencoderKL, audio_encoder: Audio2Feature | None, unet: UNet3DConditionModel,
                 scheduler: DDIMScheduler, resolution: int = 256, num_frames: int = 16, video_fps: int = 25,
                 audio_sample_rate: int = 16000, audio_feat_length: Sequence[int] = (2, 2),
                 mask_image_path: str | None = None, num_inference_steps: int = 20, guidance_scale: float = 1.5,
                 seed: int = 1247, face_backend: str = "auto", landmark_weights_dir: str = "checkpoints/auxiliary"):
        super().__init__(vae=vae, unet=unet, scheduler=scheduler, num_frames=num_frames)
        self.register_modules(audio_encoder=audio_encoder)
        self.register_to_config(resolution=resolution, video_fps=video_fps, audio_sample_rate=audio_sample_rate,
                                audio_feat_length=list(audio_feat_length), mask_image_path=mask_image_path,
                                num_inference_steps=num_inference_steps, guidance_scale=guidance_scale, seed=seed,
                                face_backend=face_backend, landmark_weights_dir=str(landmark_weights_dir))
        self.aligner = FaceAligner(resolution)
        self.mask = load_fixed_mask(resolution, mask_image_path)
        self._landmark_detector: FaceLandmarkDetector | None = None

    @classmethod
    def from_unet_config(cls, config: DictConfig, vae: AutoencoderKL, audio_encoder: Audio2Feature | None,
                         unet: UNet3DConditionModel, scheduler: DDIMScheduler,
                         checkpoints_dir: str | os.PathLike = "checkpoints", face_backend: str = "auto",
                         mask_image_path: str | os.PathLike | None = None) -> LipsyncPipeline:
        """A pipeline of loaded modules whose settings come from a U-Net YAML (see ``settings_from_unet_config``).

        ``mask_image_path`` overrides the config's ``data.mask_image_path``; landmark weights are read from
        ``checkpoints_dir/auxiliary``.
        """
        settings = settings_from_unet_config(config)
        if mask_image_path is not None:
            settings["mask_image_path"] = str(mask_image_path)
        return cls(vae=vae, audio_encoder=audio_encoder, unet=unet, scheduler=scheduler, face_backend=face_backend,
                   landmark_weights_dir=str(Path(checkpoints_dir) / "auxiliary"), **settings)

    # ----------------------------------------------------------------------------------------- inputs

    @staticmethod
    def check_inputs(video_path: str | os.PathLike, audio_path: str | os.PathLike,
                     video_out_path: str | os.PathLike) -> tuple[Path, Path, Path]:
        """The boundary check of a run: a decodable video and audio, and an output that is neither of them.

        Cheap (one frame and one audio packet are decoded), so CLIs call it before loading any model and
        then pass ``inputs_checked=True``. Raises ``InputError`` naming the file and the fix.
        """
        video, audio = check_video_input(video_path), check_audio_input(audio_path)
        return video, audio, check_output_path(video_out_path, inputs=[video, audio])

    # ----------------------------------------------------------------------------------------- stages

    @property
    def landmark_detector(self) -> FaceLandmarkDetector:
        """The detector of ``config.face_backend`` (``auto``: the release's, see ``choose_landmark_backend``).

        Created once and then reused.
        """
        if self._landmark_detector is None:
            backend = choose_landmark_backend(self.config.face_backend, release_for_resolution(self.config.resolution),
                                              self.config.landmark_weights_dir).name
            self._landmark_detector = create_landmark_detector(backend, self.unet.device,
                                                               self.config.landmark_weights_dir)
        return self._landmark_detector

    def close(self) -> None:
        """Release the landmark detector (a later video creates it again)."""
        if self._landmark_detector is not None:
            self._landmark_detector.close()
            self._landmark_detector = None

    @contextlib.contextmanager
    def tracking_faces(self, reader: VideoReader, num_frames: int, max_face_gap: int = 2,
                       progress: Callable[[float], None] | None = None,
                       ahead: bool = True) -> Iterator[GrowingFaceTrack]:
        """Track source frames ``0..num_frames-1`` (alignment matrices, which frames have a face) while in use.

        Gaps of at most ``max_face_gap`` frames borrow the neighbours' landmarks. With ``ahead``, decoding and
        the detector run in background threads up to ``TRACKED_FRAMES_AHEAD`` frames ahead of the consumer (the
        track's ``extend_to`` waits for them only when it catches up); without, ``extend_to`` detects in the
        calling thread. Raises ``InputError`` before yielding when no frame has a face.
        """
        with contextlib.ExitStack() as stack:
            frames = reader.frames()
            if ahead:
                frames = stack.enter_context(Prefetcher(frames, PREFETCH_FRAMES))
            faces = track_faces(frames, num_frames, self.landmark_detector, self.aligner, max_face_gap, progress)
            if ahead:
                faces = stack.enter_context(Prefetcher(faces, TRACKED_FRAMES_AHEAD, name="face-tracking"))
            track = GrowingFaceTrack(faces, num_frames)
            if not track.find_a_face():
                raise InputError(f"no face was found in any frame of {reader.path}; use a video in which the "
                                 "speaker's face is visible and roughly frontal")
            yield track

    def locate_faces(self, reader: VideoReader, num_frames: int, max_face_gap: int = 2,
                     progress: Callable[[float], None] | None = None, prefetch: bool = True) -> FaceTrack:
        """The whole track of ``tracking_faces`` at once (``prefetch``: decode in a background thread)."""
        with self.tracking_faces(reader, num_frames, max_face_gap, progress, ahead=prefetch) as track:
            track.extend_to(num_frames)
            return track.known()

    def align_faces(self, frames: torch.Tensor, affine_matrices: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 frames -> (B, 3, res, res) uint8 faces in the template's crop."""
        return self.aligner.resize_crops(self.aligner.crop(frames, affine_matrices))

    def audio_features(self, waveform: np.ndarray) -> torch.Tensor:
        """Per-layer Whisper encoder features ``(T, layers, dim)`` at 50 Hz of a 16 kHz mono waveform."""
        return self.audio_encoder.audio2feat(waveform)

    def num_output_frames(self, features: torch.Tensor, num_samples: int) -> int:
        """Output frames for an audio of ``num_samples``: one per Whisper chunk, but not past the audio's end.

        The original yields 2 chunks past the end of the audio (its video ends 80 ms after its sound); stop at
        the frame that covers the last audio sample so the output lasts exactly as long as the audio.
        """
        fps = self.config.video_fps
        frames_covering_audio = math.floor(num_samples * fps / self.config.audio_sample_rate + 0.5)
        return min(num_chunks(len(features), fps), frames_covering_audio)

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
                   in_place: bool = False) -> torch.Tensor:
        """(B, H, W, 3) uint8 frames with ``faces`` (float, [-1, 1]) blended in where they were cropped.

        ``in_place`` writes into ``frames`` instead of a copy.
        """
        return paste_faces_back(frames, faces, affine_matrices, self.aligner.crop_size, in_place=in_place)

    # ----------------------------------------------------------------------------------------- the video call

    @torch.no_grad()
    def __call__(self, video_path: str | os.PathLike, audio_path: str | os.PathLike,
                 video_out_path: str | os.PathLike, num_inference_steps: int | None = None,
                 guidance_scale: float | None = None, seed: int | None = None, enable_deepcache: bool = False,
                 deepcache_interval: int = 3, max_face_gap: int = 2,
                 face_postprocessor: FacePostprocessor | None = None,
                 frame_postprocessor: FramePostprocessor | None = None, encoding: str = "standard",
                 progress: ProgressCallback | None = None, inputs_checked: bool = False,
                 pipelined: bool = True, windows_per_call: int = 1) -> LipsyncReport:
        """Write ``video_out_path``: ``video_path`` with its mouth regenerated to follow ``audio_path``.

        The output lasts as long as the audio (the video is cut, or played forward and backward in turn), has
        the input's resolution, ``config.video_fps`` H.264 video and the new audio as AAC; it appears only when
        complete. ``None`` settings take ``self.config``'s; seed -1 draws a random seed (logged, and in the report).
        ``face_postprocessor`` gets each U-Net call's generated faces right before paste-back;
        ``frame_postprocessor`` (face enhancement) gets each window's frames with a face right after paste-back,
        with their faces' points and crop matrices (``FramedFaces``), and returns the frames to write.
        ``encoding`` names the x264 settings (``ENCODINGS``): ``standard`` (the original's CRF 18 ``medium``),
        ``high_quality`` (CRF 13 ``slow``: larger file, fewer artefacts) or ``fast`` (CRF 16 ``veryfast``: about the
        standard's fidelity, 2-3x faster to encode, ~15% larger).
        ``progress(stage, fraction)`` follows the
        stages. Bad inputs raise ``InputError`` before any model work; pass ``inputs_checked=True`` only after
        ``check_inputs`` accepted the same paths. ``pipelined=False`` decodes and encodes in the calling thread
        (same frames, slower; for debugging). ``windows_per_call`` > 1 denoises up to that many consecutive
        16-frame windows in one U-Net batch (faster on a GPU with memory to spare; equal per window to the default
        within float noise); a window with a faceless frame, or the shorter last one, still runs alone.
        """
        started = time.monotonic()
        map_large_buffers()  # flat memory with the worker threads (see latentsync/utils/allocator.py)
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}")
        if windows_per_call < 1:
            raise ValueError(f"windows_per_call must be at least 1, got {windows_per_call}")
        if not inputs_checked:
            video_path, audio_path, video_out_path = self.check_inputs(video_path, audio_path, video_out_path)
        config = self.config
        num_inference_steps = config.num_inference_steps if num_inference_steps is None else num_inference_steps
        guidance_scale = config.guidance_scale if guidance_scale is None else guidance_scale
        seed = resolve_seed(config.seed if seed is None else seed)
        reader = VideoReader(video_path, fps=config.video_fps)
        num_video_frames = reader.count_frames()
        device = self.unet.device

        waveform = load_audio(audio_path, config.audio_sample_rate)
        features = self.audio_features(waveform)
        num_output_frames = self.num_output_frames(features, len(waveform))
        if num_output_frames < 1:
            raise InputError(f"{audio_path} is shorter than one video frame; use a longer audio file")
        num_aligned = num_frames_to_align(num_video_frames, num_output_frames)
        logger.info("%s: %d frames at %g fps; %s: %d output frames", video_path, num_video_frames,
                    config.video_fps, audio_path, num_output_frames)

        generator = torch.Generator(device=device).manual_seed(seed)
        initial_noise = self.prepare_initial_noise(config.resolution, config.resolution, generator)
        deep_cache_interval = deepcache_interval if enable_deepcache else None
        self.set_progress_bar_config(disable=True)  # one bar over frames instead of one per window

        source_indices = list(iter_source_frame_indices(num_aligned, num_output_frames))
        windows = inference_windows(num_output_frames, config.num_frames)
        window_sources = [torch.tensor(source_indices[window.start:window.stop]) for window in windows]
        pin = pipelined and device.type == "cuda"
        batches = self._frame_batches(reader.iter_frames(source_indices), windows, pin)  # one per window
        frames_without_face = 0
        audio = waveform[:num_output_audio_samples(num_output_frames, config.video_fps, config.audio_sample_rate)]
        encoder = ENCODINGS[encoding]
        writer_type = BackgroundVideoWriter if pipelined else VideoWriter
        with self.tracking_faces(reader, num_aligned, max_face_gap,
                                 None if progress is None else lambda done: progress("detecting faces", done),
                                 ahead=pipelined) as track, \
                writer_type(video_out_path, audio=audio, sample_rate=config.audio_sample_rate, fps=config.video_fps,
                         crf=encoder.crf, preset=encoder.preset, inputs=[video_path, audio_path]) as writer, \
                Prefetcher(batches, max(PREFETCH_WINDOWS, windows_per_call)) if pipelined \
                else contextlib.nullcontext(batches) as batches, \
                tqdm(total=num_output_frames, desc="lip-syncing", unit="frame") as bar:
            def may_share_a_call(window: range, sources: torch.Tensor) -> bool:
                track.extend_to(int(sources.max()) + 1)  # waits for the tracker if generation caught up with it
                return len(window) == config.num_frames and bool(track.has_face[sources].all())

            for group in group_windows(map(may_share_a_call, windows, window_sources), windows_per_call):
                in_call = []
                for index in group:
                    rows = track.has_face[window_sources[index]]
                    sources = window_sources[index][rows]
                    in_call.append(_FrameWindow(windows[index], next(batches).to(device, non_blocking=pin), rows,
                                                track.affine_matrices[sources].to(device), track.five_points[sources]))
                    frames_without_face += int((~rows).sum())
                with_faces = [window for window in in_call if window.has_face.any()]
                if with_faces:
                    self._lipsync_windows(with_faces, features, initial_noise, generator, num_inference_steps,
                                          guidance_scale, deep_cache_interval, face_postprocessor,
                                          frame_postprocessor)
                for window in in_call:
                    for frame in window.frames.cpu().numpy():
                        writer.write(frame)
                    bar.update(len(window.output_frames))
                    if progress is not None:
                        progress("generating", window.output_frames.stop / num_output_frames)
        if frames_without_face:
            logger.warning("%d of %d output frames had no face and were passed through unchanged",
                           frames_without_face, num_output_frames)
        return LipsyncReport(writer.path, num_output_frames, num_video_frames, frames_without_face,
                             time.monotonic() - started, seed)

    def _lipsync_windows(self, windows: list[_FrameWindow], features: torch.Tensor, initial_noise: torch.Tensor,
                         generator: torch.Generator, num_inference_steps: int, guidance_scale: float,
                         deep_cache_interval: int | None, face_postprocessor: FacePostprocessor | None,
                         frame_postprocessor: FramePostprocessor | None) -> None:
        """Regenerate the faces of consecutive windows in one U-Net call and paste them into their frames."""
        faces = torch.cat([self.align_faces(window.frames[window.has_face.to(window.frames.device)],
                                            window.affine_matrices) for window in windows])
        audio_embeds = torch.cat([self.audio_embeds(features, window.output_frames.start,
                                                    len(window.output_frames))[window.has_face] for window in windows])
        generated = self.generate_window(faces, audio_embeds, initial_noise, generator, num_inference_steps,
                                         guidance_scale, deep_cache_interval, windows_per_call=len(windows))
        if face_postprocessor is not None:
            generated = face_postprocessor(generated)
        for window, window_faces in zip(windows, generated.split([len(w.affine_matrices) for w in windows])):
            rows = window.has_face.to(window.frames.device)  # frames[rows] is a gathered copy: paste into it
            pasted = self.paste_back(window.frames[rows], window_faces, window.affine_matrices, in_place=True)
            if frame_postprocessor is not None:
                pasted = frame_postprocessor(FramedFaces(pasted, window.five_points, window.affine_matrices,
                                                         self.aligner.crop_size, self.config.resolution))
            window.frames[rows] = pasted

    @staticmethod
    def _frame_batches(frames: Iterator[np.ndarray], windows: list[range], pin: bool) -> Iterator[torch.Tensor]:
        """(len(window), H, W, 3) uint8 CPU tensors, one per window; in page-locked memory when ``pin`` (CUDA:
        the copy to the device is then asynchronous)."""
        for window in windows:
            batch = torch.from_numpy(np.stack([next(frames) for _ in window]))
            yield batch.pin_memory() if pin else batch
