"""Where things are: the checkout's folders, and where every weight lives under ``--checkpoints_dir``.

``./setup_env.sh`` downloads the weights into the checkout's ``checkpoints/`` in the layout below; every command
takes ``--checkpoints_dir`` for another folder of the same layout, and a weight's own flag (``--s3fd_path``, ...)
overrides its place. Nothing else in the package spells these names out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from latentsync.errors import CheckpointError

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIGS_DIR = REPO_ROOT / "configs"
DEFAULT_CHECKPOINTS_DIR = REPO_ROOT / "checkpoints"
ASSETS_DIR = REPO_ROOT / "assets"  # the original's demo clips, fetched by ./setup_env.sh
DEFAULT_VAE = "stabilityai/sd-vae-ft-mse"  # a Hugging Face hub id (kept in the hub's cache), or a local folder

# Release -> its U-Net checkpoint, relative to the checkpoints folder.
UNET_CHECKPOINTS = {"1.6": "latentsync_unet.pt", "1.5": "latentsync-1.5/latentsync_unet.pt"}
# The cross-attention width of a U-Net config says which Whisper model made its audio features.
WHISPER_BY_AUDIO_DIM = {384: "whisper/tiny.pt", 768: "whisper/small.pt"}
# How to fetch what is not there: the auxiliary models (SyncNet, S3FD, HyperIQA, landmarks), and TREPA's ViT-g.
AUXILIARY_SETUP_HINT = "./setup_env.sh --auxiliary"
VIT_G_SETUP_HINT = ("`huggingface-cli download ByteDance/LatentSync-1.5 auxiliary/vit_g_hybrid_pt_1200e_ssv2_ft.pth "
                    "--local-dir checkpoints`")


def unet_setup_command(path: str | os.PathLike) -> str:
    """The set-up command that downloads the U-Net at ``path``: the 1.5 release needs ``--with-1.5``."""
    return "./setup_env.sh --with-1.5" if Path(path).as_posix().endswith(UNET_CHECKPOINTS["1.5"]) else "./setup_env.sh"


@dataclass(frozen=True)
class CheckpointLayout:
    """Every weight's path under one checkpoints folder (``root``); ``auxiliary_dir`` moves the auxiliary weights
    elsewhere (data processing's ``--weights_dir``)."""

    root: Path = DEFAULT_CHECKPOINTS_DIR
    auxiliary_dir: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        if self.auxiliary_dir is not None:
            object.__setattr__(self, "auxiliary_dir", Path(self.auxiliary_dir))

    def unet(self, release: str = "1.6") -> Path:
        """The released U-Net of ``release`` (1.6: 512x512, 1.5: 256x256)."""
        return self.root / UNET_CHECKPOINTS[release]

    def whisper(self, cross_attention_dim: int) -> Path:
        """``whisper/tiny.pt`` for 384-wide audio attention, ``whisper/small.pt`` for 768 (as the original)."""
        try:
            return self.root / WHISPER_BY_AUDIO_DIM[cross_attention_dim]
        except KeyError:
            raise CheckpointError(f"no Whisper model is known for cross_attention_dim {cross_attention_dim}; "
                                  "pass --whisper_model_path") from None

    @property
    def auxiliary(self) -> Path:
        """The folder of the evaluation, data-processing and landmark-detector weights."""
        return self.auxiliary_dir or self.root / "auxiliary"

    @property
    def stable_syncnet(self) -> Path:
        """StableSyncNet, the lip-sync expert of U-Net training."""
        return self.root / "stable_syncnet.pt"

    @property
    def syncnet_v2(self) -> Path:
        """The classic SyncNet of sync-confidence scoring (LSE-C / LSE-D)."""
        return self.auxiliary / "syncnet_v2.model"

    @property
    def s3fd(self) -> Path:
        """The S3FD face detector of sync-confidence scoring and data processing."""
        return self.auxiliary / "sfd_face.pth"

    @property
    def hyperiqa(self) -> Path:
        """HyperIQA, the data pipeline's visual quality filter."""
        return self.auxiliary / "koniq_pretrained.pkl"

    @property
    def i3d(self) -> Path:
        """The I3D network of FVD."""
        return self.auxiliary / "i3d_torchscript.pt"

    @property
    def vit_g(self) -> Path:
        """VideoMAEv2 ViT-g, the network of the TREPA loss."""
        return self.auxiliary / "vit_g_hybrid_pt_1200e_ssv2_ft.pth"

    @property
    def enhancers(self) -> Path:
        """The ONNX face restorers of ``--face_enhance``."""
        return self.root / "enhancers"

    def resolve(self, path: str | os.PathLike) -> Path:
        """A path written in a config: ``checkpoints/...`` is found in ``root``, another relative path in the
        checkout (as the configs' paths are documented), an absolute one stays."""
        path = Path(path)
        if path.is_absolute():
            return path
        if path.parts[:1] == ("checkpoints",):
            return self.root.joinpath(*path.parts[1:])
        return REPO_ROOT / path
