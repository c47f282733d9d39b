"""The Replicate / cog door: the work of ``predict.py``'s ``Predictor``, which itself only declares its inputs.

``CogLipsync.from_environment()`` (cog's ``setup()``) loads the models once. It finds the weights as the inference
command does; ``LATENTSYNC_ARGS`` may hold that command's model options (``--unet_config_path ...
--inference_ckpt_path ... --device cuda:1``; split like a command line, never given to a shell). Without an
explicit ``--inference_ckpt_path``, what the 1.6 release still lacks is downloaded first, as ``./setup_env.sh
--with-enhancers`` does (the demo clips aside): nothing when the checkout's ``checkpoints/`` went into the image.
``predict`` lip-syncs into a private folder that keeps only the latest result (cog reads it after ``predict``
returns), so predictions write nothing in the working folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from latentsync.app.validation import with_file_names
from latentsync.cli.download_checkpoints import download, enhancer_file, failure_report, planned_files
from latentsync.cli.lipsync_arguments import add_model_arguments, enhancers_dir, load_pipeline_from_args
from latentsync.cli.runner import SHORT_LOG_FORMAT
from latentsync.errors import USER_ERRORS, EnvironmentProblem, InputError
from latentsync.face.enhancement import enhancer_specs
from latentsync.face.enhancement.spec import check_face_enhancer
from latentsync.locations import REPO_ROOT
from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline
from latentsync.pipelines.settings import LipsyncSettings
from latentsync.utils.quiet_logs import quiet_library_logs

logger = logging.getLogger(__name__)

MODEL_ARGS_VARIABLE = "LATENTSYNC_ARGS"


class EnvironmentArguments(argparse.ArgumentParser):
    """The model options of ``LATENTSYNC_ARGS``; a bad one is an ``InputError`` (cog shows it as the setup's)."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{MODEL_ARGS_VARIABLE}: {message}")


def model_arguments(environ: Mapping[str, str]) -> argparse.Namespace:
    parser = EnvironmentArguments(prog=MODEL_ARGS_VARIABLE, add_help=False)
    add_model_arguments(parser)
    return parser.parse_args(shlex.split(environ.get(MODEL_ARGS_VARIABLE, "")))


def fetch_release_weights(checkpoints_dir: Path, enhancers: Path) -> None:
    """Download what ``./setup_env.sh --with-enhancers`` would and the folders lack (present files stay), but the
    demo clips."""
    files = [planned for planned in planned_files(["1.6"], False, checkpoints_dir, REPO_ROOT / "assets")
             if planned.from_hub]
    files += [enhancer_file(spec, enhancers) for spec in enhancer_specs().values()]
    if failures := download(files):
        raise EnvironmentProblem(f"the LatentSync weights could not be downloaded into {checkpoints_dir}; put them "
                                 f"in the image with the checkout.\n{failure_report(failures)}")


class CogLipsync:
    """One loaded pipeline serving cog's predictions, one at a time."""

    def __init__(self, pipeline: LipsyncPipeline, enhancers_dir: str | os.PathLike):
        self.pipeline = pipeline
        self.enhancers_dir = Path(enhancers_dir)
        self._results = tempfile.TemporaryDirectory(prefix="latentsync-cog-", ignore_cleanup_errors=True)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> CogLipsync:
        """The pipeline ``LATENTSYNC_ARGS`` describes (default: the 1.6 release, fetched when missing)."""
        logging.basicConfig(level=logging.INFO, format=SHORT_LOG_FORMAT)  # cog shows the run's log
        quiet_library_logs()
        args = model_arguments(environ)
        if args.inference_ckpt_path is None:
            fetch_release_weights(Path(args.checkpoints_dir), enhancers_dir(args))
        return cls(load_pipeline_from_args(args), enhancers_dir(args))

    @property
    def results_dir(self) -> Path:
        return Path(self._results.name)

    def predict(self, video: str | os.PathLike, audio: str | os.PathLike, **settings: Any) -> Path:
        """Lip-sync ``video`` to ``audio`` with ``settings`` (``LipsyncSettings`` fields) and return the video.

        Bad input raises the pipeline's one-line error naming the files by their names only.
        """
        inputs = (Path(video), Path(audio))
        for previous in self.results_dir.iterdir():  # cog has sent it by now
            previous.unlink()
        try:
            settings = LipsyncSettings(**settings)
            video, audio, output = LipsyncPipeline.check_inputs(
                video, audio, self.results_dir / f"{inputs[0].stem}_lipsync.mp4")
            if settings.face_enhance:
                check_face_enhancer(settings.face_enhance_method, self.enhancers_dir)
            report = self.pipeline(video, audio, output, settings=settings, inputs_checked=True)
        except USER_ERRORS as error:
            raise type(error)(with_file_names(str(error), inputs)) from None
        logger.info("seed %d (the same seed gives the same video)", report.seed)
        return report.output_path
