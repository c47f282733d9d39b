"""SyncNet training curves: loss histories read from checkpoints, thinned and drawn like the original tool."""

import matplotlib.image
import numpy as np
import pytest
import torch

from latentsync.cli import draw_syncnet_lines
from latentsync.errors import CheckpointError
from latentsync.evaluation.syncnet_curves import read_loss_curve
from latentsync.models.checkpoint_io import save_checkpoint


def _training_checkpoint(path, scale: float, with_history: bool = True):
    path.parent.mkdir(parents=True)
    steps = list(range(0, 1200, 100))  # 12 validation points
    history = {"train_step_list": list(range(1, 1201)), "train_loss_list": [scale / (1 + s / 100) for s in range(1200)],
               "val_step_list": steps, "val_loss_list": [scale * 1.1 / (1 + s / 100) for s in steps]}
    save_checkpoint(path, {"weight": torch.zeros(2)}, global_step=1200, **(history if with_history else {}))
    return path


def test_reads_the_history_and_thins_validation_like_the_original(tmp_path):
    curve = read_loss_curve(_training_checkpoint(tmp_path / "run" / "checkpoint-1200.pt", 0.7), "Dim 512")
    assert curve.label == "Dim 512"
    assert curve.train_steps == list(range(1, 1201)) and len(curve.train_losses) == 1200
    assert curve.val_steps == [0, 400, 900]  # the first point, then every fifth: indices 0, 4, 9
    assert curve.val_losses == pytest.approx([0.77, 0.77 / 5, 0.77 / 10])


def test_checkpoint_without_history_is_a_checkpoint_error(tmp_path):
    path = _training_checkpoint(tmp_path / "released" / "stable_syncnet.pt", 1.0, with_history=False)
    with pytest.raises(CheckpointError, match=r"stable_syncnet.pt has no train_step_list.*checkpoint-<step>\.pt$"):
        read_loss_curve(path, "released")


def _opaque_fraction(path) -> float:
    return float((matplotlib.image.imread(path)[..., 3] > 0).mean())


def test_cli_draws_one_line_per_run(tmp_path, capsys):
    first = _training_checkpoint(tmp_path / "train-a" / "checkpoints" / "checkpoint-1200.pt", 0.7)
    second = _training_checkpoint(tmp_path / "train-b" / "checkpoints" / "checkpoint-1200.pt", 0.4)
    output = tmp_path / "plots" / "ablation.png"
    output.parent.mkdir()  # an output's folder must exist (not created: a typo would hide)
    assert draw_syncnet_lines.main(["--checkpoints", str(first), str(second), "--output_path", str(output)]) == 0
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in output.parent.iterdir()) == ["ablation.png"]  # no partial file left behind
    one_run = tmp_path / "one.png"
    draw_syncnet_lines.main(["--checkpoints", str(first), "--labels", "Dim 512", "--output_path", str(one_run)])
    assert 0 < _opaque_fraction(one_run) < _opaque_fraction(output)  # transparent background, more ink for two runs
    train_only = tmp_path / "train_only.png"
    draw_syncnet_lines.main(["--checkpoints", str(first), "--no_val", "--output_path", str(train_only)])
    assert not np.array_equal(matplotlib.image.imread(train_only), matplotlib.image.imread(one_run))
    assert "wrote" in capsys.readouterr().out


def test_cli_errors_are_one_line_and_exit_2(tmp_path, capsys):
    first = _training_checkpoint(tmp_path / "train-a" / "checkpoints" / "checkpoint-1200.pt", 0.7)
    assert draw_syncnet_lines.main(["--checkpoints", str(first), "--labels", "a", "b"]) == 2
    assert "1 checkpoints but 2 labels" in capsys.readouterr().err
    assert draw_syncnet_lines.main(["--checkpoints", str(tmp_path / "missing.pt")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "missing.pt not found; pass one that ./train_syncnet.sh wrote: " in error
    assert "setup_env" not in error  # no download brings a training checkpoint


def test_help_says_which_checkpoints_and_how_to_pass_them(capsys):
    with pytest.raises(SystemExit) as exited:
        draw_syncnet_lines.main(["--help"])
    assert exited.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "one per line" not in help_text and "one per run, separated by spaces" in help_text
    assert "./train_syncnet.sh writes" in help_text and "train-<date>/checkpoints/checkpoint-<step>.pt" in help_text
