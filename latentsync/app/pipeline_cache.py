"""Load each release's pipeline once per server process and hand the same one to every request.

Loading the U-Net, Whisper and the VAE takes far longer than a short clip's inference, so the demo
loads the first release at start-up and any other one the first time a request asks for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import OmegaConf

from latentsync.config.unet_config import load_unet_config, pipeline_settings
from latentsync.errors import CheckpointError
from latentsync.locations import CONFIGS_DIR, DEFAULT_VAE, CheckpointLayout
from latentsync.pipelines.pipeline_weights import ReleaseChoice
from latentsync.pipelines.settings import LipsyncSettings

if TYPE_CHECKING:
    from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline

# Where the page's settings come from when no installed release's config sets them: LatentSync 1.6.
FALLBACK_UNET_CONFIG = CONFIGS_DIR / "unet" / "stage2_512.yaml"


class PipelineCache:
    """Release name -> loaded ``LipsyncPipeline`` (which keeps its face restorers); what fails to load is retried
    next time."""

    def __init__(self, releases: Sequence[ReleaseChoice], checkpoints_dir: str | os.PathLike,
                 whisper_model_path: str | os.PathLike | None = None,
                 vae_model_path: str | os.PathLike = DEFAULT_VAE,
                 device: str | None = None, dtype: str | None = None,
                 enhancers_dir: str | os.PathLike | None = None):
        self.releases = {release.name: release for release in releases}
        self.checkpoints_dir = Path(checkpoints_dir)
        self.whisper_model_path = whisper_model_path
        self.vae_model_path = vae_model_path
        self.device = device
        self.dtype = dtype
        self.enhancers_dir = CheckpointLayout(checkpoints_dir).enhancers if enhancers_dir is None else Path(enhancers_dir)
        self._pipelines: dict[str, LipsyncPipeline] = {}
        self._lock = threading.Lock()

    @property
    def release_names(self) -> list[str]:
        return list(self.releases)

    def generation_defaults(self) -> LipsyncSettings:
        """The first release's ``run`` settings (steps, guidance, seed), so the page starts where the CLI does;
        DeepCache on, as in the original demo.

        A custom config without a ``run`` section takes LatentSync 1.6's.
        """
        settings = pipeline_settings(OmegaConf.load(FALLBACK_UNET_CONFIG))
        if self.releases:
            settings |= pipeline_settings(load_unet_config(self.releases[self.release_names[0]].unet_config_path))
        return LipsyncSettings(num_inference_steps=settings["num_inference_steps"],
                               guidance_scale=settings["guidance_scale"], seed=settings["seed"], enable_deepcache=True)

    def get(self, name: str) -> LipsyncPipeline:
        """The pipeline of release ``name``, loading it on first use; raises ``CheckpointError``."""
        with self._lock:
            if name not in self._pipelines:
                release = self.releases.get(name)
                if release is None:
                    raise CheckpointError(f"no model named {name!r} is installed; choose one of {self.release_names}")
                # The model code: imported with the first pipeline, not to serve the page.
                from latentsync.pipelines.loading import load_lipsync_pipeline

                self._pipelines[name] = load_lipsync_pipeline(
                    release.unet_config_path, release.inference_ckpt_path, self.whisper_model_path,
                    self.vae_model_path, device=self.device, dtype=self.dtype,
                    checkpoints_dir=self.checkpoints_dir, enhancers_dir=self.enhancers_dir)
            return self._pipelines[name]

    def preload_first(self) -> str | None:
        """Load the default release now; return why it cannot be loaded (for the page banner), or ``None``."""
        if not self.releases:
            return None
        try:
            self.get(self.release_names[0])
        except CheckpointError as error:
            return str(error)
        return None
