"""The stage interface: a function of one clip, plus the wrapper that turns any outcome into a ledger record."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import torch

from latentsync.data_processing.environment import environment_problem
from latentsync.data_processing.media import header_duration
from latentsync.data_processing.records import FAILED_REASON, ClipResult, LedgerRecord, rejected
from latentsync.errors import CheckpointError, EnvironmentProblem, InputError

# Models loaded by this process, per (stage, device): a worker loads them once and reuses them for every clip.
_LOADED_MODELS: dict[tuple[Stage, str], Any] = {}


class Stage(ABC):
    """One step of the pipeline. Subclasses are frozen dataclasses (picklable, hashable: sent to workers).

    ``folder`` names the stage's output folder (as in the original) and its ledger. ``uses_gpu`` stages hold
    models and are run on GPU workers when there are GPUs.
    """

    uses_gpu: ClassVar[bool] = False
    writes_outputs: ClassVar[bool] = True  # False: kept clips stay where they are (the input folder)

    @property
    @abstractmethod
    def folder(self) -> str:
        """Output folder name, beside the input folder or under the output root."""

    def check(self) -> None:
        """Load the stage's models on the CPU before any work: missing or unreadable weights and missing packages
        stop the run there (``CheckpointError``, ``InputError`` or ``EnvironmentProblem``).

        Plain networks are kept, so a second check is free and clips run in this process reuse them; models that
        hold resources (a landmark detector's threads and output filter) are closed again.
        """
        if not self.uses_gpu or (self, "cpu") in _LOADED_MODELS:
            return
        try:
            models = self.load(torch.device("cpu"))
        except (CheckpointError, InputError):
            raise  # already one line naming the file and the fix
        except Exception as error:
            raise models_problem(self, error) from None
        if callable(getattr(models, "close", None)):
            models.close()
        else:
            _LOADED_MODELS[(self, "cpu")] = models

    def load(self, device: torch.device) -> Any:
        """Build the stage's models on ``device``; called once per worker process."""
        return None

    def models(self) -> Any:
        """The models of this stage in this process, loaded on first use."""
        device = worker_device() if self.uses_gpu else torch.device("cpu")
        key = (self, str(device))
        if key not in _LOADED_MODELS:
            _LOADED_MODELS[key] = self.load(device)
        return _LOADED_MODELS[key]

    @abstractmethod
    def process(self, source: Path, output_dir: Path, clip: str) -> ClipResult:
        """Decide on one clip: ``source`` is the file, ``clip`` its path relative to the stage's input folder.

        Outputs go under ``output_dir`` (whose subfolder for ``clip`` exists), named from ``clip``, written
        atomically; the result lists them relative to ``output_dir``.
        """


def worker_device() -> torch.device:
    """The GPU this worker was given (executors set ``CUDA_VISIBLE_DEVICES``), else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def output_name(clip: str, suffix: str = "") -> str:
    """``dir/name.ext`` -> ``dir/name{suffix}.mp4``: output names keep the clip's folder and stem."""
    path = PurePosixPath(clip)
    return str(path.with_name(f"{path.stem}{suffix}.mp4"))


def run_clip(stage: Stage, input_dir: Path, output_dir: Path, clip: str) -> LedgerRecord:
    """Run ``stage`` on one clip and record the outcome; a bad clip becomes a rejection, never a crash.

    A failure of the machine (``environment_problem``) is raised instead: it says nothing about the clip.
    """
    start = time.perf_counter()
    source = Path(input_dir) / clip
    try:
        stage.models()  # loaded once per process; a failure here is the machine's, whatever the clip
    except Exception as error:
        raise models_problem(stage, error) from None
    try:
        (Path(output_dir) / clip).parent.mkdir(parents=True, exist_ok=True)
        result = stage.process(source, Path(output_dir), clip)
    except InputError as error:
        result = rejected("unreadable", str(error))
    except Exception as error:  # noqa: BLE001 - one clip's failure is recorded and the run goes on
        problem = environment_problem(error, f"stage {stage.folder}, clip {clip!r}")
        if problem is not None:
            raise problem from None
        result = rejected(FAILED_REASON, f"{type(error).__name__}: {' '.join(str(error).split())}")
    return LedgerRecord.of(clip, result, header_duration(source), time.perf_counter() - start)


def models_problem(stage: Stage, error: Exception) -> EnvironmentProblem:
    """A stage's models failed to load: the same for every clip, so the run stops with the reason."""
    return environment_problem(error, f"stage {stage.folder}") or EnvironmentProblem(
        f"stage {stage.folder}: its models cannot be loaded ({' '.join(str(error).split()) or type(error).__name__})")
