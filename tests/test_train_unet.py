"""U-Net trainer: the two-stage recipe (stage 1 in one process, then stage 2 from its checkpoint on a 2-process
torchrun with gloo) that inference loads, exact resume, overfitting one clip (stage 1), and bad input failing
before any step. Tiny models throughout (64x64 faces, 8x8 latents)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from latentsync.cli import train_unet
from latentsync.models.checkpoint_io import save_checkpoint
from latentsync.models.unet import UNet3DConditionModel
from latentsync.models.unet_loading import load_unet
from tests.helpers.paths import REPO_ROOT, shared_path
from tests.helpers.tiny_models import TINY_RESOLUTION, tiny_unet_model_config, tiny_vae
from tests.helpers.train_launch import assert_same_weights, checkpoint, run_dirs, torchrun, write_config
from tests.helpers.training_data import make_processed_dataset, write_fileslist

WHISPER_DIM = 64  # the fake Whisper of ../shared/parity/audio


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Tiny VAE folder, a tiny stage-2 U-Net checkpoint to start from, the tiny SyncNet and its config."""
    root = tmp_path_factory.mktemp("unet_models")
    tiny_vae(0).save_pretrained(root / "vae")
    torch.manual_seed(0)
    unet = UNet3DConditionModel(**tiny_unet_model_config(WHISPER_DIM))
    with torch.no_grad():  # no zero-initialised layer, so gradients reach every trainable module
        for parameter in unet.parameters():
            parameter.normal_(0, 0.02)
    save_checkpoint(root / "start.pt", unet.state_dict(), global_step=0)
    syncnet = OmegaConf.load(shared_path("parity", "syncnet", "tiny_syncnet.yaml"))
    syncnet.data = {"resolution": 32, "lower_half": True, "latent_space": False}
    syncnet.ckpt = {"inference_ckpt_path": str(shared_path("parity", "syncnet", "tiny_syncnet.safetensors"))}
    OmegaConf.save(syncnet, root / "tiny_syncnet.yaml")
    return {"vae": root / "vae", "start": root / "start.pt", "syncnet_config": root / "tiny_syncnet.yaml",
            "whisper": shared_path("parity", "audio", "whisper_tiny_fake.pt")}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("unet_data")
    return write_fileslist(make_processed_dataset(num_clips=2, seconds=2.4, resolution=TINY_RESOLUTION),
                           root / "train.txt")


def unet_config(root: Path, fileslist: Path, models: dict[str, Path], stage2: bool = True, **run) -> dict:
    return {
        "data": {"syncnet_config_path": str(models["syncnet_config"]), "train_output_dir": str(root / "runs"),
                 "train_fileslist": str(fileslist), "train_data_dir": "",
                 "audio_embeds_cache_dir": str(root / "cache" / "embeds"),
                 "audio_mel_cache_dir": str(root / "cache" / "mel"), "val_video_path": "", "val_audio_path": "",
                 "batch_size": 1, "num_workers": 0, "num_frames": 16, "resolution": TINY_RESOLUTION,
                 "mask_image_path": None, "audio_sample_rate": 16000, "video_fps": 25, "audio_feat_length": [2, 2]},
        "ckpt": {"resume_ckpt_path": str(models["start"]) if stage2 else "", "save_ckpt_steps": 1},
        "run": {"pixel_space_supervise": stage2, "use_syncnet": stage2, "sync_loss_weight": 0.05,
                "perceptual_loss_weight": 0.0, "recon_loss_weight": 1, "guidance_scale": 1.0, "trepa_loss_weight": 0.0,
                "inference_steps": 2, "trainable_modules": ["motion_modules.", "attentions."] if stage2 else None,
                "seed": 1247, "use_mixed_noise": True, "mixed_noise_alpha": 1, "mixed_precision_training": False,
                "enable_gradient_checkpointing": stage2, "max_train_steps": 3, "max_train_epochs": -1, **run},
        "optimizer": {"lr": 1e-4, "scale_lr": False, "max_grad_norm": 1.0, "lr_scheduler": "cosine",
                      "lr_warmup_steps": 0},
        "model": OmegaConf.to_container(OmegaConf.merge(OmegaConf.load(REPO_ROOT / "configs/unet/stage2.yaml").model,
                                                        tiny_unet_model_config(WHISPER_DIM))),
    }


