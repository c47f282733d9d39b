"""Every command that writes a file, run as the README shows it: an output that is one of its inputs, in a folder that
does not exist, or where no file can be created (``/proc``: ``os.access`` says yes there, for root too) is one
``error:`` line (exit 2) before any work, and nothing is written. The defaults that write into the current folder
are said in ``--help``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from latentsync.analysis.syncnet_v2 import SyncNetV2
from latentsync.io.video_writer import VideoWriter
from tests.helpers.entry_points import error_line, run_entry_point
from tests.helpers.paths import REPO_ROOT
from tests.helpers.synthetic_video import frame_for_index, write_constant_rate_video

pytestmark = pytest.mark.slow  # each starts a command in a new process


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """clip.mp4 (1 s of frames without a face, with a quiet tone), mute.mp4 (no audio stream), notes.mp4 (text)."""
    folder = tmp_path_factory.mktemp("outputs")
    tone = (0.1 * np.sin(np.arange(16000) * 2 * np.pi * 220 / 16000)).astype(np.float32)
    with VideoWriter(folder / "clip.mp4", audio=tone, preset="ultrafast") as writer:
        for index in range(25):
            writer.write(frame_for_index(index))
    write_constant_rate_video(folder / "mute.mp4", fps=25, seconds=0.4)
    (folder / "notes.mp4").write_text("not a video\n" * 10)
    return folder


def test_sync_conf_csv_equal_to_the_video_leaves_the_video_alone(folder):
    before = (folder / "clip.mp4").read_bytes()
    line = error_line(run_entry_point("./eval/eval_sync_conf.sh", "--video_path", "clip.mp4", "--csv_path",
                                      "clip.mp4", cwd=folder))
    assert line.startswith("error: --csv_path 'clip.mp4' is the input 'clip.mp4'")
    assert (folder / "clip.mp4").read_bytes() == before


@pytest.mark.parametrize("video, problem", [("missing.mp4", "does not exist"), ("notes.mp4", "not a media file"),
                                            ("mute.mp4", "has no audio stream")])
def test_sync_conf_of_one_unusable_video_is_an_error_before_loading(folder, video, problem):
    line = error_line(run_entry_point("./eval/eval_sync_conf.sh", "--video_path", video, cwd=folder))
    assert video in line and problem in line
    assert not (folder / "sync_conf.csv").exists()


def test_sync_conf_of_one_video_without_a_face_is_an_error_not_a_skip(folder, tmp_path):
    torch.manual_seed(0)
    torch.save(SyncNetV2().state_dict(), tmp_path / "syncnet_v2.model")
    line = error_line(run_entry_point("./eval/eval_sync_conf.sh", "--video_path", str(folder / "clip.mp4"),
                                      "--initial_model", "syncnet_v2.model", "--detector", "mediapipe", "--device",
                                      "cpu", cwd=tmp_path))
    assert line.startswith("error: no face track") and "clip.mp4" in line
    assert list(tmp_path.iterdir()) == [tmp_path / "syncnet_v2.model"]  # no CSV, nothing left over


def test_offset_plot_equal_to_the_video(folder):
    line = error_line(run_entry_point("-m eval.plot_sync_offsets", "--video_path", "clip.mp4", "--output_path",
                                      "./clip.mp4", cwd=folder))
    assert "--output_path 'clip.mp4' is the input 'clip.mp4'" in line


def test_loss_chart_equal_to_a_checkpoint(tmp_path):
    (tmp_path / "checkpoint-10.pt").write_bytes(b"weights")
    line = error_line(run_entry_point("-m eval.draw_syncnet_lines", "--checkpoints", "checkpoint-10.pt",
                                      "--output_path", "checkpoint-10.pt", cwd=tmp_path))
    assert "is the input 'checkpoint-10.pt'" in line and (tmp_path / "checkpoint-10.pt").read_bytes() == b"weights"


def test_fileslist_outputs_are_checked_before_either_is_written(folder, tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes((folder / "clip.mp4").read_bytes())
    line = error_line(run_entry_point("-m data_processing.fileslist", "clips", "--output", "clips/a.mp4",
                                      cwd=tmp_path))
    assert "--output 'clips/a.mp4' is the input" in line
    line = error_line(run_entry_point("-m data_processing.fileslist", "clips", "--histogram", "missing_dir/h.png",
                                      cwd=tmp_path))
    assert "--histogram folder" in line and "missing_dir' does not exist" in line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clips"]  # no fileslist.txt either


def test_data_processing_output_root_that_cannot_be_written(folder, tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.mp4").write_bytes((folder / "clip.mp4").read_bytes())
    line = error_line(run_entry_point("./data_processing_pipeline.sh", "--input_dir", "raw", "--output_root",
                                      "/proc/processed", cwd=tmp_path))
    assert "--output_root '/proc/processed' cannot be written" in line


def test_download_into_a_folder_that_cannot_be_written(tmp_path):
    line = error_line(run_entry_point("-m scripts.download_checkpoints", "--checkpoints_dir", "/proc/checkpoints",
                                      "--assets_dir", "assets", cwd=tmp_path))
    assert "download folder '/proc/checkpoints' cannot be written" in line  # before any connection is tried


def test_training_output_folder_that_cannot_be_written(tmp_path):
    config = OmegaConf.load(REPO_ROOT / "configs/syncnet/syncnet_16_pixel_attn.yaml")
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "clip.mp4").touch()
    config.data.update(train_fileslist="", train_data_dir=str(tmp_path / "clips"), val_fileslist="",
                       train_output_dir="/proc/runs")
    OmegaConf.save(config, tmp_path / "my.yaml")
    line = error_line(run_entry_point("./train_syncnet.sh", "--config_path", "my.yaml", cwd=tmp_path))
    assert "data.train_output_dir '/proc/runs' cannot be written" in line


@pytest.mark.parametrize("command, default", [("-m eval.eval_sync_conf", "sync_conf.csv in the current folder"),
                                              ("-m eval.plot_sync_offsets", "sync_offsets.png in the current"),
                                              ("-m eval.draw_syncnet_lines", "syncnet_loss.pdf in the current"),
                                              ("-m data_processing.fileslist", "fileslist.txt in the current")])
def test_help_says_where_the_default_output_goes(command, default):
    result = run_entry_point(command, "--help")
    assert result.returncode == 0 and default in " ".join(result.stdout.split())
