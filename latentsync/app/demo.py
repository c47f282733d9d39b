"""The demo page: uploads and settings on the left, progress, result and status on the right.

``build_demo`` only wires components to ``lipsync_request`` and ``UploadPreviews``; every decision (checks,
model choice, clean-up, error wording, previews) lives in the modules it imports, which are tested without a
browser. The uploads stay on the page after a run, so another setting needs no new upload.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from latentsync.app.lipsync_api import LIPSYNC_QUEUE, add_lipsync_api
from latentsync.app.pipeline_cache import PipelineCache
from latentsync.app.preview import UploadPreviews
from latentsync.app.request import RequestOutput, lipsync_request
from latentsync.app.upload_limits import UploadLimits
from latentsync.app.validation import GUIDANCE_SCALE_RANGE, INFERENCE_STEPS_RANGE, SEED_RANGE
from latentsync.errors import InputError
from latentsync.face.enhancement import enhancer_specs
from latentsync.pipelines.settings import LipsyncSettings

CHOICES = {name: spec.choices for name, spec in LipsyncSettings.specs().items()}

FETCH_HINT = ("Fetch the weights with `./setup_env.sh` (LatentSync 1.6 at 512x512; add `--with-1.5` for the "
              "256x256 release), then restart the demo.")
SPEAKER_CHOICES = [("Largest face of each frame", "largest"), ("Face nearest the centre", "center"),
                   ("Face that is speaking", "active"), ("Face at a point (X, Y)", "point")]
INTRO = ("# LatentSync\nUpload a video of a talking face and the audio it should say; LatentSync regenerates "
         "the mouth so the lips follow the audio. By default the result lasts as long as the audio.")


def missing_checkpoints(pipelines: PipelineCache, startup_problem: str | None) -> str:
    """What is missing and the command that fetches it, for the terminal and the page; empty when ready."""
    if not pipelines.release_names:
        return (f"No LatentSync U-Net checkpoint was found in {pipelines.checkpoints_dir} (looked for "
                f"latentsync_unet.pt and latentsync-1.5/latentsync_unet.pt). {FETCH_HINT}")
    if startup_problem:
        return f"The model could not be loaded: {startup_problem} {FETCH_HINT}"
    return ""


def checkpoint_banner(pipelines: PipelineCache, startup_problem: str | None) -> str:
    """Markdown explaining what is missing and how to fetch it; empty when the models are ready."""
    missing = missing_checkpoints(pipelines, startup_problem)
    return f"### Checkpoints missing\n{missing}" if missing else ""


def build_demo(pipelines: PipelineCache, limits: UploadLimits, startup_problem: str | None = None,
               keep_results_seconds: int = 3600, examples: list[list[str]] | None = None) -> gr.Blocks:
    """The queued page (one run at a time); uploads and results leave Gradio's cache after ``keep_results_seconds``.

    ``examples``: ``[video, audio]`` pairs offered under the uploads (the original's demo clips, ``demo_examples``).
    """
    banner = checkpoint_banner(pipelines, startup_problem)
    previews = UploadPreviews()

    def show_video(video_path: str | None, *_: object) -> Iterator[str | None]:
        # A generator: Gradio copies the yielded preview into its cache before the folder is removed.
        with tempfile.TemporaryDirectory(prefix="latentsync-preview-", ignore_cleanup_errors=True) as folder:
            yield previews.shown(video_path, Path(folder))

    releases = pipelines.release_names
    defaults = pipelines.generation_defaults()
    with gr.Blocks(title="LatentSync", analytics_enabled=False,
                   delete_cache=(keep_results_seconds, keep_results_seconds)) as demo:
        gr.Markdown(INTRO)
        gr.Markdown(banner, visible=bool(banner), elem_id="checkpoint-banner")
        with gr.Row():
            with gr.Column():
                video = gr.Video(label="Video with a face", sources=["upload"], elem_id="video-input")
                audio = gr.Audio(label="Audio the lips should follow", sources=["upload", "microphone"],
                                 type="filepath", elem_id="audio-input")
                release = gr.Dropdown(releases, value=releases[0] if releases else None, label="Model",
                                      interactive=len(releases) > 1)
                with gr.Row():
                    steps = gr.Slider(*INFERENCE_STEPS_RANGE, value=defaults.num_inference_steps, step=1,
                                      label="Inference steps", info="more steps: finer detail, slower",
                                      elem_id="steps-slider")
                    guidance = gr.Slider(*GUIDANCE_SCALE_RANGE, value=defaults.guidance_scale, step=0.1,
                                         label="Guidance scale", info="higher: stronger lip movement",
                                         elem_id="guidance-slider")
                with gr.Row():
                    seed = gr.Number(defaults.seed, label="Seed", info="-1: a random one", precision=0,
                                     minimum=SEED_RANGE[0], maximum=SEED_RANGE[1], elem_id="seed-input")
                    deepcache = gr.Checkbox(defaults.enable_deepcache, label="DeepCache",
                                            info="faster, slightly less detail")
                with gr.Row():
                    face_enhance = gr.Checkbox(False, label="Face Enhance", elem_id="face-enhance",
                                               info="restore the face after lip sync; the new mouth is kept")
                    enhance_method = gr.Dropdown([(spec.title, method) for method, spec in enhancer_specs().items()],
                                                 value=defaults.face_enhance_method, label="Enhancer", elem_id="face-enhance-method")
                    enhance_strength = gr.Slider(0.0, 1.0, value=defaults.face_enhance_strength, step=0.05, label="Enhance strength",
                                                 info="0 = as generated, 1 = fully restored",
                                                 elem_id="face-enhance-strength")
                with gr.Row():
                    speaker = gr.Dropdown(SPEAKER_CHOICES, value="largest", label="Face to lip-sync",
                                          info="with several faces in view", elem_id="speaker")
                    speaker_x = gr.Number(None, label="X (Point)", info="pixels from the left", minimum=0,
                                          precision=0, elem_id="speaker-x")
                    speaker_y = gr.Number(None, label="Y (Point)", info="pixels from the top", minimum=0,
                                          precision=0, elem_id="speaker-y")
                with gr.Row():
                    sync_mode = gr.Dropdown(list(CHOICES["sync_mode"]), value=defaults.sync_mode, label="Lengths differ",
                                            info="bounce: video forward and back; loop; remap: stretched; cut_off: "
                                                 "the shorter; silence: the longer", elem_id="sync-mode")
                    audio_context = gr.Dropdown(list(CHOICES["audio_context"]), value=defaults.audio_context,
                                                label="Audio context", info="overlap: no glitch every 30 s",
                                                elem_id="audio-context")
                    silence = gr.Dropdown(list(CHOICES["silence"]), value=defaults.silence, label="In silence",
                                          info="keep: the source mouth stays still in pauses", elem_id="silence-mode")
                with gr.Row():
                    align_dtype = gr.Dropdown(list(CHOICES["align_dtype"]), value=defaults.align_dtype,
                                              label="Alignment precision", info="float16: the original's crops and "
                                              "pastes", elem_id="align-dtype")
                    staging = gr.Dropdown(list(CHOICES["staging"]), value=defaults.staging, label="Staging",
                                          info="original: re-encode the input, encode the output twice, as the "
                                               "original", elem_id="staging")
                gr.Markdown(limits.describe())
                if examples:
                    gr.Examples(examples, inputs=[video, audio], outputs=video, fn=show_video, run_on_click=True,
                                cache_examples=False, label="Demo clips", elem_id="demo-examples")
                run = gr.Button("Lip-sync", variant="primary", interactive=not banner, elem_id="run-button")
            with gr.Column():
                result = gr.Video(label="Lip-synced video", interactive=False, buttons=["download"],
                                  elem_id="result-video")
                status = gr.Markdown(elem_id="status")

        def run_request(video_path: str | None, audio_path: str | None, release_name: str, num_inference_steps: float,
                        guidance_scale: float, seed_value: float | None, enable_deepcache: bool, face_enhance_on: bool,
                        face_enhance_method: str, face_enhance_strength: float, speaker_mode: str,
                        x: float | None, y: float | None, sync_mode_value: str, audio_context_value: str,
                        silence_value: str, align_dtype_value: str, staging_value: str,
                        progress: gr.Progress = gr.Progress()) -> Iterator[RequestOutput]:
            def report(stage: str, fraction: float) -> None:
                progress(fraction, desc=stage.capitalize())

            try:
                video_path = previews.original(video_path)  # the page may hold a preview of the upload
            except InputError as error:
                yield None, f"**Could not run:** {error}"
                return
            yield from lipsync_request(pipelines, limits, video_path, audio_path, release_name, num_inference_steps,
                                       guidance_scale, seed_value, enable_deepcache, report, face_enhance_on,
                                       face_enhance_method, face_enhance_strength, speaker_mode, x, y,
                                       sync_mode_value, audio_context_value, silence_value, align_dtype_value,
                                       staging_value)

        video.upload(show_video, video, video)
        run.click(run_request, [video, audio, release, steps, guidance, seed, deepcache, face_enhance, enhance_method,
                                enhance_strength, speaker, speaker_x, speaker_y, sync_mode, audio_context,
                                silence, align_dtype, staging], [result, status], concurrency_id=LIPSYNC_QUEUE)
        add_lipsync_api(pipelines, limits)
    return demo.queue(default_concurrency_limit=1)
