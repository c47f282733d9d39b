"""Run the stages over a folder: checks first, then stage after stage, resumable through the ledgers.

Layout (names as the original's, beside the input folder unless ``output_root`` is given)::

    <output_root>/resampled/  shot/  segmented/  [high_resolution/]  affine_transformed/  [correctly_aligned/]
                  av_synced_3/  high_visual_quality/  ledgers/<stage>.jsonl  fileslist.txt

A stage's inputs are the clips the previous stage kept, by the previous ledger, so a re-run skips every clip
already decided, retries those whose stage failed (``error``) and an interrupted run finishes the rest. A
failure of the machine (weights, packages, disk) stops the run instead of being recorded against a clip. The
input folder is only ever read.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from latentsync.data_processing.affine_transform import AffineTransform
from latentsync.data_processing.alignment_check import AlignmentCheck
from latentsync.data_processing.av_sync import AudioVisualSync, SyncNetMeasure
from latentsync.data_processing.broken_videos import BrokenVideoFilter
from latentsync.data_processing.executors import Executor, SerialExecutor
from latentsync.data_processing.fileslist import write_fileslist
from latentsync.data_processing.high_resolution import HighResolutionFilter
from latentsync.data_processing.ledger import Ledger
from latentsync.data_processing.media import remove_partials
from latentsync.data_processing.records import KEPT, LedgerRecord
from latentsync.data_processing.resample import Resample
from latentsync.data_processing.segments import Segmenter
from latentsync.data_processing.shots import ShotSplitter
from latentsync.data_processing.stage import Stage
from latentsync.data_processing.summary import summary_table
from latentsync.data_processing.visual_quality import VisualQualityFilter
from latentsync.errors import InputError
from latentsync.evaluation.video_files import VIDEO_SUFFIXES
from latentsync.io.paths import check_output_folder
from latentsync.locations import CheckpointLayout

LEDGER_FOLDER = "ledgers"
FILESLIST_NAME = "fileslist.txt"
LOCK_NAME = ".data_processing.lock"


def build_stages(resolution: int = 256, sync_conf_threshold: float = 3.0, quality_threshold: float = 40.0,
                 filter_high_resolution: bool = False, filter_incorrect_alignment: bool = False,
                 landmark_detector: str = "auto", landmark_weights_dir: str | Path = CheckpointLayout().auxiliary,
                 syncnet_weights: str | Path = CheckpointLayout().syncnet_v2,
                 s3fd_weights: str | Path = CheckpointLayout().s3fd,
                 hyperiqa_weights: str | Path = CheckpointLayout().hyperiqa, encoding: str = "standard",
                 align_dtype: str = "float32") -> list[Stage]:
    """The original's chain with its defaults; the two optional filters are off unless asked for."""
    stages: list[Stage] = [BrokenVideoFilter(), Resample(encoding=encoding), ShotSplitter(encoding=encoding), Segmenter()]
    if filter_high_resolution:
        stages.append(HighResolutionFilter(resolution=resolution))
    stages.append(AffineTransform(resolution, landmark_detector, str(landmark_weights_dir), encoding, align_dtype))
    if filter_incorrect_alignment:
        stages.append(AlignmentCheck())
    stages.append(AudioVisualSync(sync_conf_threshold, sync_measure=SyncNetMeasure(str(syncnet_weights),
                                                                                   str(s3fd_weights))))
    stages.append(VisualQualityFilter(quality_threshold, str(hyperiqa_weights)))
    return stages


@dataclass(frozen=True)
class PipelineResult:
    """The records of every stage (clips that entered it), the final clips and the summary table."""

    stages: list[tuple[str, dict[str, LedgerRecord]]]
    final_clips: list[Path]
    fileslist: Path
    summary: str
    clips_processed: int  # clips this run actually worked on (0 when everything was already done)


def default_output_root(input_dir: str | os.PathLike) -> Path:
    """The original writes its stage folders beside the input folder."""
    return Path(input_dir).absolute().parent


