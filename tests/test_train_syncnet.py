"""SyncNet trainer: a 2-process torchrun (gloo) run with gradient accumulation of a 32 px SyncNet on 64 px clips,
exact resume (one process), overfitting 4 clips, bad input before any step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.data import default_collate

from latentsync.cli import train_syncnet
from latentsync.data import SyncNetDataset
from latentsync.models.stable_syncnet import StableSyncNet, load_stable_syncnet
from latentsync.training.optimization import backward, clip_and_step
from latentsync.training.syncnet_step import syncnet_training_step
from tests.helpers.paths import shared_path
from tests.helpers.train_launch import assert_same_weights, checkpoint, run_dirs, torchrun, write_config
from tests.helpers.training_data import make_processed_dataset, write_fileslist

RESOLUTION = 32  # the tiny SyncNet's input (lower half: 16x32)
CLIP_RESOLUTION = 64  # the processed clips: resized to RESOLUTION as the original does


def syncnet_config(root: Path, fileslist: Path, **run) -> dict:
    return {
        "model": OmegaConf.to_container(OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml")).model),
        "ckpt": {"resume_ckpt_path": "", "inference_ckpt_path": "", "save_ckpt_steps": 1},
        "data": {"train_output_dir": str(root / "runs"), "num_val_samples": 4, "batch_size": 2,
                 "gradient_accumulation_steps": 2, "num_workers": 0, "latent_space": False, "num_frames": 16,
                 "resolution": RESOLUTION, "train_fileslist": str(fileslist), "train_data_dir": "",
                 "val_fileslist": str(fileslist), "val_data_dir": "", "audio_mel_cache_dir": str(root / "mel"),
                 "lower_half": True, "audio_sample_rate": 16000, "video_fps": 25},
        "optimizer": {"lr": 1e-3, "max_grad_norm": 1.0},
        "run": {"max_train_steps": 3, "validation_steps": 2, "mixed_precision_training": False, "seed": 42, **run},
    }


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("syncnet_data")
    return write_fileslist(make_processed_dataset(num_clips=4, seconds=2.4, resolution=CLIP_RESOLUTION),
                           root / "train.txt")


@pytest.fixture(scope="module")
def two_process_runs(clips, tmp_path_factory):
    """Run A: 3 steps on 2 processes, saving each step. Run B, in this process on one: the same run resumed from
    its step 1, to step 3, against its uninterrupted twin (a resume on 2 processes: ``test_train_unet``; both
    trainers resume through the same session code)."""
    root = tmp_path_factory.mktemp("syncnet_runs")
    config_path = write_config(root / "tiny_syncnet.yaml", syncnet_config(root, clips))
    torchrun("scripts.train_syncnet", "--config_path", str(config_path))
    (run_a,) = run_dirs(root / "runs")
    one_process_path = write_config(root / "one_process.yaml", syncnet_config(root / "one_process", clips))
    assert train_syncnet.main(["--config_path", str(one_process_path), "--device", "cpu"]) == 0
    (uninterrupted,) = run_dirs(root / "one_process" / "runs")
    assert train_syncnet.main(["--config_path", str(one_process_path), "--device", "cpu",
                               "--resume", str(uninterrupted / "checkpoints" / "checkpoint-1.pt")]) == 0
    run_b = next(p for p in run_dirs(root / "one_process" / "runs") if p != uninterrupted)
    return config_path, run_a, run_b, uninterrupted


@pytest.mark.distributed
def test_two_processes_write_checkpoints_in_the_original_format(two_process_runs):
    config_path, run_a, _, _ = two_process_runs
    saved = checkpoint(run_a, 3)
    assert saved["global_step"] == 3
    assert saved["train_step_list"] == [1, 2, 3] and len(saved["train_loss_list"]) == 3
    assert saved["val_step_list"] == [2] and 0 < saved["val_loss_list"][0] < 10
    config = OmegaConf.load(config_path)
    config.ckpt.inference_ckpt_path = str(run_a / "checkpoints" / "checkpoint-3.pt")
    syncnet = load_stable_syncnet(config)  # the loader U-Net training and eval_syncnet_acc use: strict
    assert torch.equal(syncnet.state_dict()["visual_encoder.conv_in.weight"],
                       saved["state_dict"]["visual_encoder.conv_in.weight"])
    first = checkpoint(run_a, 1)["state_dict"]
    assert any(not torch.equal(first[k], saved["state_dict"][k]) for k in first)  # it trained
    assert (run_a / "syncnet.yaml").is_file() and list((run_a / "loss_charts").glob("*.png"))


@pytest.mark.distributed
def test_resuming_at_step_1_reproduces_the_uninterrupted_run_bit_for_bit(two_process_runs):
    _, _, run_b, uninterrupted_run = two_process_runs
    assert not (run_b / "checkpoints" / "checkpoint-1.pt").exists()
    resumed, uninterrupted = checkpoint(run_b, 3), checkpoint(uninterrupted_run, 3)
    assert_same_weights(resumed["state_dict"], uninterrupted["state_dict"])
    assert resumed["train_loss_list"] == uninterrupted["train_loss_list"]


@pytest.mark.slow
def test_syncnet_loss_on_4_clips_falls_well_below_its_start(clips, tmp_path):
    """The trainer's step and optimizer code on one fixed sample per clip (the trainer itself draws new windows
    every epoch, which a tiny SyncNet cannot learn in a CPU test's budget)."""
    config = OmegaConf.create(syncnet_config(tmp_path, clips))
    dataset = SyncNetDataset.from_config(config.data, split="train", seed=0)
    dataset.set_epoch(0)
    batch = default_collate([dataset[index] for index in range(4)])
    torch.manual_seed(0)
    syncnet = StableSyncNet(config.model).train()
    optimizer = torch.optim.AdamW(syncnet.parameters(), lr=1e-3)
    losses = []
    for _ in range(15):
        loss = syncnet_training_step(batch, syncnet, lower_half=True).loss
        backward(loss)
        clip_and_step(optimizer, syncnet.parameters(), max_grad_norm=1.0)
        losses.append(float(loss))
    start, end = sum(losses[:3]) / 3, sum(losses[-5:]) / 5
    assert end < 0.5 * start, (start, end)


