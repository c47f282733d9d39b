"""Stages, ledger, driver checks, executors and helpers of the data-processing pipeline, on tiny synthetic clips."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import av
import numpy as np
import pytest
import torch

from latentsync.cli import fileslist as fileslist_cli
from latentsync.cli import data_processing as pipeline_cli
from latentsync.data_processing import driver
from latentsync.data_processing.affine_transform import AffineTransform
from latentsync.data_processing.alignment_check import AlignmentCheck
from latentsync.data_processing.av_sync import AudioVisualSync, SyncMeasurement
from latentsync.data_processing.broken_videos import BrokenVideoFilter
from latentsync.data_processing.driver import LOCK_NAME, build_stages, check_run, run_pipeline
from latentsync.data_processing.executors import LocalExecutor, RayExecutor, SerialExecutor
from latentsync.data_processing.high_resolution import HighResolutionFilter
from latentsync.data_processing.ledger import Ledger
from latentsync.data_processing.media import fit_audio, shift_audio
from latentsync.data_processing.records import LedgerRecord, kept, rejected
from latentsync.data_processing.resample import Resample
from latentsync.data_processing.segments import Segmenter
from latentsync.data_processing.shots import ShotSplitter, detect_shots
from latentsync.data_processing.stage import _LOADED_MODELS, Stage, run_clip
from latentsync.data_processing.summary import summary_table
from latentsync.errors import EnvironmentProblem
from latentsync.errors import CheckpointError, InputError
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from tests.helpers.x264 import x264_settings

SAMPLES_PER_FRAME = 640


def _pattern(seed: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def _write(path: Path, frames: list[np.ndarray], audio: np.ndarray | None = None) -> Path:
    if audio is None:
        audio = np.random.default_rng(len(frames)).uniform(-0.3, 0.3, len(frames) * SAMPLES_PER_FRAME)
    with VideoWriter(path, audio=audio.astype(np.float32)) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def _video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]


def test_fit_and_shift_audio():
    audio = np.arange(3 * SAMPLES_PER_FRAME, dtype=np.float32)
    assert len(fit_audio(audio, 2)) == 2 * SAMPLES_PER_FRAME
    assert np.array_equal(fit_audio(audio, 4)[3 * SAMPLES_PER_FRAME:], np.zeros(SAMPLES_PER_FRAME))
    delayed = shift_audio(audio, 1)
    assert np.array_equal(delayed[:SAMPLES_PER_FRAME], np.zeros(SAMPLES_PER_FRAME))
    assert np.array_equal(delayed[SAMPLES_PER_FRAME:], audio[:-SAMPLES_PER_FRAME])
    advanced = shift_audio(audio, -2)
    assert np.array_equal(advanced[:SAMPLES_PER_FRAME], audio[2 * SAMPLES_PER_FRAME:])
    assert not advanced[SAMPLES_PER_FRAME:].any()


def test_ledger_skips_a_truncated_line_and_compacts_sorted(tmp_path):
    ledger = Ledger(tmp_path / "stage.jsonl")
    ledger.append(LedgerRecord.of("b.mp4", kept("b.mp4"), 1.0, 0.5))
    ledger.append(LedgerRecord.of("a.mp4", rejected("no_face", "no face in frame 0", frame=0), 2.0, 0.25))
    with ledger.path.open("a") as file:
        file.write('{"clip": "c.mp4", "decis')  # a run killed in the middle of a line
    records = ledger.read()
    assert sorted(records) == ["a.mp4", "b.mp4"]
    assert records["a.mp4"].measures == {"frame": 0}
    ledger.compact()
    assert [json.loads(line)["clip"] for line in ledger.path.read_text().splitlines()] == ["a.mp4", "b.mp4"]


def test_broken_video_filter_reasons(tmp_path):
    good = _write(tmp_path / "good.mp4", [_pattern(0)] * 5)
    silent = tmp_path / "silent.mp4"
    with VideoWriter(silent) as writer:
        writer.write(_pattern(1))
    (tmp_path / "garbage.mp4").write_bytes(b"\x00not a video" * 100)
    stage = BrokenVideoFilter()
    reasons = {name: run_clip(stage, tmp_path, tmp_path, name) for name in ("good.mp4", "silent.mp4", "garbage.mp4")}
    assert reasons["good.mp4"].decision == "kept" and reasons["good.mp4"].outputs == ["good.mp4"]
    assert reasons["silent.mp4"].reason == "no_audio"
    assert reasons["garbage.mp4"].reason == "broken_video"
    assert good.exists() and silent.exists()  # rejected files stay where they are


def test_resample_copies_25_fps_video_and_retimes_other_rates(tmp_path):
    (tmp_path / "in").mkdir()
    source = _write(tmp_path / "in" / "a.mp4", [_pattern(index % 3) for index in range(10)])
    out = tmp_path / "out"
    out.mkdir()
    record = run_clip(Resample(), tmp_path / "in", out, "a.mp4")
    assert record.measures["video"] == "copied"
    assert _video_packets(out / "a.mp4") == _video_packets(source)
    with av.open(str(out / "a.mp4")) as container:
        assert container.streams.audio[0].sample_rate == 16000

    thirty = tmp_path / "in" / "b.mov"
    with av.open(str(thirty), "w") as container:  # 1 s at 30 fps with 44.1 kHz audio
        video = container.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=44100)
        audio.layout = "mono"
        for index in range(30):
            container.mux(video.encode(av.VideoFrame.from_ndarray(_pattern(index), format="rgb24")))
        samples = av.AudioFrame.from_ndarray(np.zeros((1, 44100), np.float32), format="flt", layout="mono")
        samples.sample_rate, samples.pts = 44100, 0
        container.mux(audio.encode(samples))
        container.mux(audio.encode(None))
        container.mux(video.encode(None))
    record = run_clip(Resample(), tmp_path / "in", out, "b.mov")
    assert (record.decision, record.outputs, record.measures["video"]) == ("kept", ["b.mp4"], "re-encoded")
    assert VideoReader(out / "b.mp4").source_fps == 25
    assert VideoReader(out / "b.mp4").count_frames() == 25
    assert "crf=18.0" in x264_settings(out / "b.mp4")
    run_clip(Resample(encoding="original"), tmp_path / "in", tmp_path / "original", "b.mov")
    assert "crf=23.0" in x264_settings(tmp_path / "original" / "b.mp4")  # ffmpeg -r 25 at libx264's defaults


def test_shots_are_cut_where_the_picture_changes(tmp_path):
    frames = [_pattern(1)] * 30 + [_pattern(2)] * 30
    _write(tmp_path / "two.mp4", frames)
    assert detect_shots(tmp_path / "two.mp4") == [(0, 30), (30, 60)]
    record = run_clip(ShotSplitter(), tmp_path, tmp_path / "shot", "two.mp4")
    assert record.outputs == ["two_shot_001.mp4", "two_shot_002.mp4"]
    for name in record.outputs:
        assert VideoReader(tmp_path / "shot" / name).count_frames() == 30
        # AAC works in 1024-sample frames: the decoded track may run up to one frame past the video
        assert 0 <= len(load_audio(tmp_path / "shot" / name)) - 30 * SAMPLES_PER_FRAME <= 1024
        assert "crf=18.0" in x264_settings(tmp_path / "shot" / name) and "subme=7" in x264_settings(
            tmp_path / "shot" / name)
    original = run_clip(ShotSplitter(encoding="original"), tmp_path, tmp_path / "original", "two.mp4")
    for name in original.outputs:  # scenedetect's split-video defaults: CRF 22, veryfast
        assert "crf=22.0" in x264_settings(tmp_path / "original" / name)
        assert "subme=2" in x264_settings(tmp_path / "original" / name)


def test_segments_of_fixed_length_keep_their_audio(tmp_path):
    audio = np.random.default_rng(0).uniform(-0.3, 0.3, 60 * SAMPLES_PER_FRAME)
    _write(tmp_path / "clip.mp4", [_pattern(0)] * 60, audio)
    record = run_clip(Segmenter(seconds=1), tmp_path, tmp_path / "seg", "clip.mp4")
    assert record.outputs == ["clip_000.mp4", "clip_001.mp4", "clip_002.mp4"]
    lengths = [VideoReader(tmp_path / "seg" / name).count_frames() for name in record.outputs]
    assert lengths == [25, 25, 10]
    original = load_audio(tmp_path / "clip.mp4")
    second = load_audio(tmp_path / "seg" / "clip_001.mp4")
    window = slice(4000, 12000)  # away from the codec's edges
    assert np.corrcoef(second[window], original[25 * SAMPLES_PER_FRAME:][window])[0, 1] > 0.9


@dataclass(frozen=True)
class FixedMeasure:
    """A sync measure that reports given numbers (the offset search itself is tested in test_sync_scoring)."""

    offset: int
    confidence: float

    def load(self, device: torch.device) -> None:
        return None

    def measure(self, models: None, path: Path) -> SyncMeasurement:
        return SyncMeasurement(self.offset, self.confidence)


@pytest.mark.parametrize(("offset", "confidence", "reason"), [
    (0, 2.9, "low_sync_confidence"), (7, 8.0, "offset_too_large"), (-7, 8.0, "offset_too_large"),
    (0, 3.0, None), (2, 5.0, None), (-6, 5.0, None)])
def test_sync_stage_decisions_and_audio_correction(tmp_path, offset, confidence, reason):
    audio = np.random.default_rng(1).uniform(-0.3, 0.3, 40 * SAMPLES_PER_FRAME)
    _write(tmp_path / "clip.mp4", [_pattern(index % 4) for index in range(40)], audio)
    stage = AudioVisualSync(3, sync_measure=FixedMeasure(offset, confidence))
    assert stage.folder == "av_synced_3"
    record = run_clip(stage, tmp_path, tmp_path / stage.folder, "clip.mp4")
    assert record.reason == reason
    assert record.measures == {"offset": offset, "confidence": confidence}
    if reason is not None:
        assert not (tmp_path / stage.folder / "clip.mp4").exists()
        return
    output = tmp_path / stage.folder / "clip.mp4"
    assert _video_packets(output) == _video_packets(tmp_path / "clip.mp4")  # the video is never re-encoded
    before, after = load_audio(tmp_path / "clip.mp4"), load_audio(output)
    assert len(after) == len(before)
    shift = offset * SAMPLES_PER_FRAME
    window = slice(2000 + max(shift, 0), 20000 + min(shift, 0))
    moved = before[window.start - shift: window.stop - shift]
    assert np.corrcoef(after[window], moved)[0, 1] > 0.95


class BoxesFromBrightness:
    """Stand-in mediapipe face detection: one face box of the frame's size when the frame is bright, none when it
    is dark, two when it is mid-grey (what the filters decide on)."""

    def detect_all(self, image):
        level = image.mean()
        return [(0.0, 0.0, 1.0, 1.0)] * (0 if level < 60 else 2 if level < 180 else 1)


@pytest.mark.parametrize("stage", [HighResolutionFilter(resolution=40), AlignmentCheck()])
def test_face_count_filters(tmp_path, stage):
    _LOADED_MODELS[(stage, "cpu")] = BoxesFromBrightness()
    try:
        bright, grey = np.full((48, 64, 3), 230, np.uint8), np.full((48, 64, 3), 120, np.uint8)
        _write(tmp_path / "one.mp4", [bright] * 5)
        _write(tmp_path / "two.mp4", [bright] * 3 + [grey] * 2)
        assert run_clip(stage, tmp_path, tmp_path / "out", "one.mp4").decision == "kept"
        record = run_clip(stage, tmp_path, tmp_path / "out", "two.mp4")
        assert (record.reason, record.measures["faces"]) == ("not_one_face", 2)
        if isinstance(stage, HighResolutionFilter):
            small = HighResolutionFilter(resolution=49)  # the 48-px-high box is too small
            _LOADED_MODELS[(small, "cpu")] = BoxesFromBrightness()
            assert run_clip(small, tmp_path, tmp_path / "out", "one.mp4").reason == "face_too_small"
    finally:
        _LOADED_MODELS.clear()


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory) -> Path:
    """5 frames of the demo clip at 270x480 with noise for audio."""
    from tests.helpers.demo_clips import demo_frames

    return _write(tmp_path_factory.mktemp("face") / "face.mp4", demo_frames(5, step=4))


def test_face_filters_use_mediapipe_face_detection_as_the_original(face_clip):
    """The original's filters: mediapipe's short-range detector at confidence 0.5, box size in whole pixels."""
    folder, out = face_clip.parent, face_clip.parent / "filtered"
    kept_record = run_clip(HighResolutionFilter(resolution=64), folder, out, face_clip.name)
    assert kept_record.decision == "kept" and 64 <= kept_record.measures["face_size"] < 270
    too_small = run_clip(HighResolutionFilter(resolution=kept_record.measures["face_size"] + 1), folder, out,
                         face_clip.name)
    assert too_small.reason == "face_too_small"
    assert run_clip(AlignmentCheck(), folder, out, face_clip.name).decision == "kept"


@pytest.mark.parametrize("resolution, backend, fix", [(512, "insightface", "pip install insightface"),
                                                      (256, "face_alignment", "pip install face-alignment")])
def test_release_backend_that_cannot_run_stops_the_run(tmp_path, capsys, monkeypatch, resolution, backend, fix):
    """No silent fallback: the release's landmark backend (as inference's) or a one-line error naming the fix."""
    from latentsync.face.landmarks import selection

    real_problem = selection.backend_problem
    monkeypatch.setattr(selection, "backend_problem", lambda name, weights_dir: f"the {name} package is not "
                        "installed" if name == backend else real_problem(name, weights_dir))
    raw = tmp_path / "raw"
    raw.mkdir()
    _write(raw / "a.mp4", [_pattern(0)] * 3)
    assert _cli("--input_dir", str(raw), "--output_root", str(tmp_path / "out"), "--weights_dir", str(tmp_path),
                "--resolution", str(resolution)) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert f"aligns faces with {backend}" in error and fix in error and "--face_backend" in error
    assert AffineTransform(resolution).backend == backend
    AffineTransform(resolution, "mediapipe").check()  # named explicitly: used, no release check


@pytest.mark.parametrize("encoding, crfs", [("standard", [18]), ("original", [13, 23])])
def test_aligned_clip_encodes(face_clip, monkeypatch, encoding, crfs):
    """``standard`` encodes once at CRF 18; ``original`` at CRF 13, then again with the audio at x264's default 23."""
    from latentsync.data_processing import affine_transform
    from tests.helpers.x264 import x264_settings

    writers = []

    class RecordingWriter(VideoWriter):
        def __init__(self, path, **settings):
            super().__init__(path, **settings)
            writers.append((self.crf, settings.get("audio") is not None))

    monkeypatch.setattr(affine_transform, "VideoWriter", RecordingWriter)
    stage = affine_transform.AffineTransform(64, "mediapipe", encoding=encoding)
    record = run_clip(stage, face_clip.parent, face_clip.parent / encoding, face_clip.name)
    assert record.decision == "kept"
    assert writers == [(crf, index == len(crfs) - 1) for index, crf in enumerate(crfs)]  # audio joined last
    output = face_clip.parent / encoding / record.outputs[0]
    assert f"crf={crfs[-1]}.0" in x264_settings(output)
    with av.open(str(output)) as container:
        assert container.streams.video[0].frames == 5 and container.streams.audio
        assert (container.streams.video[0].width, container.streams.video[0].height) == (64, 64)
    assert list(output.parent.iterdir()) == [output]  # the CRF 13 stage stays in a removed temporary folder


