"""SyncNet training curves from checkpoints, drawn like the original's ``eval/draw_syncnet_lines.py``.

SyncNet training checkpoints carry their loss history (``train_step_list``, ``train_loss_list``,
``val_step_list``, ``val_loss_list``); one line per checkpoint compares runs (the paper's SyncNet ablations).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402

from latentsync.errors import CheckpointError  # noqa: E402
from latentsync.io.atomic_file import replaced_atomically  # noqa: E402
from latentsync.models.checkpoint_io import read_checkpoint  # noqa: E402

HISTORY_KEYS = ("train_step_list", "train_loss_list", "val_step_list", "val_loss_list")
# The original plots the first validation point and then every fifth, which smooths the noisy validation line.
VAL_THINNING = 5


@dataclass(frozen=True)
class LossCurve:
    label: str
    train_steps: list[int]
    train_losses: list[float]
    val_steps: list[int]
    val_losses: list[float]


# Where ./train_syncnet.sh writes its checkpoints (data.train_output_dir of the SyncNet config).
TRAINING_CHECKPOINTS = "<data.train_output_dir>/train-<date>/checkpoints/checkpoint-<step>.pt"


def read_loss_curve(checkpoint_path: str | os.PathLike, label: str) -> LossCurve:
    """The loss history of one SyncNet training checkpoint, validation points thinned as the original does."""
    if not Path(checkpoint_path).is_file():
        raise CheckpointError(f"SyncNet training checkpoint {checkpoint_path} not found; pass one that "
                              f"./train_syncnet.sh wrote: {TRAINING_CHECKPOINTS}")
    _, extras = read_checkpoint(checkpoint_path)
    missing = [key for key in HISTORY_KEYS if key not in extras]
    if missing:
        raise CheckpointError(f"checkpoint {checkpoint_path} has no {', '.join(missing)} (released weights such as "
                              "stable_syncnet.pt carry no loss history); pass one that ./train_syncnet.sh wrote: "
                              f"{TRAINING_CHECKPOINTS}")
    val_steps, val_losses = list(extras["val_step_list"]), list(extras["val_loss_list"])
    first, every = slice(0, 1), slice(VAL_THINNING - 1, None, VAL_THINNING)
    return LossCurve(label, list(extras["train_step_list"]), list(extras["train_loss_list"]),
                     val_steps[first] + val_steps[every], val_losses[first] + val_losses[every])


def draw_loss_curves(curves: Sequence[LossCurve], output_path: str | os.PathLike, plot_val: bool = True) -> None:
    """One colour per run: thin translucent training loss and bold validation loss (or training loss only).

    The image format follows the suffix (pdf, png, svg); the file is written beside the target and renamed.
    """
    output_path = Path(output_path)
    style = {"font.size": 14, "font.family": "serif", "font.serif": ["Times New Roman", "DejaVu Serif"]}
    with plt.rc_context(style):
        figure, axes = plt.subplots(figsize=(7.766, 4.8))  # golden ratio
        for curve in curves:
            if plot_val:
                line, = axes.plot(curve.train_steps, curve.train_losses, label=curve.label, linewidth=0.5, alpha=0.5)
                axes.plot(curve.val_steps, curve.val_losses, linewidth=1.5, color=line.get_color())
            else:
                axes.plot(curve.train_steps, curve.train_losses, label=curve.label, linewidth=1)
        axes.set_xlabel("Step")
        axes.set_ylabel("Loss")
        for legend_line in axes.legend().get_lines():
            legend_line.set_linewidth(2)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with replaced_atomically(output_path) as partial:
                figure.savefig(partial, transparent=True)
        finally:
            plt.close(figure)
