"""The training launcher in-process: the caller's paths, torchrun's command line, checks before torchrun, how a
worker's failure is told, and the command runner's error line and error file under torchrun."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from torch.distributed.elastic.multiprocessing.errors import ProcessFailure

from latentsync.cli import launch_training as launcher
from latentsync.cli import train_unet
from latentsync.cli.launch_environment import launch_environment
from latentsync.cli.runner import run_command
from latentsync.errors import InputError
from tests.helpers.paths import REPO_ROOT


def test_paths_given_on_the_command_line_are_the_caller_s(tmp_path):
    (tmp_path / "my_vae").mkdir()
    given = ["--unet_config_path", "my.yaml", "--vae_model_path", "my_vae", "--whisper_model_path", "w/tiny.pt",
             "--resume", "runs/train-1", "--sync_model_path", "/abs/syncnet.model"]
    extra = launcher.caller_paths(train_unet.parse_args(given), train_unet.parse_args([]), tmp_path)
    assert extra == ["--unet_config_path", f"{tmp_path}/my.yaml", "--vae_model_path", f"{tmp_path}/my_vae",
                     "--whisper_model_path", f"{tmp_path}/w/tiny.pt", "--resume", f"{tmp_path}/runs/train-1"]
    # defaults (relative to the checkout), hub ids and "latest" are left alone
    kept = train_unet.parse_args(["--vae_model_path", "stabilityai/sd-vae-ft-mse", "--resume", "latest"])
    assert launcher.caller_paths(kept, train_unet.parse_args([]), tmp_path) == []
    # appended, they win over the caller's relative values
    assert train_unet.parse_args(given + extra).unet_config_path == f"{tmp_path}/my.yaml"


def test_torchrun_command_line_from_the_environment():
    user = ["--resume", "latest"]
    single = launch_environment({"NPROC_PER_NODE": "3"})
    assert launcher.torchrun_arguments("latentsync.cli.train_unet", user, single) == [
        "--nnodes", "1", "--nproc_per_node", "3", "--rdzv_backend", "c10d", "--rdzv_endpoint", "localhost:0",
        "-m", "latentsync.cli.train_unet", *user]
    several = launch_environment({"NPROC_PER_NODE": "2", "NNODES": "2", "RDZV_ENDPOINT": "node0:29400"})
    assert launcher.torchrun_arguments("latentsync.cli.train_syncnet", user, several)[:8] == [
        "--nnodes", "2", "--nproc_per_node", "2", "--rdzv_backend", "c10d", "--rdzv_endpoint", "node0:29400"]
    assert launcher.torchrun_arguments("m", [], launch_environment({}))[3] == "1"  # one process per GPU: none here
    elastic = launch_environment({"NNODES": "1:4", "RDZV_ENDPOINT": "[fd00::1]:29400"})
    assert (elastic.nnodes, elastic.rdzv_endpoint) == ("1:4", "[fd00::1]:29400")


@pytest.mark.parametrize("environment, message", [
    ({"NPROC_PER_NODE": "abc"}, "NPROC_PER_NODE='abc' is not a number of processes per machine; set a whole number "
                                "of at least 1 (e.g. NPROC_PER_NODE=2) or leave NPROC_PER_NODE unset"),
    ({"NPROC_PER_NODE": "0"}, "NPROC_PER_NODE='0' is not a number of processes per machine"),
    ({"NPROC_PER_NODE": "-2"}, "NPROC_PER_NODE='-2' is not a number of processes per machine"),
    ({"NNODES": "two", "RDZV_ENDPOINT": "node0:29400"}, "NNODES='two' is not a number of machines"),
    ({"NNODES": "4:2", "RDZV_ENDPOINT": "node0:29400"}, "NNODES='4:2': the least number of machines is above the most"),
    ({"NNODES": "2"}, "NNODES=2 needs RDZV_ENDPOINT=HOST:PORT, the same on every machine"),
    ({"RDZV_ENDPOINT": "node0"}, "RDZV_ENDPOINT='node0' is not HOST:PORT"),
    ({"RDZV_ENDPOINT": "node0:http"}, "RDZV_ENDPOINT='node0:http' is not HOST:PORT"),
    ({"RDZV_ENDPOINT": ":29400"}, "RDZV_ENDPOINT=':29400' is not HOST:PORT"),
    ({"RDZV_ENDPOINT": "node0:70000"}, "RDZV_ENDPOINT='node0:70000' is not HOST:PORT"),
    ({"NNODES": "2", "RDZV_ENDPOINT": "node0:0"}, "RDZV_ENDPOINT='node0:0': port 0 is a different random port on each machine"),
])
def test_malformed_launch_variables_are_named(environment, message):
    with pytest.raises(InputError) as error:
        launch_environment(environment)
    assert str(error.value).startswith(message), error.value


@pytest.fixture
def no_torchrun(monkeypatch):
    def started(arguments):
        raise AssertionError("torchrun was started")

    monkeypatch.setattr(launcher, "run_torchrun", started)
    monkeypatch.chdir(Path.cwd())  # the launcher moves into the checkout; the test's folder comes back


@pytest.mark.parametrize("module, flags, message", [
    ("latentsync.cli.train_syncnet", ["--config_path", "missing.yaml"], "error: config {cwd}/missing.yaml not found"),
    ("latentsync.cli.train_unet", [], "error: train_fileslist data/fileslist.txt does not exist"),
    ("latentsync.cli.train_unet", ["--unet_config_path", "my.yaml", "--vae_model_path", "my_vae"],
     "error: VAE folder my_vae not found; pass --vae_model_path a local diffusers folder"),
])
def test_bad_config_data_or_weights_stop_the_launcher_before_torchrun(tmp_path, capsys, no_torchrun, module, flags,
                                                                      message):
    config = OmegaConf.load(REPO_ROOT / "configs/unet/stage2_512.yaml")  # its data present, as the caller's
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "clip.mp4").touch()
    config.data.update(train_fileslist="", train_data_dir=str(tmp_path / "clips"))
    OmegaConf.save(config, tmp_path / "my.yaml")
    os.chdir(tmp_path)
    assert launcher.main([module, *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message.format(cwd=tmp_path)) and len(err.splitlines()) == 1, err
    assert Path.cwd() == REPO_ROOT  # where the workers would start


def test_usage_errors_end_in_the_launcher_in_one_line(capsys, no_torchrun):
    with pytest.raises(SystemExit) as exit_info:
        launcher.main(["latentsync.cli.train_unet", "--report_to", "wandb"])
    assert exit_info.value.code == 2 and len(capsys.readouterr().err.splitlines()) == 1


def test_help_works_whatever_the_launch_variables(capsys, monkeypatch, no_torchrun):
    monkeypatch.setenv("NPROC_PER_NODE", "abc")
    with pytest.raises(SystemExit) as exit_info:
        launcher.main(["latentsync.cli.train_unet", "--help"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("usage: ")


def _failure(tmp_path, rank: int, exitcode: int, message: str | None = None) -> ProcessFailure:
    error_file = tmp_path / f"error-{rank}.json"
    error_file.unlink(missing_ok=True)
    if message is not None:
        error_file.write_text(json.dumps({"message": message, "timestamp": 100 + rank}))
    return ProcessFailure(local_rank=rank, pid=1000 + rank, exitcode=exitcode, error_file=str(error_file))


def test_a_worker_s_bad_input_is_told_once(tmp_path, capsys):
    line = "error: 4 training clips cannot fill one batch"
    # rank 0 printed its line itself: the launcher adds nothing
    assert launcher.report_failed_workers({0: _failure(tmp_path, 0, 2, line), 1: _failure(tmp_path, 1, 2, line)}) == 2
    assert capsys.readouterr().err == ""
    # rank 0 was stopped by torchrun before it got there: the launcher prints rank 1's line
    assert launcher.report_failed_workers({0: _failure(tmp_path, 0, -15), 1: _failure(tmp_path, 1, 2, line)}) == 2
    assert capsys.readouterr().err == line + "\n"
    # a crash (its traceback is above): which rank, which code
    assert launcher.report_failed_workers({1: _failure(tmp_path, 1, 1)}) == 1
    assert capsys.readouterr().err == "error: training process rank 1 ended with exit code 1; its output is above\n"


@pytest.mark.parametrize("rank, printed", [("0", True), ("1", False)])
def test_run_command_under_torchrun_prints_on_rank_0_and_leaves_the_line_in_the_error_file(tmp_path, capsys, monkeypatch,
                                                                                      rank, printed):
    error_file = tmp_path / "error.json"
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(error_file))

    def train():
        raise InputError("config x.yaml not found")

    assert run_command(train) == 2
    assert capsys.readouterr().err == ("error: config x.yaml not found\n" if printed else "")
    assert json.loads(error_file.read_text())["message"] == "error: config x.yaml not found"
