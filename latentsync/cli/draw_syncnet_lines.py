"""Plot SyncNet training and validation loss of one or more training runs, from their checkpoints.

    python -m eval.draw_syncnet_lines --checkpoints runA/checkpoints/checkpoint-10000.pt \\
        runB/checkpoints/checkpoint-10000.pt --labels "Dim 512" "Dim 2048" --output_path ablation.pdf

The checkpoints are those ./train_syncnet.sh writes, which carry the loss history:
<data.train_output_dir>/train-<date>/checkpoints/checkpoint-<step>.pt (released weights such as
checkpoints/stable_syncnet.pt carry none).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from latentsync.cli.runner import run_command
from latentsync.errors import InputError
from latentsync.utils.one_line_parser import ArgumentParser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m eval.draw_syncnet_lines", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", required=True, metavar="CHECKPOINT",
                        help="SyncNet training checkpoints, one per run, separated by spaces")
    parser.add_argument("--labels", nargs="+", default=None,
                        metavar="LABEL",
                        help="legend names, one per checkpoint, in the same order (default: each checkpoint's run folder)")
    parser.add_argument("--output_path", default="syncnet_loss.pdf",
                        help="image file to write: pdf, png, svg, ... (default: syncnet_loss.pdf in the current "
                             "folder; never a checkpoint)")
    parser.add_argument("--no_val", action="store_true", help="draw the training loss only")
    return parser.parse_args(argv)


def draw(args: argparse.Namespace) -> None:
    from latentsync.evaluation.syncnet_curves import draw_loss_curves, read_loss_curve
    from latentsync.io.paths import FIGURE_SUFFIXES, check_output_file

    check_output_file(args.output_path, args.checkpoints, role="--output_path", suffixes=FIGURE_SUFFIXES)
    labels = args.labels or [Path(path).resolve().parent.parent.name for path in args.checkpoints]
    if len(labels) != len(args.checkpoints):
        raise InputError(f"{len(args.checkpoints)} checkpoints but {len(labels)} labels; pass one label each")
    curves = [read_loss_curve(path, label) for path, label in zip(args.checkpoints, labels)]
    draw_loss_curves(curves, args.output_path, plot_val=not args.no_val)
    print(f"wrote {args.output_path}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: draw(args))


if __name__ == "__main__":
    raise SystemExit(main())