def find_videos(input_dir: Path) -> list[str]:
    """Video files under ``input_dir`` (recursively, hidden files skipped), as sorted relative POSIX paths."""
    return sorted(path.relative_to(input_dir).as_posix() for path in input_dir.rglob("*")
                  if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES
                  and not any(part.startswith(".") for part in path.relative_to(input_dir).parts))


def check_run(input_dir: str | os.PathLike, output_root: str | os.PathLike | None,
              stages: Sequence[Stage]) -> tuple[Path, Path, list[str]]:
    """Every problem that would stop the run, reported before any work: ``(input_dir, output_root, videos)``."""
    input_dir = Path(input_dir).absolute()
    if not input_dir.is_dir():
        problem = "is not a folder" if input_dir.exists() else "does not exist"
        raise InputError(f"input folder {str(input_dir)!r} {problem}; pass the folder of raw videos")
    videos = find_videos(input_dir)
    if not videos:
        raise InputError(f"input folder {str(input_dir)!r} holds no video ({', '.join(VIDEO_SUFFIXES)}); "
                         "pass the folder of raw videos")
    output_root = Path(output_root).absolute() if output_root else default_output_root(input_dir)
    resolved_input = input_dir.resolve()
    if output_root.resolve().is_relative_to(resolved_input):
        raise InputError(f"output root {str(output_root)!r} is inside the input folder {str(input_dir)!r}; "
                         "choose an --output_root outside it")
    for name in [*(stage.folder for stage in stages), LEDGER_FOLDER]:
        folder = (output_root / name).resolve()
        if resolved_input.is_relative_to(folder):
            raise InputError(f"the {name!r} output folder {str(folder)!r} would be or contain the input folder; "
                             "rename the input folder or choose another --output_root")
    check_output_folder(output_root, "--output_root")  # tried by writing a file: os.access says yes to root
    for stage in stages:
        stage.check()
    return input_dir, output_root, videos


def run_pipeline(input_dir: str | os.PathLike, stages: Sequence[Stage], output_root: str | os.PathLike | None = None,
                 executor: Executor | None = None, progress: bool = True) -> PipelineResult:
    """Run ``stages`` in order over the videos of ``input_dir``; see the module docstring for the layout."""
    input_dir, output_root, clips = check_run(input_dir, output_root, stages)
    executor = executor or SerialExecutor()
    output_root.mkdir(parents=True, exist_ok=True)
    results: list[tuple[str, dict[str, LedgerRecord]]] = []
    processed = 0
    with _exclusive(output_root):
        stage_input = input_dir
        for stage in stages:
            stage_output = output_root / stage.folder if stage.writes_outputs else stage_input
            if stage.writes_outputs:
                remove_partials(stage_output)
            ledger = Ledger(output_root / LEDGER_FOLDER / f"{stage.folder}.jsonl")
            done = ledger.read()
            pending = [clip for clip in clips if clip not in done or not done[clip].final]
            records = tqdm(executor.map(stage, stage_input, stage_output, pending), total=len(pending),
                           desc=stage.folder, unit="clip", disable=not progress or not pending)
            for record in records:
                ledger.append(record)
                done[record.clip] = record
                processed += 1
            if pending:
                ledger.compact()
            stage_records = {clip: done[clip] for clip in clips}
            results.append((stage.folder, stage_records))
            clips = sorted(output for record in stage_records.values() if record.decision == KEPT
                           for output in record.outputs)
            stage_input = stage_output
        final = [stage_input / clip for clip in clips]
        fileslist = write_fileslist(final, output_root / FILESLIST_NAME)
    return PipelineResult(results, final, fileslist, summary_table(results), processed)


@contextlib.contextmanager
def _exclusive(output_root: Path) -> Iterator[None]:
    """One run per output root at a time: two runs would redo and overwrite each other's clips."""
    with (output_root / LOCK_NAME).open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"another data-processing run is using {str(output_root)!r}; wait for it to finish "
                             "or choose another --output_root") from None
        yield
