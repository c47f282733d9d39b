"""One web request: check the uploads, lip-sync in a private temporary folder, hand the video to Gradio.

The handler is a generator on purpose: Gradio copies a yielded file into its own cache before it
resumes the generator, so the request's folder (the result and the pipeline's scratch files) is
deleted right after the hand-over while the copy stays playable and downloadable in the page.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import torch

from latentsync.app.pipeline_cache import PipelineCache
from latentsync.app.validation import (UploadLimits, check_face_enhance, check_options, check_speaker, check_uploads,
                                       with_file_names)
from latentsync.errors import CheckpointError, InputError
from latentsync.face.enhancement import DEFAULT_STRENGTH, FaceEnhancement
from latentsync.pipelines.lipsync_pipeline import LipsyncReport, ProgressCallback

logger = logging.getLogger(__name__)

RequestOutput = tuple[str | None, str]  # (result video path or None, status Markdown)


def lipsync_request(pipelines: PipelineCache, limits: UploadLimits, video_path: str | os.PathLike | None,
                    audio_path: str | os.PathLike | None, release_name: str, num_inference_steps: float,
                    guidance_scale: float, seed: float | None, enable_deepcache: bool,
                    progress: ProgressCallback, face_enhance: bool = False, face_enhance_method: str = "gfpgan",
                    face_enhance_strength: float = DEFAULT_STRENGTH, speaker: str = "largest",
                    speaker_x: float | None = None, speaker_y: float | None = None, sync_mode: str = "bounce",
                    audio_context: str = "cut", silence: str = "generate") -> Iterator[RequestOutput]:
    """Yield once: the lip-synced video and a success line, or ``None`` and a plain-words error line."""
    uploads = tuple(Path(path) for path in (video_path, audio_path) if path is not None)
    try:
        options = check_options(num_inference_steps, guidance_scale, seed, enable_deepcache, sync_mode, audio_context,
                                silence)
        speaker_choice = check_speaker(speaker, speaker_x, speaker_y)
        if face_enhance:
            check_face_enhance(face_enhance_method, face_enhance_strength)
        video_path, audio_path = check_uploads(video_path, audio_path, limits)
        progress("loading the model", 0.0)
        enhancer = pipelines.face_enhancer(face_enhance_method) if face_enhance else None  # missing: fail fast
        pipeline = pipelines.get(release_name)
        # The protected mouth is the region this release inpaints (its config's mask).
        enhancement = (None if enhancer is None else
                       FaceEnhancement(enhancer, float(face_enhance_strength),
                                       mask_image_path=pipeline.config.mask_image_path))
        with tempfile.TemporaryDirectory(prefix="latentsync-request-", ignore_cleanup_errors=True) as request_dir:
            output_path = Path(request_dir) / f"{video_path.stem}_lipsync.mp4"
            # check_uploads checked both files and the output is a fresh name in a private folder.
            report = pipeline(video_path=video_path, audio_path=audio_path, video_out_path=output_path,
                              **asdict(options), frame_postprocessor=enhancement, progress=progress,
                              inputs_checked=True, speaker=speaker_choice)
            yield str(report.output_path), success_message(report, enhancement, options.changed_timing())
    except (InputError, CheckpointError) as error:
        yield None, f"**Could not run:** {with_file_names(str(error), uploads)}"
    except torch.cuda.OutOfMemoryError:
        logger.exception("out of GPU memory")
        yield None, ("**Could not run:** the GPU ran out of memory. Try a shorter clip, turn DeepCache off, "
                     "or choose the 256x256 model.")
    except Exception as error:  # the page must never show a traceback; the server log keeps it
        logger.exception("lip-sync request failed")
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        yield None, f"**Lip-sync failed:** {reason}. The details are in the server log."


def success_message(report: LipsyncReport, enhancement: FaceEnhancement | None = None,
                    timing: list[str] | None = None) -> str:
    """The status line under the result: how much was generated, how long it took, the enhancement and the timing
    settings (sync mode, audio context, silence) that are not the defaults."""
    message = f"**Done** in {report.seconds:.1f} s: {report.num_output_frames} frames lip-synced (seed {report.seed})."
    if timing:
        message += f" With {', '.join(timing)}."
    if report.frames_passed_through:
        message += f" {report.frames_passed_through} frames were passed through from the source video."
    if enhancement is not None:
        message += f" Face enhanced with {enhancement.enhancer.title} (strength {enhancement.strength:g})."
    if report.frames_without_face:
        message += f" {report.frames_without_face} frames showed no face and were left unchanged."
    return message