def model_args(models: dict[str, Path]) -> list[str]:
    return ["--vae_model_path", str(models["vae"]), "--whisper_model_path", str(models["whisper"]), "--no_validation"]


class RecordedLogs(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def two_stage_runs(clips, models, tmp_path_factory):
    """The original recipe, tiny. Stage 1 (one process, no motion modules) from a stage-2 checkpoint for one epoch
    (``max_train_steps: -1``: 2 clips = 2 steps). Run A: stage 2 from stage 1's checkpoint-2 on 2 processes to
    step 4, saving each step. Run B: run A resumed from its step 3, to step 4."""
    root = tmp_path_factory.mktemp("unet_runs")
    stage1 = unet_config(root / "stage1", clips, models, stage2=False, max_train_steps=-1, max_train_epochs=1)
    stage1["ckpt"]["resume_ckpt_path"] = str(models["start"])
    stage1["model"]["use_motion_module"] = False
    stage1_path = write_config(root / "tiny_stage1.yaml", stage1)
    logs, logger = RecordedLogs(), logging.getLogger("latentsync")
    level = logger.level
    logger.addHandler(logs)
    logger.setLevel(logging.INFO)
    try:
        assert train_unet.main(["--unet_config_path", str(stage1_path), "--device", "cpu", *model_args(models)]) == 0
    finally:
        logger.removeHandler(logs)
        logger.setLevel(level)
    (stage1_run,) = run_dirs(root / "stage1" / "runs")
    stage2 = unet_config(root, clips, models, max_train_steps=4)
    stage2["ckpt"]["resume_ckpt_path"] = str(stage1_run / "checkpoints" / "checkpoint-2.pt")
    config_path = write_config(root / "tiny_stage2.yaml", stage2)
    stage2_log = torchrun("scripts.train_unet", "--unet_config_path", str(config_path), *model_args(models)).stderr
    (run_a,) = run_dirs(root / "runs")
    torchrun("scripts.train_unet", "--unet_config_path", str(config_path), *model_args(models),
             "--resume", str(run_a / "checkpoints" / "checkpoint-3.pt"))
    run_b = next(p for p in run_dirs(root / "runs") if p != run_a)
    return {"stage1": stage1_run, "stage1_log": "\n".join(logs.lines), "config": config_path, "run_a": run_a,
            "stage2_log": stage2_log, "run_b": run_b}


@pytest.mark.distributed
def test_stage1_trains_one_epoch_from_a_released_checkpoint_ignoring_its_motion_modules(two_stage_runs):
    stage1, log = two_stage_runs["stage1"], two_stage_runs["stage1_log"]
    assert sorted(p.name for p in (stage1 / "checkpoints").glob("*.pt") if "resume" not in p.name) == \
        ["checkpoint-1.pt", "checkpoint-2.pt"]  # max_train_steps -1: 1 epoch x 2 batches
    assert checkpoint(stage1, 2)["global_step"] == 2
    assert not any("motion_modules" in k for k in checkpoint(stage1, 2)["state_dict"])
    assert "U-Net start (global_step 0)" in log and "0 missing" in log
    assert re.search(r"motion_modules: \d+ unexpected", log), log


@pytest.mark.distributed
def test_stage2_starts_from_stage1_with_fresh_motion_modules_and_continues_its_global_step(two_stage_runs):
    run_a, log = two_stage_runs["run_a"], two_stage_runs["stage2_log"]
    assert "U-Net start (global_step 2)" in log and "0 unexpected" in log
    assert re.search(r"motion_modules: \d+ missing", log), log
    assert sorted(p.name for p in (run_a / "checkpoints").glob("*.pt") if "resume" not in p.name) == \
        ["checkpoint-3.pt", "checkpoint-4.pt"]
    saved = checkpoint(run_a, 4)
    assert saved["global_step"] == 4
    unet = load_unet(two_stage_runs["config"], run_a / "checkpoints" / "checkpoint-4.pt")  # inference's strict loader
    start = checkpoint(two_stage_runs["stage1"], 2)["state_dict"]
    assert all("motion_modules." in k for k in unet.state_dict() if k not in start)
    changed = {k for k, v in unet.state_dict().items() if k in start and not torch.equal(v, start[k])}
    assert changed and all("attentions." in k for k in changed)
    assert any("motion_modules." in k for k in unet.state_dict() if k not in start
               and torch.count_nonzero(unet.state_dict()[k]) and "proj_out" in k)  # trained from zero
    assert (run_a / "unet.yaml").is_file() and list((run_a / "loss_charts").glob("*.png"))
    syncnet_config = Path(OmegaConf.load(run_a / "unet.yaml").data.syncnet_config_path)
    assert (run_a / "syncnet.yaml").read_text() == syncnet_config.read_text()  # copied, as the original does


@pytest.mark.distributed
def test_resuming_at_step_3_reproduces_the_uninterrupted_run_bit_for_bit(two_stage_runs):
    run_a, run_b = two_stage_runs["run_a"], two_stage_runs["run_b"]
    assert not (run_b / "checkpoints" / "checkpoint-3.pt").exists()
    assert_same_weights(checkpoint(run_b, 4)["state_dict"], checkpoint(run_a, 4)["state_dict"])


@pytest.mark.slow
def test_unet_recon_loss_on_one_clip_falls_well_below_its_start(clips, models, tmp_path):
    fileslist = write_fileslist(clips.read_text().split()[:1], tmp_path / "one.txt")
    config = unet_config(tmp_path, fileslist, models, stage2=False, max_train_steps=16)
    config["ckpt"]["save_ckpt_steps"] = 1000  # no start file: conv_in/conv_out start at zero, as the original's
    config["optimizer"].update(lr=5e-3, lr_scheduler="constant", lr_warmup_steps=0)
    config_path = write_config(tmp_path / "overfit.yaml", config)
    assert train_unet.main(["--unet_config_path", str(config_path), "--device", "cpu", *model_args(models)]) == 0
    (run,) = run_dirs(tmp_path / "runs")
    bundle = torch.load(run / "checkpoints" / "checkpoint-16.resume.pt", weights_only=True)
    losses = bundle["extras"]["history"]["recon_loss"]["values"]  # seeded, fp32: deterministic
    start, end = sum(losses[:3]) / 3, sum(losses[-5:]) / 5
    assert end < 0.5 * start, (start, end)


@pytest.mark.slow
def test_bad_input_fails_with_one_line_and_exit_2_before_any_step(clips, models, tmp_path, capsys):
    def expect(config: dict, *extra: str) -> str:
        path = write_config(tmp_path / "bad.yaml", config)
        assert train_unet.main(["--unet_config_path", str(path), "--device", "cpu", *model_args(models), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), err
        return err[0]

    good = unet_config(tmp_path, clips, models)
    bad = unet_config(tmp_path, clips, models)
    bad["run"]["use_mixed_nosie"] = True
    assert "use_mixed_nosie" in expect(bad)
    assert "run.max_train_steps" in expect(unet_config(tmp_path, clips, models, max_train_steps=0))
    assert "run.max_train_epochs" in expect(unet_config(tmp_path, clips, models, max_train_steps=-1))
    assert "run.max_train_epochs 0" in expect(unet_config(tmp_path, clips, models, max_train_epochs=0))
    save_checkpoint(tmp_path / "late.pt", torch.load(models["start"], weights_only=True)["state_dict"], global_step=3)
    late = unet_config(tmp_path, clips, models)  # max_train_steps 3
    late["ckpt"]["resume_ckpt_path"] = str(tmp_path / "late.pt")
    assert "global_step 3" in expect(late)
    assert "vae_missing" in expect(good, "--vae_model_path", str(tmp_path / "vae_missing"))
    assert "whisper_missing.pt" in expect(good, "--whisper_model_path", str(tmp_path / "whisper_missing.pt"))
    syncnet = OmegaConf.load(models["syncnet_config"])
    syncnet.ckpt.inference_ckpt_path = str(tmp_path / "syncnet_missing.pt")
    OmegaConf.save(syncnet, tmp_path / "syncnet.yaml")
    bad = unet_config(tmp_path, clips, models)
    bad["data"]["syncnet_config_path"] = str(tmp_path / "syncnet.yaml")
    assert "syncnet_missing.pt" in expect(bad)
    bad = unet_config(tmp_path, clips, models, trepa_loss_weight=10.0)
    assert "trepa_missing.pth" in expect(bad, "--trepa_ckpt_path", str(tmp_path / "trepa_missing.pth"))
    good_without_flag = [a for a in model_args(models) if a != "--no_validation"]
    path = write_config(tmp_path / "bad.yaml", good)
    assert train_unet.main(["--unet_config_path", str(path), "--device", "cpu", *good_without_flag,
                            "--sync_model_path", str(tmp_path / "syncnet_v2_missing.model")]) == 2
    assert "syncnet_v2_missing.model" in capsys.readouterr().err
    (tmp_path / "syncnet_v2.model").write_bytes(b"")
    assert train_unet.main(["--unet_config_path", str(path), "--device", "cpu", *good_without_flag,
                            "--sync_model_path", str(tmp_path / "syncnet_v2.model"),
                            "--s3fd_path", str(tmp_path / "sfd_face_missing.pth")]) == 2
    assert "sfd_face_missing.pth" in capsys.readouterr().err
    assert not list(tmp_path.glob("runs/*/checkpoints/*.pt"))


@pytest.mark.slow
def test_a_batch_whose_whisper_features_fail_is_skipped_and_many_in_a_row_stop_the_run(clips, models, tmp_path,
                                                                                     monkeypatch, capsys):
    from latentsync.training import unet_trainer

    failing = clips.read_text().split()[0]
    real_windows = unet_trainer.whisper_windows

    def whisper_failing_on_one_clip(encoder, paths, starts):
        if failing in paths:
            raise RuntimeError("the audio stream cannot be decoded")
        return real_windows(encoder, paths, starts)

    monkeypatch.setattr(unet_trainer, "whisper_windows", whisper_failing_on_one_clip)
    config = unet_config(tmp_path, clips, models, stage2=False, max_train_steps=2)
    config["model"]["use_motion_module"] = False
    path = write_config(tmp_path / "stage1.yaml", config)
    logs, logger = RecordedLogs(), logging.getLogger("latentsync")
    logger.addHandler(logs)
    try:
        assert train_unet.main(["--unet_config_path", str(path), "--device", "cpu", *model_args(models)]) == 0
    finally:
        logger.removeHandler(logs)
    skips = [line for line in logs.lines if line.startswith("skipping a training batch")]
    assert skips and all(failing in line for line in skips)  # the original's behaviour: that batch only
    assert checkpoint(run_dirs(tmp_path / "runs")[-1], 2)["global_step"] == 2  # two steps of the other clip

    def whisper_always_failing(encoder, paths, starts):
        raise RuntimeError("the audio stream cannot be decoded")

    monkeypatch.setattr(unet_trainer, "whisper_windows", whisper_always_failing)
    assert train_unet.main(["--unet_config_path", str(path), "--device", "cpu", *model_args(models)]) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 1
    error = err[err.index("error: "):].splitlines()[0]  # the progress bar may end its line without a newline
    assert error.startswith("error: 21 training batches in a row had no Whisper features (last: "), error
    assert "the audio stream cannot be decoded" in error
