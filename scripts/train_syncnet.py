"""Train StableSyncNet. Launch through torchrun (see train_syncnet.sh), or plainly for one process.

Example:
  torchrun --nproc_per_node 8 -m scripts.train_syncnet --config_path configs/syncnet/syncnet_16_pixel_attn.yaml
"""

from __future__ import annotations

import argparse
import sys

from latentsync.pipelines.loading import DEFAULT_VAE
from latentsync.training.charts import REPORT_TO
from latentsync.training.session import MIXED_PRECISION, run_cli
from latentsync.training.syncnet_trainer import SyncNetTrainOptions, train_syncnet


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.train_syncnet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_path", default="configs/syncnet/syncnet_16_pixel_attn.yaml")
    parser.add_argument("--resume", default=None,
                        help="'latest' (newest bundle under data.train_output_dir), a run folder or a checkpoint-STEP.pt")
    parser.add_argument("--vae_model_path", default=DEFAULT_VAE, help="VAE of a latent-space SyncNet (hub id or folder)")
    parser.add_argument("--report_to", default="none", choices=REPORT_TO, help="also log to TensorBoard")
    parser.add_argument("--mixed_precision", default="auto", choices=MIXED_PRECISION,
                        help="with run.mixed_precision_training: auto = fp16 on CUDA (as the original), fp32 on CPU")
    parser.add_argument("--device", default=None, help="cpu to train on the CPU of a GPU machine (default: auto)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: train_syncnet(SyncNetTrainOptions(**vars(args))))


if __name__ == "__main__":
    sys.exit(main())
