"""``LipsyncExecutor``: decode, generate, paste and write what a ``LipsyncPlan`` says, window by window.

Memory stays flat with video length: frames are decoded in output order (forward, backward, ... as the plan
says) one window ahead, and each window is written as soon as it is pasted. Pipelined (the default), decoding
runs ahead in a background thread and the sink (an encoder, see ``BackgroundVideoWriter``) behind, joined by
bounded queues, so the models wait for neither; on CUDA the windows are staged in pinned memory. Without
pipelining everything runs in the calling thread, with the same frames.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from latentsync.face.framed_faces import FramedFaces
from latentsync.io.video_source import VideoSource
from latentsync.pipelines.frame_plan import PlannedWindow
from latentsync.pipelines.lipsync_plan import LipsyncPlan, ProgressCallback
from latentsync.utils.background import Prefetcher

FacePostprocessor = Callable[[torch.Tensor], torch.Tensor]  # generated faces (B, 3, res, res) in [-1, 1] -> same
FramePostprocessor = Callable[[FramedFaces], torch.Tensor]  # frames after paste-back -> (B, H, W, 3) uint8 frames
# Frame windows decoded ahead of generation.
PREFETCH_WINDOWS = 2


class FrameSink(Protocol):
    """Where output frames go: a video writer, or a collector of frames in memory (``FrameCollector``)."""

    def write(self, frame: np.ndarray) -> None:
        """Take one (H, W, 3) uint8 RGB frame (it belongs to the sink afterwards)."""


@dataclass(frozen=True)
class OutputCounts:
    """How the written frames came about (frames the plan passes through are counted by the plan)."""

    generated: int = 0  # lip-synced outright
    cross_faded: int = 0  # a lip-synced frame blended over the source (silence edges)
    without_face: int = 0  # planned for lip sync, but no face was found: written unchanged

    def __add__(self, other: OutputCounts) -> OutputCounts:
        return OutputCounts(self.generated + other.generated, self.cross_faded + other.cross_faded,
                            self.without_face + other.without_face)


@dataclass
class WindowFrames:
    """A planned window's frames on their way through generation (``frames`` are pasted into in place)."""

    planned: PlannedWindow
    frames: torch.Tensor  # (len, H, W, 3) uint8 on the models' device
    lipsync_rows: torch.Tensor  # (len,) bool on the CPU: frames the plan generates that show a face
    affine_matrices: torch.Tensor  # (rows, 2, 3) of the lip-sync rows
    five_points: torch.Tensor  # (rows, 5, 2) of the lip-sync rows (CPU)

    def counts(self) -> OutputCounts:
        """Of the written frames: generated, cross-faded, planned but faceless."""
        written = slice(0, self.planned.num_written)
        weights = torch.from_numpy(self.planned.generate_weights[written])
        rows = self.lipsync_rows[written]
        return OutputCounts(int((rows & (weights == 1)).sum()), int((rows & (weights < 1)).sum()),
                            int(((weights > 0) & ~rows).sum()))


def group_windows(generate_together: Iterable[bool], windows_per_call: int) -> Iterator[list[int]]:
    """Window indices per U-Net call: up to ``windows_per_call`` consecutive windows that may share a call, in order.

    ``generate_together[i]`` says whether window ``i`` may be batched with its neighbours (a full window with a
    face in every frame); any other window gets a call of its own, so its frames are windowed as with one
    window per call. E.g. [T, T, F, T, T, T], 2 -> [0, 1], [2], [3, 4], [5]. Lazy: a group is yielded as soon
    as it is complete, reading at most one flag past it.
    """
    if windows_per_call < 1:
        raise ValueError(f"windows_per_call must be at least 1, got {windows_per_call}")
    group: list[int] = []
    for index, together in enumerate(generate_together):
        if group and not together:  # a window that runs alone closes the open group
            yield group
            group = []
        group.append(index)
        if not together or len(group) == windows_per_call:
            yield group
            group = []
    if group:
        yield group


