"""End to end: eval_sync_conf.sh and the offset plot on a short, half-size cut of demo1 with random SyncNet weights.

Tests that need real faces tracked use ``--detector mediapipe`` (a random S3FD finds random boxes); the default
S3FD detector is checked for its wiring (weights, settings, one call per frame) and its missing-weights error.
"""

from __future__ import annotations

import csv
import subprocess

import cv2
import pytest
import torch

from latentsync.analysis.syncnet_v2 import SyncNetV2
from latentsync.cli import eval_sync_conf, plot_sync_offsets
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from latentsync.models.s3fd import S3FD, S3FDNet
from tests.helpers.paths import REPO_ROOT, shared_path
from tests.helpers.shell_env import environment_without_python, require_project_venv
from tests.helpers.synthetic_video import write_constant_rate_video

NUM_FRAMES = 60  # > min_track (50) frames, 55 SyncNet windows: keeps the CPU run short


@pytest.fixture(scope="module")
def clip_and_model(tmp_path_factory):
    """The first 2.4 s of demo1 at 540x960 with its own audio, and a random syncnet_v2.model."""
    source = shared_path("media", "demo1_video.mp4")
    folder = tmp_path_factory.mktemp("sync_conf")
    clip = folder / "demo1 cut.mp4"
    audio = load_audio(source)[: NUM_FRAMES * 640]
    with VideoWriter(clip, audio=audio, preset="ultrafast") as writer:
        for index, frame in enumerate(VideoReader(source).frames()):
            if index == NUM_FRAMES:
                break
            writer.write(cv2.resize(frame, (540, 960), interpolation=cv2.INTER_AREA))
    model_path = folder / "checkpoints" / "auxiliary" / "syncnet_v2.model"
    model_path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(SyncNetV2().state_dict(), model_path)
    return clip, model_path


@pytest.mark.slow
def test_shell_script_scores_the_video_and_writes_csv(clip_and_model, tmp_path):
    clip, model_path = clip_and_model
    csv_path = tmp_path / "out" / "sync_conf.csv"
    csv_path.parent.mkdir()  # a missing folder is an error, as for every output (not created: typos show)
    require_project_venv()
    result = subprocess.run(
        [str(REPO_ROOT / "eval" / "eval_sync_conf.sh"), "--video_path", str(clip),
         "--initial_model", str(model_path), "--csv_path", str(csv_path), "--min_face_size", "50", "--device", "cpu",
         "--detector", "mediapipe"],
        env=environment_without_python(), cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LSE-C" in result.stdout and "LSE-D" in result.stdout

    rows = list(csv.DictReader(csv_path.open()))
    assert [row["video"] for row in rows] == [str(clip), "MEAN"]
    video_row, mean_row = rows
    assert int(video_row["num_tracks"]) == 1 and -15 <= int(video_row["av_offset"]) <= 15
    assert float(video_row["lse_c"]) >= 0 and float(video_row["lse_d"]) > 0
    assert float(mean_row["lse_c"]) == pytest.approx(float(video_row["lse_c"]))
    assert float(mean_row["lse_d"]) == pytest.approx(float(video_row["lse_d"]))


@pytest.mark.slow
def test_folder_without_faces_is_reported_not_scored(clip_and_model, tmp_path):
    _, model_path = clip_and_model
    videos_dir = tmp_path / "videos"
    videos_dir.mkdir()
    write_constant_rate_video(videos_dir / "blank.mp4", fps=25, seconds=2.4)
    csv_path = tmp_path / "sync_conf.csv"
    with pytest.raises(SystemExit, match="no video could be scored"):
        eval_sync_conf.main(["--videos_dir", str(videos_dir), "--initial_model", str(model_path),
                             "--csv_path", str(csv_path), "--device", "cpu", "--detector", "mediapipe"])
    (row,) = csv.DictReader(csv_path.open())
    assert row["video"].endswith("blank.mp4") and "no face track" in row["error"] and row["lse_c"] == ""


@pytest.mark.slow
def test_offset_plot_is_written(clip_and_model, tmp_path):
    clip, model_path = clip_and_model
    output_path = tmp_path / "offsets.png"
    score = plot_sync_offsets.plot(plot_sync_offsets.parse_args([
        "--video_path", str(clip), "--initial_model", str(model_path), "--output_path", str(output_path),
        "--min_face_size", "50", "--device", "cpu", "--detector", "mediapipe", "--protocol", "lossless"]))
    assert len(score.tracks) == 1 and score.tracks[0].mean_dists.shape == (31,)
    image = cv2.imread(str(output_path))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100


@pytest.mark.slow
def test_s3fd_is_the_default_detector(clip_and_model, tmp_path, monkeypatch):
    _, model_path = clip_and_model
    s3fd_path = tmp_path / "sfd_face.pth"
    torch.manual_seed(0)
    torch.save(S3FDNet().state_dict(), s3fd_path)
    videos_dir = tmp_path / "videos"
    videos_dir.mkdir()
    write_constant_rate_video(videos_dir / "flat.mp4", fps=25, seconds=0.2, width=160, height=128)
    calls = []
    real_detect_faces = S3FD.detect_faces

    def recording_detect_faces(self, image, conf_th, scales):
        calls.append((image.shape, conf_th, tuple(scales)))
        return real_detect_faces(self, image, conf_th, scales)

    monkeypatch.setattr(S3FD, "detect_faces", recording_detect_faces)
    csv_path = tmp_path / "sync_conf.csv"
    with pytest.raises(SystemExit, match="no video could be scored"):  # 5 frames: shorter than any face track
        eval_sync_conf.main(["--videos_dir", str(videos_dir), "--initial_model", str(model_path),
                             "--s3fd_path", str(s3fd_path), "--csv_path", str(csv_path), "--device", "cpu"])
    assert calls == [((128, 160, 3), 0.9, (0.25,))] * 5  # the published protocol's settings, every frame
    (row,) = csv.DictReader(csv_path.open())
    assert "no face track" in row["error"]


@pytest.mark.slow
def test_missing_s3fd_weights_fail_before_any_work(clip_and_model, tmp_path, capsys):
    clip, model_path = clip_and_model
    csv_path = tmp_path / "sync_conf.csv"
    code = eval_sync_conf.main(["--video_path", str(clip), "--initial_model", str(model_path), "--csv_path",
                                str(csv_path), "--s3fd_path", str(tmp_path / "sfd_face.pth"), "--device", "cpu"])
    assert code == 2 and not csv_path.exists()
    error = capsys.readouterr().err
    assert error.startswith("error: S3FD weights") and "sfd_face.pth not found; run ./setup_env.sh --auxiliary" in error
