"""One web request (the page's or the HTTP API's): check the uploads, lip-sync in a private temporary folder, hand
the video to Gradio.

The handler is a generator on purpose: Gradio copies a yielded file into its own cache before it
resumes the generator, so the request's folder (the result and the pipeline's scratch files) is
deleted right after the hand-over while the copy stays playable and downloadable in the page.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from latentsync.app.pipeline_cache import PipelineCache
from latentsync.app.upload_limits import UploadLimits
from latentsync.app.validation import changed_timing, check_options, check_speaker, check_uploads, with_file_names
from latentsync.errors import USER_ERRORS
from latentsync.face.enhancement import DEFAULT_STRENGTH, enhancer_spec
from latentsync.face.enhancement.spec import check_face_enhancer
from latentsync.pipelines.settings import LipsyncSettings

if TYPE_CHECKING:  # the model code loads with the first pipeline, not with the page
    from latentsync.pipelines.lipsync_report import LipsyncReport
    from latentsync.pipelines.lipsync_plan import ProgressCallback

logger = logging.getLogger(__name__)

RequestOutput = tuple[str | None, str]  # (result video path or None, status Markdown)


def lipsync_request(pipelines: PipelineCache, limits: UploadLimits, video_path: str | os.PathLike | None,
                    audio_path: str | os.PathLike | None, release_name: str, num_inference_steps: float,
                    guidance_scale: float, seed: float | None, enable_deepcache: bool,
                    progress: ProgressCallback, face_enhance: bool = False, face_enhance_method: str = "gfpgan",
                    face_enhance_strength: float = DEFAULT_STRENGTH, speaker: str = "largest",
                    speaker_x: float | None = None, speaker_y: float | None = None, sync_mode: str = "bounce",
                    audio_context: str = "cut", silence: str = "generate", align_dtype: str = "float32",
                    staging: str = "none") -> Iterator[RequestOutput]:
    """The page's request: yield once, the lip-synced video and a success line, or ``None`` and a plain-words
    error line."""
    def page_settings() -> LipsyncSettings:
        enhancement = dict(face_enhance_method=face_enhance_method, face_enhance_strength=face_enhance_strength)
        return check_options(num_inference_steps, guidance_scale, seed, enable_deepcache, sync_mode=sync_mode,
                             audio_context=audio_context, silence=silence, align_dtype=align_dtype,
                             staging=staging,
                             speaker=check_speaker(speaker, speaker_x, speaker_y), face_enhance=bool(face_enhance),
                             **(enhancement if face_enhance else {}))

    try:
        for report, settings in lipsync_uploads(pipelines, limits, video_path, audio_path, release_name,
                                                page_settings, progress):
            yield str(report.output_path), success_message(report, settings)
    except Exception as error:  # the page must never show a traceback; the server log keeps it
        headline, reason = failure(error, (video_path, audio_path))
        yield None, f"**{headline}:** {reason}"


def lipsync_uploads(pipelines: PipelineCache, limits: UploadLimits, video_path: str | os.PathLike | None,
                    audio_path: str | os.PathLike | None, release_name: str,
                    settings: Callable[[], LipsyncSettings],
                    progress: ProgressCallback) -> Iterator[tuple[LipsyncReport, LipsyncSettings]]:
    """Check the uploads and ``settings()`` (called here, so its ``InputError`` is the request's), lip-sync in a
    private temporary folder and yield the report once; the folder goes when the generator is resumed."""
    settings = settings()
    video_path, audio_path = check_uploads(video_path, audio_path, limits)
    progress("loading the model", 0.0)
    if settings.face_enhance:  # a missing restorer fails before the model loads
        check_face_enhancer(settings.face_enhance_method, pipelines.enhancers_dir)
    pipeline = pipelines.get(release_name)
    with tempfile.TemporaryDirectory(prefix="latentsync-request-", ignore_cleanup_errors=True) as request_dir:
        output_path = Path(request_dir) / f"{video_path.stem}_lipsync.mp4"
        # check_uploads checked both files and the output is a fresh name in a private folder.
        yield pipeline(video_path, audio_path, output_path, settings=settings, progress=progress,
                       inputs_checked=True), settings


def failure(error: Exception, uploads: tuple[str | os.PathLike | None, ...]) -> tuple[str, str]:
    """(headline, reason) of a failed request in plain words, naming only the uploaded files; an unexpected error
    is logged with its traceback and told in one line."""
    if isinstance(error, USER_ERRORS):
        return "Could not run", with_file_names(str(error), tuple(Path(path) for path in uploads if path is not None))
    torch = sys.modules.get("torch")  # a run that failed has loaded it
    if torch is not None and isinstance(error, torch.cuda.OutOfMemoryError):
        logger.error("out of GPU memory", exc_info=error)
        return "Could not run", ("the GPU ran out of memory. Try a shorter clip, turn DeepCache off, "
                                 "or choose the 256x256 model.")
    logger.error("lip-sync request failed", exc_info=error)
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return "Lip-sync failed", f"{reason}. The details are in the server log."


def success_message(report: LipsyncReport, settings: LipsyncSettings = LipsyncSettings()) -> str:
    """The status line under the result: how much was generated, how long it took, the enhancement and the timing
    settings (sync mode, audio context, silence) that are not the defaults."""
    message = f"**Done** in {report.seconds:.1f} s: {report.num_output_frames} frames lip-synced (seed {report.seed})."
    if timing := changed_timing(settings):
        message += f" With {', '.join(timing)}."
    if report.frames_passed_through:
        message += f" {report.frames_passed_through} frames were passed through from the source video."
    if settings.face_enhance:
        title = enhancer_spec(settings.face_enhance_method).title
        message += f" Face enhanced with {title} (strength {settings.face_enhance_strength:g})."
    if report.frames_without_face:
        message += f" {report.frames_without_face} frames showed no face and were left unchanged."
    return message
