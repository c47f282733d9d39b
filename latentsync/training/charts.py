"""Training curves: PNG charts like the original's ``loss_charts/`` and, optionally, TensorBoard scalars.

The history lives in memory (a few floats per step) and travels in the resume bundle, so a resumed run's
charts continue the earlier ones.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window (training runs headless)
import matplotlib.pyplot as plt  # noqa: E402

from latentsync.io.atomic_file import replaced_atomically  # noqa: E402
from latentsync.training.session_options import REPORT_TO  # noqa: E402


class MetricsLogger:
    """Collects ``name -> (steps, values)`` curves, mirrors them to TensorBoard, draws them as PNG."""

    def __init__(self, run_dir: str | os.PathLike, report_to: str = "none", history: dict | None = None):
        if report_to not in REPORT_TO:
            raise ValueError(f"--report_to {report_to!r}: choose one of {', '.join(REPORT_TO)}")
        self.run_dir = Path(run_dir)
        self.history: dict[str, dict[str, list]] = history or {}
        self.writer = None
        if report_to == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))

    def log(self, step: int, **scalars: float) -> None:
        for name, value in scalars.items():
            curve = self.history.setdefault(name, {"steps": [], "values": []})
            curve["steps"].append(int(step))
            curve["values"].append(float(value))
            if self.writer is not None:
                self.writer.add_scalar(name, value, step)

    def save_chart(self, step: int, names: list[str] | None = None) -> Path:
        """``run_dir/loss_charts/chart-{step}.png``: one panel per curve (loss and confidence have other scales)."""
        names = [n for n in (names or list(self.history)) if n in self.history]
        path = self.run_dir / "loss_charts" / f"chart-{step}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        figure, axes = plt.subplots(len(names) or 1, 1, figsize=(8, 3 * max(len(names), 1)), squeeze=False)
        for axis, name in zip(axes[:, 0], names):
            curve = self.history[name]
            axis.plot(curve["steps"], curve["values"], marker="." if len(curve["steps"]) < 50 else None)
            axis.set_title(name)
            axis.set_xlabel("step")
            axis.grid(True, alpha=0.3)
        figure.tight_layout()
        try:
            with replaced_atomically(path) as partial:
                figure.savefig(partial)
        finally:
            plt.close(figure)
        return path

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
