"""One rule for the weights of every entry point: --checkpoints_dir, by default the checkout's checkpoints/, whatever
the current folder; a missing file's error names where it was looked for and how to get it there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentsync.cli import data_processing as data_pipeline
from latentsync.cli import eval_fvd, eval_sync_conf, eval_syncnet_acc
from latentsync.cli import download_checkpoints, inference, train_unet
from latentsync.evaluation import fvd
from latentsync.io.video_writer import VideoWriter
from latentsync.training.run_options import UNetTrainOptions
from tests.helpers.paths import REPO_ROOT
from tests.helpers.synthetic_video import frame_for_index

CHECKOUT_CHECKPOINTS = REPO_ROOT / "checkpoints"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Run from a folder that is not the checkout."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_entry_point_defaults_to_the_checkout_s_checkpoints(elsewhere):
    io = ["--video_path", "v.mp4", "--audio_path", "a.wav", "--video_out_path", "o.mp4"]
    parsed = [inference.parse_args(io), data_pipeline.parse_args(["--input_dir", "raw"]), eval_syncnet_acc.parse_args([]),
              train_unet.parse_args([])]
    assert [Path(args.checkpoints_dir) for args in parsed] == [CHECKOUT_CHECKPOINTS] * 4
    options = UNetTrainOptions(unet_config_path="u.yaml")
    assert options.sync_model_path == CHECKOUT_CHECKPOINTS / "auxiliary" / "syncnet_v2.model"
    assert options.whisper_path(384) == CHECKOUT_CHECKPOINTS / "whisper" / "tiny.pt"


def test_data_pipeline_looks_in_checkpoints_dir(elsewhere, capsys):
    raw = elsewhere / "raw"
    raw.mkdir()
    (raw / "a.mp4").write_bytes(b"\0")
    code = data_pipeline.main(["--no_progress", "--input_dir", "raw", "--output_root", "out", "--checkpoints_dir", "ck",
                               "--face_backend", "mediapipe"])
    assert code == 2
    assert f"{Path('ck') / 'auxiliary'}" in capsys.readouterr().err


def test_eval_sync_conf_looks_in_checkpoints_dir(elsewhere, capsys):
    with VideoWriter(elsewhere / "v.mp4", audio=np.zeros(640, np.float32), preset="ultrafast") as writer:
        writer.write(frame_for_index(0))  # a usable input: the weights are what is missing
    code = eval_sync_conf.main(["--video_path", "v.mp4", "--checkpoints_dir", str(elsewhere / "ck"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: checkpoint {elsewhere / 'ck' / 'auxiliary' / 'syncnet_v2.model'} not found; run "
                          "./setup_env.sh --auxiliary"), err


def test_eval_syncnet_acc_finds_the_config_s_checkpoint_in_checkpoints_dir(elsewhere, capsys):
    """syncnet_16_pixel_attn.yaml names checkpoints/stable_syncnet.pt: looked for in --checkpoints_dir, not in the
    current folder."""
    assert eval_syncnet_acc.main(["--checkpoints_dir", str(elsewhere / "ck"), "--device", "cpu"]) == 2
    assert capsys.readouterr().err.startswith(f"error: checkpoint {elsewhere / 'ck' / 'stable_syncnet.pt'} not found; "
                                              "run ./setup_env.sh --auxiliary")


def test_downloads_go_to_the_checkout_by_default(elsewhere, monkeypatch):
    planned = {}
    monkeypatch.setattr(download_checkpoints, "planned_files",
                        lambda releases, auxiliary, checkpoints_dir, assets_dir: planned.update(
                            checkpoints=checkpoints_dir, assets=assets_dir) or [])
    assert download_checkpoints.main([]) == 0
    assert planned == {"checkpoints": CHECKOUT_CHECKPOINTS, "assets": REPO_ROOT / "assets"}


def test_eval_fvd_default_i3d_is_in_checkpoints_dir(elsewhere, monkeypatch):
    class Loaded(Exception):
        pass

    def load_i3d(path, device):
        raise Loaded(path)

    monkeypatch.setattr(fvd, "load_i3d", load_i3d)
    with pytest.raises(Loaded) as loaded:
        eval_fvd.main(["--real_videos_dir", "r", "--fake_videos_dir", "f", "--checkpoints_dir", "ck"])
    assert loaded.value.args == (Path("ck") / "auxiliary" / "i3d_torchscript.pt",)
