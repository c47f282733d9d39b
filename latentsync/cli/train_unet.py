"""Train the LatentSync U-Net. Launch through torchrun (see train_unet.sh), or plainly for one process.

Example:
  torchrun --nproc_per_node 8 -m scripts.train_unet --unet_config_path configs/unet/stage2_512.yaml
"""

from __future__ import annotations

import argparse

from latentsync.cli.arguments import add_checkpoints_dir_argument, add_training_session_arguments
from latentsync.cli.runner import TIMED_LOG_FORMAT, run_command
from latentsync.face.align_precision import ALIGN_PRECISIONS
from latentsync.face.landmarks.factory import LANDMARK_DETECTORS
from latentsync.locations import DEFAULT_VAE, CheckpointLayout
from latentsync.utils.one_line_parser import ArgumentParser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m scripts.train_unet", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unet_config_path", default="configs/unet/stage2_512.yaml")
    models = parser.add_argument_group("frozen models")
    models.add_argument("--vae_model_path", default=DEFAULT_VAE, help="VAE: Hugging Face id or local folder")
    add_checkpoints_dir_argument(models)
    models.add_argument("--whisper_model_path", default=None,
                        help="default: CHECKPOINTS_DIR/whisper/tiny.pt (cross_attention_dim 384) or small.pt (768)")
    models.add_argument("--trepa_ckpt_path", default=None, help="VideoMAEv2 ViT-g of the TREPA loss (default: "
                        f"CHECKPOINTS_DIR/auxiliary/{CheckpointLayout().vit_g.name})")
    models.add_argument("--trepa_half_precision", default=None, action=argparse.BooleanOptionalAction,
                        help="run the TREPA network in fp16 (default: on CUDA only)")
    validation = parser.add_argument_group("validation at each save step")
    validation.add_argument("--no_validation", dest="validation", action="store_false",
                            help="skip lip-syncing and scoring data.val_video_path")
    validation.add_argument("--sync_model_path", default=None,
                            help="classic SyncNet that scores it (default: CHECKPOINTS_DIR/auxiliary/syncnet_v2.model)")
    validation.add_argument("--s3fd_path", default=None,
                            help="S3FD face detector of that score, the original sync-confidence protocol "
                                 "(default: CHECKPOINTS_DIR/auxiliary/sfd_face.pth)")
    validation.add_argument("--face_backend", default="auto", choices=["auto", *LANDMARK_DETECTORS],
                            help="landmarks that align the clip; auto = the release's, as inference chooses")
    validation.add_argument("--align_dtype", default="float32", choices=ALIGN_PRECISIONS,
                            help="precision of the clip's face crops and pastes: float32 (default) or float16, the "
                                 "original's")
    add_training_session_arguments(parser)
    return parser.parse_args(argv)


def train(args: argparse.Namespace) -> None:
    from latentsync.training.run_options import UNetTrainOptions
    from latentsync.training.unet_trainer import train_unet

    train_unet(UNetTrainOptions(**vars(args)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: train(args), TIMED_LOG_FORMAT)


if __name__ == "__main__":
    raise SystemExit(main())