def cross_fade(source: torch.Tensor, generated: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """uint8 frames ``(B, H, W, 3)``: ``weights[i]`` of ``generated[i]`` over ``source[i]``, rounded (1: generated)."""
    weights = weights.to(device=source.device, dtype=torch.float32).view(-1, 1, 1, 1)
    blended = torch.lerp(source.float(), generated.float(), weights)
    return blended.round_().clamp_(0, 255).to(torch.uint8)


class LipsyncExecutor:
    """Carries out one plan with one pipeline's models (see the module docstring)."""

    def __init__(self, pipeline, plan: LipsyncPlan, face_postprocessor: FacePostprocessor | None = None,
                 frame_postprocessor: FramePostprocessor | None = None, progress: ProgressCallback | None = None,
                 pipelined: bool = True):
        self.pipeline = pipeline
        self.plan = plan
        self.face_postprocessor = face_postprocessor
        self.frame_postprocessor = frame_postprocessor
        self.progress = progress
        self.pipelined = pipelined
        self.device = pipeline.unet.device
        self.pin = pipelined and self.device.type == "cuda"
        resolution = pipeline.config.resolution
        self.generator = torch.Generator(device=self.device).manual_seed(plan.seed)
        self.initial_noise = pipeline.prepare_initial_noise(resolution, resolution, self.generator)

    def run(self, video: VideoSource, sink: FrameSink) -> OutputCounts:
        """Generate every window and write its output frames to ``sink``, in order."""
        plan, num_output_frames = self.plan, self.plan.frames.num_output_frames
        self.pipeline.set_progress_bar_config(disable=True)  # one bar over frames instead of one per window
        counts = OutputCounts()
        with contextlib.ExitStack() as scope:
            batches = self._window_batches(video)
            if self.pipelined:
                batches = scope.enter_context(Prefetcher(batches, max(PREFETCH_WINDOWS,
                                                                      plan.settings.windows_per_call)))
            bar = scope.enter_context(tqdm(total=num_output_frames, desc="lip-syncing", unit="frame"))
            for group in self._call_groups():
                in_call = [self._window_frames(plan.windows[index], next(batches)) for index in group]
                with_faces = [window for window in in_call if window.lipsync_rows.any()]
                if with_faces:
                    self._lipsync(with_faces)
                for window in in_call:
                    for frame in window.frames[:window.planned.num_written].cpu().numpy():
                        sink.write(frame)
                    counts += window.counts()
                    bar.update(window.planned.num_written)
                    if self.progress is not None:
                        done = window.planned.output_frames.start + window.planned.num_written
                        self.progress("generating", done / num_output_frames)
        return counts

    def _window_batches(self, video: VideoSource) -> Iterator[torch.Tensor]:
        """(len(window), H, W, 3) uint8 CPU tensors, one per window, decoded in plan order; in page-locked memory
        on CUDA (the copy to the device is then asynchronous)."""
        frames = video.iter_frames(self.plan.frames.source_frames.tolist())
        for window in self.plan.windows:
            batch = torch.from_numpy(np.stack([next(frames) for _ in range(len(window))]))
            yield batch.pin_memory() if self.pin else batch

    def _windows_with_faces_known(self) -> Iterator[PlannedWindow]:
        """Each window once the faces of its generated frames are tracked (waiting for the tracker only when
        generation has caught up with it)."""
        for window in self.plan.windows:
            generated = window.generated_sources
            if len(generated):
                self.plan.faces.extend_to(int(generated.max()) + 1)
            yield window

    def _fills_a_call(self, window: PlannedWindow) -> bool:
        """A full window generated in every frame, with a face in every frame: it may share a U-Net call."""
        return (len(window) == self.pipeline.config.num_frames and bool((window.generate_weights > 0).all())
                and bool(self.plan.faces.has_face[torch.from_numpy(window.source_frames)].all()))

    def _call_groups(self) -> Iterator[list[int]]:
        """Indices of the windows of each U-Net call (``windows_per_call`` full windows at most)."""
        return group_windows(map(self._fills_a_call, self._windows_with_faces_known()),
                             self.plan.settings.windows_per_call)

    def _window_frames(self, planned: PlannedWindow, batch: torch.Tensor) -> WindowFrames:
        faces = self.plan.faces
        sources = torch.from_numpy(planned.source_frames)
        generated = torch.from_numpy(planned.generate_weights > 0)
        rows = generated.clone()
        rows[generated] = faces.has_face[sources[generated]]
        return WindowFrames(planned, batch.to(self.device, non_blocking=self.pin), rows,
                            faces.affine_matrices[sources[rows]].to(self.device), faces.five_points[sources[rows]])

    def _lipsync(self, windows: list[WindowFrames]) -> None:
        """Regenerate the faces of consecutive windows in one U-Net call and paste them into their frames."""
        pipeline, plan = self.pipeline, self.plan
        align_dtype = plan.settings.align_dtype
        faces = torch.cat([pipeline.align_faces(window.frames[window.lipsync_rows.to(window.frames.device)],
                                                window.affine_matrices, align_dtype) for window in windows])
        audio_embeds = torch.cat([pipeline.audio_embeds(plan.audio_features, window.planned.output_frames.start,
                                                        len(window.planned))[window.lipsync_rows]
                                  for window in windows])
        generated = pipeline.generate_window(faces, audio_embeds, self.initial_noise, self.generator,
                                             plan.num_inference_steps, plan.guidance_scale, plan.deep_cache_interval,
                                             windows_per_call=len(windows))
        if self.face_postprocessor is not None:
            generated = self.face_postprocessor(generated)
        for window, window_faces in zip(windows, generated.split([len(w.affine_matrices) for w in windows])):
            rows = window.lipsync_rows.to(window.frames.device)  # frames[rows] is a gathered copy: paste into it
            pasted = pipeline.paste_back(window.frames[rows], window_faces, window.affine_matrices, in_place=True,
                                         align_dtype=align_dtype)
            if self.frame_postprocessor is not None:
                pasted = self.frame_postprocessor(FramedFaces(pasted, window.five_points, window.affine_matrices,
                                                              pipeline.aligner.crop_size, pipeline.config.resolution))
            weights = torch.from_numpy(window.planned.generate_weights)[window.lipsync_rows]
            window.frames[rows] = pasted if bool((weights == 1).all()) else cross_fade(window.frames[rows], pasted,
                                                                                       weights)
