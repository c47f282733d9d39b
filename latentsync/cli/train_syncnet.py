"""Train StableSyncNet. Launch through torchrun (see train_syncnet.sh), or plainly for one process.

Example:
  torchrun --nproc_per_node 8 -m scripts.train_syncnet --config_path configs/syncnet/syncnet_16_pixel_attn.yaml
"""

from __future__ import annotations

import argparse

from latentsync.cli.arguments import add_training_session_arguments
from latentsync.cli.runner import TIMED_LOG_FORMAT, run_command
from latentsync.locations import DEFAULT_VAE
from latentsync.utils.one_line_parser import ArgumentParser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m scripts.train_syncnet", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_path", default="configs/syncnet/syncnet_16_pixel_attn.yaml")
    parser.add_argument("--vae_model_path", default=DEFAULT_VAE, help="VAE of a latent-space SyncNet (hub id or folder)")
    parser.add_argument("--fresh_val_samples", action="store_true",
                        help="draw new validation samples at each validation, as the original (default: the same "
                             "samples every time, for a smoother curve)")
    add_training_session_arguments(parser)
    return parser.parse_args(argv)


def train(args: argparse.Namespace) -> None:
    from latentsync.training.run_options import SyncNetTrainOptions
    from latentsync.training.syncnet_trainer import train_syncnet

    train_syncnet(SyncNetTrainOptions(**vars(args)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: train(args), TIMED_LOG_FORMAT)


if __name__ == "__main__":
    raise SystemExit(main())
