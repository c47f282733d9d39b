"""Training configs are checked key by key; resume bundles are found, and refused when they do not fit."""

from __future__ import annotations

import importlib
import inspect
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from latentsync.config.schema import constructor_keys
from latentsync.config.syncnet_config import load_syncnet_training_config
from latentsync.config.unet_config import load_unet_training_config
from latentsync.errors import InputError
from latentsync.training.checkpointing import create_run_dir, save_training_checkpoint
from latentsync.training.resume import (capture_rng_state, find_resume_bundle, load_resume_bundle,
                                        restore_rng_state, save_resume_bundle)
from tests.helpers.paths import REPO_ROOT

UNET_CONFIGS = sorted((REPO_ROOT / "configs" / "unet").glob("*.yaml"))
SYNCNET_CONFIGS = sorted((REPO_ROOT / "configs" / "syncnet").glob("*.yaml"))


@pytest.mark.parametrize("path", UNET_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_unet_config_is_accepted(path):
    config = load_unet_training_config(path)
    assert config.optimizer.lr > 0 and config.data.num_frames == 16


@pytest.mark.parametrize("path", SYNCNET_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_syncnet_config_is_accepted(path):
    assert load_syncnet_training_config(path).data.gradient_accumulation_steps >= 1


@pytest.mark.parametrize("dotted", ["run.use_mixed_nosie", "optimizer.momentum", "model.cross_attn_dim",
                                    "model.motion_module_kwargs.num_heads", "extra.key"])
def test_an_unknown_unet_key_fails_naming_it(tmp_path, dotted):
    config = OmegaConf.load(UNET_CONFIGS[0])
    OmegaConf.update(config, dotted, 1, force_add=True)
    OmegaConf.save(config, tmp_path / "bad.yaml")
    with pytest.raises(InputError, match=dotted.split(".")[-1]):
        load_unet_training_config(tmp_path / "bad.yaml")


@pytest.mark.parametrize("module, name", [("latentsync.models.unet", "UNet3DConditionModel"),
                                          ("latentsync.models.motion_module", "VanillaTemporalModule"),
                                          ("latentsync.models.syncnet_blocks", "DownEncoder2D")])
def test_model_keys_read_from_the_source_are_the_constructors(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert constructor_keys(module, name) == set(inspect.signature(cls.__init__).parameters) - {"self"}


def test_checking_a_config_imports_no_torch():
    code = ("import sys; from latentsync.config.unet_config import load_unet_config; "
            "load_unet_config('configs/unet/stage2_512.yaml'); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)


def test_an_unknown_syncnet_encoder_key_and_a_missing_required_key_fail(tmp_path):
    config = OmegaConf.load(SYNCNET_CONFIGS[0])
    config.model.visual_encoder.kernel = 3
    OmegaConf.save(config, tmp_path / "bad.yaml")
    with pytest.raises(InputError, match=r"model\.visual_encoder\.kernel"):
        load_syncnet_training_config(tmp_path / "bad.yaml")
    config = OmegaConf.load(SYNCNET_CONFIGS[0])
    del config.run["seed"]
    OmegaConf.save(config, tmp_path / "missing.yaml")
    with pytest.raises(InputError, match=r"run\.seed"):
        load_syncnet_training_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("run, key", [({"max_train_steps": 0}, "run.max_train_steps"),
                                      ({"max_train_steps": -3}, "run.max_train_steps"),
                                      ({"max_train_steps": -1, "max_train_epochs": -1}, "run.max_train_epochs"),
                                      ({"max_train_steps": -1, "max_train_epochs": 0}, "run.max_train_epochs"),
                                      ({"max_train_epochs": -2}, "run.max_train_epochs"),
                                      ({"max_train_steps": 2.5}, "run.max_train_steps")])
def test_a_config_that_would_train_no_step_is_refused_naming_the_key(tmp_path, run, key):
    config = OmegaConf.load(UNET_CONFIGS[0])
    config.run.update(run)
    OmegaConf.save(config, tmp_path / "bad.yaml")
    with pytest.raises(InputError, match=key.replace(".", r"\.")) as error:
        load_unet_training_config(tmp_path / "bad.yaml")
    assert "\n" not in str(error.value)


def test_max_train_steps_minus_one_with_epochs_is_accepted_but_not_for_syncnet(tmp_path):
    config = OmegaConf.load(UNET_CONFIGS[0])
    config.run.update({"max_train_steps": -1, "max_train_epochs": 3})
    OmegaConf.save(config, tmp_path / "epochs.yaml")
    assert load_unet_training_config(tmp_path / "epochs.yaml").run.max_train_epochs == 3
    config = OmegaConf.load(SYNCNET_CONFIGS[0])
    config.run.max_train_steps = -1
    OmegaConf.save(config, tmp_path / "syncnet.yaml")
    with pytest.raises(InputError, match=r"run\.max_train_steps -1"):
        load_syncnet_training_config(tmp_path / "syncnet.yaml")


def test_optional_keys_get_their_defaults(tmp_path):
    config = OmegaConf.load(UNET_CONFIGS[0])
    del config.run["use_mixed_noise"]
    OmegaConf.save(config, tmp_path / "short.yaml")
    assert load_unet_training_config(tmp_path / "short.yaml").run.use_mixed_noise is True


def _write_bundle(run_root: Path, config, step: int, lr_scheduler=None) -> Path:
    run_dir = create_run_dir(run_root, {"unet.yaml": config})
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    checkpoint = save_training_checkpoint(run_dir, step, model.state_dict())
    return save_resume_bundle(checkpoint, config=config, global_step=step,
                              rank_states=[{"rng": capture_rng_state(torch.device("cpu")), "sampler": {}}],
                              optimizer=optimizer, lr_scheduler=lr_scheduler, grad_scaler=None)


def test_resume_latest_finds_the_newest_complete_bundle_and_refuses_other_configs(tmp_path):
    config = load_unet_training_config(UNET_CONFIGS[0])
    first = _write_bundle(tmp_path, config, 5)
    second = _write_bundle(tmp_path, config, 7)
    assert first.parent.parent != second.parent.parent  # a run never reuses another run's folder
    assert find_resume_bundle("latest", tmp_path) == second
    assert find_resume_bundle(second.parent.parent, tmp_path) == second
    second.with_name("checkpoint-7.pt").unlink()  # a bundle without its checkpoint does not count
    assert find_resume_bundle("latest", tmp_path) == first

    bundle = load_resume_bundle(first, config, world_size=1)
    assert bundle["global_step"] == 5 and bundle["checkpoint_path"] == first.with_name("checkpoint-5.pt")
    config.run.max_train_steps = 99  # neutral with a constant LR schedule
    load_resume_bundle(first, config, world_size=1)
    config.optimizer.lr = 1.0
    with pytest.raises(InputError, match="another config"):
        load_resume_bundle(first, config, world_size=1)
    with pytest.raises(InputError, match="2 processes|this run has 2"):
        load_resume_bundle(first, load_unet_training_config(UNET_CONFIGS[0]), world_size=2)
    with pytest.raises(InputError, match="no resume bundle"):
        find_resume_bundle("latest", tmp_path / "empty")


def test_rng_states_round_trip():
    state = capture_rng_state(torch.device("cpu"))
    expected = (torch.rand(3), np.random.rand(), random.random())
    restore_rng_state(state, torch.device("cpu"))
    assert torch.equal(torch.rand(3), expected[0])
    assert np.random.rand() == expected[1] and random.random() == expected[2]