def test_aligned_clips_in_the_originals_float16(face_clip):
    crops = {}
    for dtype in ("float32", "float16"):
        stage = AffineTransform(64, "mediapipe", align_dtype=dtype)
        record = run_clip(stage, face_clip.parent, face_clip.parent / dtype, face_clip.name)
        crops[dtype] = np.stack(list(VideoReader(face_clip.parent / dtype / record.outputs[0]).frames()))
    assert crops["float32"].shape == crops["float16"].shape == (5, 64, 64, 3)
    assert not np.array_equal(crops["float32"], crops["float16"])


def test_local_pool_gives_the_same_records_as_serial(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for index in range(3):
        _write(raw / f"clip {index}.mp4", [_pattern(index)] * 5)
    (raw / "bad.mp4").write_bytes(b"junk" * 50)
    clips = sorted(path.name for path in raw.iterdir())

    def records(executor):
        with executor:
            found = {record.clip: record for record in executor.map(Resample(), raw, tmp_path / "out", clips)}
        return {clip: (record.decision, record.reason, record.outputs) for clip, record in found.items()}

    serial = records(SerialExecutor())
    pooled = records(LocalExecutor(total_num_workers=2))
    assert pooled == serial
    assert serial["bad.mp4"][:2] == ("rejected", "unreadable")


def test_summary_counts_clips_hours_and_reasons():
    records = {
        "a": LedgerRecord.of("a", kept("a"), 3600.0, 1.0),
        "b": LedgerRecord.of("b", rejected("no_face", "x"), 1800.0, 1.0),
        "c": LedgerRecord.of("c", rejected("no_face", "y"), 0.0, 1.0),
    }
    table = summary_table([("affine_transformed", records)])
    row = table.splitlines()[2].split()
    assert row[:5] == ["affine_transformed", "3", "1.500", "1", "1.000"]
    assert table.splitlines()[2].endswith("no_face: 2")


def _cli(*args: str) -> int:
    return pipeline_cli.main(["--no_progress", *args])


def test_cli_rejects_bad_runs_before_any_work(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    weights = tmp_path / "weights"
    weights.mkdir()
    assert _cli("--input_dir", str(tmp_path / "missing"), "--weights_dir", str(weights)) == 2
    assert "does not exist" in capsys.readouterr().err
    assert _cli("--input_dir", str(raw), "--weights_dir", str(weights)) == 2
    assert "holds no video" in capsys.readouterr().err
    _write(raw / "a.mp4", [_pattern(0)] * 3)
    assert _cli("--input_dir", str(raw), "--output_root", str(raw / "out"), "--weights_dir", str(weights)) == 2
    assert "inside the input folder" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert _cli("--input_dir", str(raw), "--output_root", str(blocker / "out"), "--weights_dir", str(weights)) == 2
    assert "cannot be written" in capsys.readouterr().err
    assert _cli("--input_dir", str(raw), "--output_root", str(tmp_path / "out"), "--weights_dir", str(weights),
                "--face_backend", "mediapipe") == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "--auxiliary" in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "raw", "weights"]  # nothing started


def test_stage_folder_may_not_be_the_input_folder(tmp_path):
    raw = tmp_path / "resampled"
    raw.mkdir()
    _write(raw / "a.mp4", [_pattern(0)] * 3)
    with pytest.raises(InputError, match="would be or contain the input folder"):
        check_run(raw, None, [Resample()])


def test_missing_weights_name_the_file(tmp_path):
    stages = build_stages(landmark_detector="mediapipe", syncnet_weights=tmp_path / "syncnet_v2.model",
                          s3fd_weights=tmp_path / "sfd_face.pth",
                          hyperiqa_weights=tmp_path / "koniq_pretrained.pkl")
    with pytest.raises(CheckpointError, match="syncnet_v2.model"):
        for stage in stages:
            stage.check()


def test_one_run_per_output_root(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    _write(raw / "a.mp4", [_pattern(0)] * 3)
    out = tmp_path / "out"
    out.mkdir()
    with (out / LOCK_NAME).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another data-processing run"):
            run_pipeline(raw, [BrokenVideoFilter()], out, progress=False)
    result = run_pipeline(raw, [BrokenVideoFilter(), Resample()], out, progress=False)
    assert result.final_clips == [out / "resampled" / "a.mp4"]
    assert result.clips_processed == 2


def test_fileslist_cli_writes_list_hours_and_histogram(tmp_path, capsys):
    folder = tmp_path / "clips"
    (folder / "sub").mkdir(parents=True)
    _write(folder / "a.mp4", [_pattern(0)] * 25)
    _write(folder / "sub" / "b.mp4", [_pattern(1)] * 50)
    (folder / ".b.partial-x.mp4").write_bytes(b"")
    output, histogram = tmp_path / "list.txt", tmp_path / "durations.png"
    assert fileslist_cli.main([str(folder), "--output", str(output), "--histogram", str(histogram)]) == 0
    assert output.read_text().splitlines() == [str(folder / "a.mp4"), str(folder / "sub" / "b.mp4")]
    assert "2 clips, 0.001 hours" in capsys.readouterr().out
    assert histogram.read_bytes()[:4] == b"\x89PNG"
    assert fileslist_cli.main([str(tmp_path / "nothing")]) == 2


@pytest.mark.slow
def test_syncnet_measure_loads_its_weights_and_rejects_a_clip_without_face_track(tmp_path):
    """The real measure end to end on a tiny clip: strict loading of both files, S3FD, the tracker's verdict."""
    from latentsync.data_processing.av_sync import SyncNetMeasure
    from latentsync.analysis.syncnet_v2 import SyncNetV2
    from latentsync.models.s3fd import S3FDNet

    torch.save(SyncNetV2().state_dict(), tmp_path / "syncnet_v2.model")
    torch.save(S3FDNet().state_dict(), tmp_path / "sfd_face.pth")
    stage = AudioVisualSync(3, sync_measure=SyncNetMeasure(str(tmp_path / "syncnet_v2.model"),
                                                           str(tmp_path / "sfd_face.pth")))
    stage.check()
    _write(tmp_path / "clip.mp4", [_pattern(index) for index in range(8)])
    try:
        record = run_clip(stage, tmp_path, tmp_path / "out", "clip.mp4")
    finally:
        _LOADED_MODELS.clear()
    assert record.reason == "no_face_track"
    assert "face track" in record.detail


def test_landmark_backend_without_weights_stops_the_run_before_work(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    _write(raw / "a.mp4", [_pattern(0)] * 3)
    code = _cli("--input_dir", str(raw), "--output_root", str(tmp_path / "out"), "--weights_dir", str(tmp_path),
                "--face_backend", "insightface")
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "insightface" in error.lower()


@dataclass(frozen=True)
class FailingStage(Stage):
    """Keeps every clip in place unless ``marker`` exists; then its clips fail with ``error``."""

    folder: ClassVar[str] = "failing"
    writes_outputs: ClassVar[bool] = False
    marker: str = ""
    error: Exception = RuntimeError("flaky")

    def process(self, source: Path, output_dir: Path, clip: str):
        if clip.startswith("dark"):
            return rejected("too_dark", "measured brightness 0")
        if Path(self.marker).exists():
            raise self.error
        return kept(clip)


def _raw_folder(tmp_path: Path, *names: str) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for index, name in enumerate(names):
        _write(raw / name, [_pattern(index)] * 2)
    return raw


def test_unreadable_weights_stop_the_run_before_any_work(tmp_path, capsys):
    """0-byte weights are found by loading them at start-up: one line naming the file, exit 2, nothing written."""
    raw = _raw_folder(tmp_path, "a.mp4")
    weights = tmp_path / "weights"
    weights.mkdir()
    for name in ("syncnet_v2.model", "sfd_face.pth", "koniq_pretrained.pkl"):
        (weights / name).write_bytes(b"")
    assert _cli("--input_dir", str(raw), "--output_root", str(tmp_path / "out"), "--weights_dir", str(weights),
                "--face_backend", "mediapipe") == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert "syncnet_v2.model" in error and "--auxiliary" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device", "/data/out/a.mp4"),
                                   ModuleNotFoundError("No module named 'mediapipe'"),
                                   CheckpointError("checkpoint w.pth cannot be read; re-download it")],
                         ids=["disk_full", "missing_package", "unreadable_weights"])
def test_a_failing_machine_stops_the_run_and_rejects_no_clip(tmp_path, error):
    raw = _raw_folder(tmp_path, "a.mp4", "b.mp4")
    marker = tmp_path / "fail"
    marker.touch()
    with pytest.raises(EnvironmentProblem, match=r"^stage failing, clip 'a.mp4': .*(space|package|re-download)"):
        run_pipeline(raw, [FailingStage(str(marker), error)], tmp_path / "out", progress=False)
    assert Ledger(tmp_path / "out" / "ledgers" / "failing.jsonl").read() == {}
    marker.unlink()
    assert run_pipeline(raw, [FailingStage(str(marker), error)], tmp_path / "out", progress=False).clips_processed == 2


def test_disk_full_in_a_worker_process_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    raw = _raw_folder(tmp_path, "a.mp4", "b.mp4")
    marker = tmp_path / "fail"
    marker.touch()
    stage = FailingStage(str(marker), OSError(errno.ENOSPC, "No space left on device", "/data/out/a.mp4"))
    monkeypatch.setattr(driver, "build_stages", lambda *args: [stage])
    assert _cli("--input_dir", str(raw), "--output_root", str(tmp_path / "out"), "--total_num_workers", "2") == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert re.match(r"error: stage failing, clip '[ab].mp4': No space left on device \(/data/out/a.mp4\); free space",
                    error)


def test_clips_that_failed_are_retried_and_measured_decisions_are_final(tmp_path):
    raw = _raw_folder(tmp_path, "a.mp4", "dark.mp4")
    marker = tmp_path / "fail"
    marker.touch()
    stages, out = [FailingStage(str(marker))], tmp_path / "out"
    first = run_pipeline(raw, stages, out, progress=False)
    records = dict(first.stages)["failing"]
    assert (records["a.mp4"].reason, records["dark.mp4"].reason) == ("error", "too_dark")
    assert first.final_clips == []
    marker.unlink()
    second = run_pipeline(raw, stages, out, progress=False)
    assert second.clips_processed == 1  # a.mp4 again; dark.mp4's measured rejection stands
    assert second.final_clips == [raw / "a.mp4"]
    assert run_pipeline(raw, stages, out, progress=False).clips_processed == 0


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_outputs_have_a_new_files_permissions(tmp_path, umask):
    """Stream-copied clips, ledgers and the file list are created like any file (0o666 less the umask)."""
    raw = _raw_folder(tmp_path, "a.mp4")
    previous = os.umask(umask)
    try:
        run_pipeline(raw, [BrokenVideoFilter(), Resample(), Segmenter()], tmp_path / "out", progress=False)
    finally:
        os.umask(previous)
    written = sorted((tmp_path / "out").rglob("*"))
    assert {path.relative_to(tmp_path / "out").as_posix() for path in written} >= {
        "resampled/a.mp4", "segmented/a_000.mp4", "ledgers/resampled.jsonl", "fileslist.txt"}
    modes = {path.relative_to(tmp_path / "out").as_posix(): stat.S_IMODE(path.stat().st_mode) for path in written}
    assert modes == {name: (0o777 if (tmp_path / "out" / name).is_dir() else 0o666) & ~umask for name in modes}


def test_ray_reports_a_tasks_environment_problem_as_itself():
    """Ray wraps a task's exception in its own traceback report; the driver re-raises the one-line problem."""
    ray = pytest.importorskip("ray")
    problem = EnvironmentProblem("stage failing, clip 'a.mp4': No space left on device (/data/a.mp4); free space")

    def get(done):
        raise ray.exceptions.RayTaskError("run_clip", "Traceback (most recent call last): ...", problem)

    executor = RayExecutor.__new__(RayExecutor)  # no cluster: only how results are collected is under test
    executor._ray = SimpleNamespace(get=get, exceptions=ray.exceptions)
    with pytest.raises(EnvironmentProblem) as raised:
        executor._get(["task"])
    assert raised.value is problem


@dataclass(frozen=True)
class UnloadableStage(Stage):
    """A stage whose models cannot be built in this process (as on a worker that lacks a package)."""

    folder: ClassVar[str] = "unloadable"
    writes_outputs: ClassVar[bool] = False

    def load(self, device: torch.device) -> None:
        raise InputError("the foo landmark backend needs the foo package; pip install foo")

    def process(self, source: Path, output_dir: Path, clip: str):
        self.models()
        return kept(clip)


def test_models_that_fail_to_load_on_a_worker_stop_the_run(tmp_path):
    raw = _raw_folder(tmp_path, "a.mp4")
    with pytest.raises(EnvironmentProblem, match=r"^stage unloadable: its models cannot be loaded \(the foo .*foo\)$"):
        run_pipeline(raw, [UnloadableStage()], tmp_path / "out", progress=False)
    assert Ledger(tmp_path / "out" / "ledgers" / "unloadable.jsonl").read() == {}
