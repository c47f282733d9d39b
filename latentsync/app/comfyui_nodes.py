"""ComfyUI nodes: load LatentSync once, then lip-sync ComfyUI's frames and audio inside a node graph.

The node pack in ``comfyui/`` only exports the mappings below. ``LatentSync Loader`` returns a pipeline object;
``LatentSync Lip Sync`` takes ``IMAGE`` (float ``[N, H, W, 3]`` in 0..1, the frames of a "Load Video" node),
``AUDIO`` (``{"waveform": [1, C, T], "sample_rate": int}``), their frame rate and every lip-sync setting, and
returns the lip-synced ``IMAGE`` at 25 fps, its ``AUDIO`` (as long as the frames, for a video-combine node) and
that frame rate. Frames go through the pipeline's in-memory route, so they are the ones the command line would
encode. The inputs are made from the settings (``door_settings``), except the encoding of a written file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentsync.app.door_settings import DoorSetting, door_settings
from latentsync.errors import InputError
from latentsync.face.landmarks import LANDMARK_DETECTORS
from latentsync.locations import DEFAULT_CHECKPOINTS_DIR, DEFAULT_VAE, REPO_ROOT
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from latentsync.pipelines.lipsync_plan import ProgressCallback
from latentsync.pipelines.loading import load_lipsync_pipeline
from latentsync.pipelines.settings import LipsyncSettings

CATEGORY = "LatentSync"
PIPELINE = "LATENTSYNC_PIPELINE"  # the loader's output type, the lip-sync node's input
INT_LIMIT = 2**32 - 1  # a widget's bound where the setting has none
FLOAT_LIMIT = 1e6
PROGRESS_STEPS = 100  # the progress bar's resolution per stage


def setting_input(setting: DoorSetting) -> tuple:
    """One setting as a ComfyUI input: ``("INT" | "FLOAT" | "BOOLEAN" | "STRING" | [choices], options)``."""
    options: dict[str, Any] = {"default": setting.default, "tooltip": setting.help}
    if setting.choices:
        return list(setting.choices), options
    if setting.kind in (int, float):
        limit = INT_LIMIT if setting.kind is int else FLOAT_LIMIT
        options |= {"min": -limit if setting.low is None else setting.low,
                    "max": limit if setting.high is None else setting.high,
                    "step": 1 if setting.kind is int else 0.01}
        return ("INT" if setting.kind is int else "FLOAT"), options
    return ("BOOLEAN" if setting.kind is bool else "STRING"), options


def frames_setting_inputs() -> dict[str, tuple]:
    """Every setting that applies to frames (not a written file's encoding), with ``inference.sh``'s defaults."""
    return {setting.name: setting_input(setting) for setting in door_settings() if not setting.for_files_only}


def checkout_path(text: str) -> Path:
    """A path typed in a node: relative ones are in the LatentSync checkout (ComfyUI runs from its own folder)."""
    path = Path(os.path.expanduser(text.strip()))
    return path if path.is_absolute() else REPO_ROOT / path


def optional_path(text: str) -> Path | None:
    return checkout_path(text) if text.strip() else None


class LatentSyncLoader:
    """Loads the U-Net, Whisper and the VAE once; the pipeline keeps its face detector and restorers."""

    CATEGORY = CATEGORY
    DESCRIPTION = ("Load a LatentSync release (1.6: configs/unet/stage2_512.yaml, 1.5: configs/unet/stage2.yaml with "
                   "checkpoints/latentsync-1.5/latentsync_unet.pt). Relative paths are in the LatentSync checkout.")
    RETURN_TYPES = (PIPELINE,)
    RETURN_NAMES = ("pipeline",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, dict[str, tuple]]:
        return {"required": {
            "unet_config_path": ("STRING", {"default": "configs/unet/stage2_512.yaml",
                                            "tooltip": "U-Net config of the checkpoint: stage2_512.yaml for 1.6, "
                                                       "stage2.yaml for 1.5"}),
            "inference_ckpt_path": ("STRING", {"default": "", "tooltip": "U-Net weights (empty: "
                                                                          "CHECKPOINTS_DIR/latentsync_unet.pt)"}),
            "device": ("STRING", {"default": "auto", "tooltip": "auto (CUDA, then MPS, then CPU), cuda, cuda:1, cpu"}),
            "dtype": (["auto", "float16", "bfloat16", "float32"],
                      {"default": "auto", "tooltip": "auto = float16 on GPUs that support it, else float32"}),
            "face_backend": (["auto", *LANDMARK_DETECTORS],
                             {"default": "auto", "tooltip": "landmark detector; auto = the release's when installed "
                                                            "with its weights, else the next best (logged)"}),
        }, "optional": {
            "checkpoints_dir": ("STRING", {"default": str(DEFAULT_CHECKPOINTS_DIR),
                                           "tooltip": "latentsync_unet.pt, whisper/, auxiliary/, enhancers/"}),
            "whisper_model_path": ("STRING", {"default": "", "tooltip": "empty: the one the config calls for"}),
            "vae_model_path": ("STRING", {"default": DEFAULT_VAE, "tooltip": "Hugging Face id or local folder"}),
            "enhancers_dir": ("STRING", {"default": "", "tooltip": "ONNX face restorers (empty: "
                                                                   "CHECKPOINTS_DIR/enhancers)"}),
        }}

    def load(self, unet_config_path: str, inference_ckpt_path: str, device: str, dtype: str, face_backend: str,
             checkpoints_dir: str = str(DEFAULT_CHECKPOINTS_DIR), whisper_model_path: str = "",
             vae_model_path: str = DEFAULT_VAE, enhancers_dir: str = "") -> tuple[LipsyncPipeline]:
        vae = checkout_path(vae_model_path)  # a local folder, else a hub id
        vae = vae if vae.exists() else vae_model_path.strip()
        return (load_lipsync_pipeline(checkout_path(unet_config_path), optional_path(inference_ckpt_path),
                                      optional_path(whisper_model_path), vae, device=device, dtype=dtype,
                                      checkpoints_dir=checkout_path(checkpoints_dir), face_backend=face_backend,
                                      enhancers_dir=optional_path(enhancers_dir)),)


class LatentSyncLipSync:
    """Regenerates the mouth in ``images`` so the lips follow ``audio``."""

    CATEGORY = CATEGORY
    DESCRIPTION = ("Lip-sync frames to an audio. The result is at 25 fps and lasts as long as the audio (sync_mode "
                   "chooses another rule); combine it with its audio at the fps output.")
    RETURN_TYPES = ("IMAGE", "AUDIO", "FLOAT")
    RETURN_NAMES = ("images", "audio", "fps")
    FUNCTION = "lipsync"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, dict[str, tuple]]:
        return {"required": {
            "pipeline": (PIPELINE, {"tooltip": "from LatentSync Loader"}),
            "images": ("IMAGE", {"tooltip": "the video's frames"}),
            "audio": ("AUDIO", {"tooltip": "the speech to follow"}),
            "fps": ("FLOAT", {"default": 25.0, "min": 1.0, "max": 240.0, "step": 0.01,
                              "tooltip": "frame rate of the images (read on a 25 fps grid, as files are)"}),
            **frames_setting_inputs(),
        }}

    def lipsync(self, pipeline: LipsyncPipeline, images: torch.Tensor, audio: dict, fps: float,
                **settings: Any) -> tuple[torch.Tensor, dict, float]:
        report = pipeline(frames_from_images(images), waveform_from_audio(audio), fps=fps,
                          settings=LipsyncSettings(**settings), progress=comfyui_progress())
        waveform = torch.from_numpy(report.audio).reshape(1, 1, -1)
        return images_from_frames(report.frames), {"waveform": waveform, "sample_rate": report.sample_rate}, \
            float(pipeline.config.video_fps)


def frames_from_images(images: torch.Tensor) -> np.ndarray:
    """ComfyUI's ``IMAGE`` (float ``[N, H, W, 3]`` in 0..1) as uint8 RGB frames, rounded to the nearest level."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[-1] != 3:
        raise InputError(f"images must be a ComfyUI IMAGE, a float tensor [N, H, W, 3]; got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def images_from_frames(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).float() / 255


def waveform_from_audio(audio: dict) -> tuple[np.ndarray, int]:
    """ComfyUI's ``AUDIO`` (``{"waveform": [1, C, T], "sample_rate": int}``) as the pipeline's ``(waveform,
    sample_rate)``."""
    waveform = audio.get("waveform") if isinstance(audio, dict) else None
    if not isinstance(waveform, torch.Tensor) or waveform.ndim != 3 or waveform.shape[0] != 1:
        raise InputError("audio must be one ComfyUI AUDIO clip: {'waveform': a tensor [1, channels, samples], "
                         "'sample_rate': int}")
    return waveform[0].detach().float().cpu().numpy(), audio.get("sample_rate")


def comfyui_progress() -> ProgressCallback | None:
    """The pipeline's progress on the node's bar, and ComfyUI's Cancel stopping the run; ``None`` outside ComfyUI."""
    try:
        import comfy.model_management
        import comfy.utils
    except ImportError:
        return None
    bar = comfy.utils.ProgressBar(PROGRESS_STEPS)

    def report(stage: str, fraction: float) -> None:
        comfy.model_management.throw_exception_if_processing_interrupted()
        bar.update_absolute(round(fraction * PROGRESS_STEPS), PROGRESS_STEPS)

    return report


NODE_CLASS_MAPPINGS = {"LatentSyncLoader": LatentSyncLoader, "LatentSyncLipSync": LatentSyncLipSync}
NODE_DISPLAY_NAME_MAPPINGS = {"LatentSyncLoader": "LatentSync Loader", "LatentSyncLipSync": "LatentSync Lip Sync"}