def _expect_bad_input(capsys, config_path: Path, *extra: str) -> str:
    assert train_syncnet.main(["--config_path", str(config_path), "--device", "cpu", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_bad_input_fails_with_one_line_and_exit_2_before_any_step(clips, tmp_path, capsys):
    def config_with(**data) -> Path:
        config = syncnet_config(tmp_path, clips)
        config["data"].update(data)
        return write_config(tmp_path / "bad.yaml", config)

    assert "missing.txt" in _expect_bad_input(capsys, config_with(train_fileslist=str(tmp_path / "missing.txt")))
    (tmp_path / "empty.txt").write_text("\n")
    assert "empty.txt" in _expect_bad_input(capsys, config_with(train_fileslist=str(tmp_path / "empty.txt")))
    (tmp_path / "ghost.txt").write_text(clips.read_text() + str(tmp_path / "ghost.mp4") + "\n")
    assert "ghost.mp4" in _expect_bad_input(capsys, config_with(train_fileslist=str(tmp_path / "ghost.txt")))
    config = syncnet_config(tmp_path, clips, max_train_steps=0)
    assert "run.max_train_steps" in _expect_bad_input(capsys, write_config(tmp_path / "bad.yaml", config))
    (tmp_path / "not_a_folder").write_text("")
    assert "not_a_folder" in _expect_bad_input(capsys, config_with(train_output_dir=str(tmp_path / "not_a_folder")))
    assert "latest" in _expect_bad_input(capsys, config_with(), "--resume", "latest")
    # found after the run folder was made: the folder goes again, nothing was trained
    assert "cannot fill one batch" in _expect_bad_input(capsys, config_with(batch_size=100))
    assert not list(tmp_path.glob("runs/*"))


@pytest.mark.distributed
def test_a_bundle_from_another_config_is_refused(two_process_runs, tmp_path, capsys):
    config_path, run_a, _, _ = two_process_runs
    config = OmegaConf.load(config_path)
    config.optimizer.lr = 0.5
    other = write_config(tmp_path / "other.yaml", OmegaConf.to_container(config))
    message = _expect_bad_input(capsys, other, "--resume", str(run_a))
    assert "another config" in message
