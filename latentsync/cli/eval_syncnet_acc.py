"""Accuracy of a StableSyncNet on the validation list of its config, as the original computes it.

    python -m eval.eval_syncnet_acc --config_path configs/syncnet/syncnet_16_pixel_attn.yaml

Samples, their number (data.num_val_samples), the batch size and the seed (run.seed) come from the config;
a latent-space config encodes the frames with the VAE. See ``latentsync.training.syncnet_accuracy``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from latentsync.cli.arguments import add_checkpoints_dir_argument, device_name
from latentsync.cli.runner import run_command
from latentsync.errors import CheckpointError
from latentsync.locations import CONFIGS_DIR, DEFAULT_VAE, CheckpointLayout
from latentsync.utils.cli_ranges import non_negative_int, positive_int
from latentsync.utils.one_line_parser import ArgumentParser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m eval.eval_syncnet_acc", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_path", default=str(CONFIGS_DIR / "syncnet/syncnet_16_pixel_attn.yaml"))
    parser.add_argument("--ckpt_path", default=None,
                        help="default: the config's ckpt.inference_ckpt_path (checkpoints/... is in CHECKPOINTS_DIR)")
    add_checkpoints_dir_argument(parser)
    parser.add_argument("--videos_dir", default=None,
                        help="score these processed videos instead of the config's data.val_fileslist / val_data_dir")
    parser.add_argument("--num_samples", type=positive_int, default=None, help="at least 1; default: the config's data.num_val_samples")
    parser.add_argument("--batch_size", type=positive_int, default=None, help="at least 1; default: the config's data.batch_size")
    parser.add_argument("--seed", type=int, default=None, help="default: the config's run.seed")
    parser.add_argument("--num_workers", type=non_negative_int, default=0,
                        help="DataLoader worker processes, at least 0 (0: load in this process)")
    parser.add_argument("--vae_model_path", default=DEFAULT_VAE, help="VAE of a latent-space SyncNet (hub id or folder)")
    parser.add_argument("--device", type=device_name, default=None, help="cuda, cpu, ... (default: best available)")
    parser.add_argument("--dtype", default=None, help="float16, float32 (default: float16 on recent GPUs)")
    return parser.parse_args(argv)


def evaluate(args: argparse.Namespace) -> float:
    from latentsync.config.syncnet_config import read_syncnet_config
    from latentsync.models.stable_syncnet import load_stable_syncnet
    from latentsync.pipelines.loading import load_vae
    from latentsync.training.syncnet_accuracy import syncnet_accuracy
    from latentsync.utils.device import resolve_device, resolve_dtype

    config_path = Path(args.config_path)
    config = read_syncnet_config(config_path)
    if args.videos_dir is not None:
        config.data.val_fileslist, config.data.val_data_dir = "", args.videos_dir
    if not (args.ckpt_path or config.ckpt.inference_ckpt_path):
        raise CheckpointError(f"{config_path} names no ckpt.inference_ckpt_path; pass the checkpoint with --ckpt_path")
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    ckpt_path = args.ckpt_path or CheckpointLayout(args.checkpoints_dir).resolve(config.ckpt.inference_ckpt_path)
    syncnet = load_stable_syncnet(config, ckpt_path, device, dtype).eval()
    vae = load_vae(args.vae_model_path, dtype).to(device).requires_grad_(False) if config.data.latent_space else None
    result = syncnet_accuracy(config, syncnet, vae=vae, device=device, num_samples=args.num_samples,
                              batch_size=args.batch_size, seed=args.seed, num_workers=args.num_workers)
    print(f"Accuracy score: {result.accuracy * 100:.2f}% ({result.correct}/{result.total} samples)")
    return result.accuracy


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: evaluate(args))


if __name__ == "__main__":
    raise SystemExit(main())
