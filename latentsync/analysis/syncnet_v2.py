"""The classic SyncNet of Chung & Zisserman ("Out of time", 2016), the network behind LSE-C and LSE-D.

Layer indices (and so checkpoint keys such as ``netcnnlip.18.weight``) count the ReLU and pooling layers,
exactly as in ``checkpoints/auxiliary/syncnet_v2.model``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from latentsync.models.checkpoint_io import load_state_dict_strict, read_checkpoint
from latentsync.locations import AUXILIARY_SETUP_HINT


def _fc_head(embed_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, embed_dim))


class SyncNetV2(nn.Module):
    """Audio tower on (N, 1, 13, 20) MFCC windows (0.2 s), lip tower on (N, 3, 5, 224, 224) BGR 0..255 clips."""

    def __init__(self, embed_dim: int = 1024):
        super().__init__()
        self.netcnnaud = nn.Sequential(
            nn.Conv2d(1, 64, kernel_size=3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=1, stride=1),
            nn.Conv2d(64, 192, kernel_size=3, padding=1), nn.BatchNorm2d(192), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=(1, 2)),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.BatchNorm2d(384), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.BatchNorm2d(256), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.BatchNorm2d(256), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 512, kernel_size=(5, 4)), nn.BatchNorm2d(512), nn.ReLU(),
        )
        self.netfcaud = _fc_head(embed_dim)
        self.netfclip = _fc_head(embed_dim)
        self.netcnnlip = nn.Sequential(
            nn.Conv3d(3, 96, kernel_size=(5, 7, 7), stride=(1, 2, 2)), nn.BatchNorm3d(96), nn.ReLU(inplace=True),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            nn.Conv3d(96, 256, kernel_size=(1, 5, 5), stride=(1, 2, 2), padding=(0, 1, 1)), nn.BatchNorm3d(256),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)), nn.BatchNorm3d(256), nn.ReLU(inplace=True),
            nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)), nn.BatchNorm3d(256), nn.ReLU(inplace=True),
            nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)), nn.BatchNorm3d(256), nn.ReLU(inplace=True),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            nn.Conv3d(256, 512, kernel_size=(1, 6, 6)), nn.BatchNorm3d(512), nn.ReLU(inplace=True),
        )

    def forward_aud(self, mfcc_windows: torch.Tensor) -> torch.Tensor:
        """(N, 1, 13, 20) -> (N, embed_dim), not normalised (the scoring uses Euclidean distances)."""
        return self.netfcaud(self.netcnnaud(mfcc_windows).flatten(1))

    def forward_lip(self, clips: torch.Tensor) -> torch.Tensor:
        """(N, 3, 5, 224, 224) -> (N, embed_dim), not normalised."""
        return self.netfclip(self.netcnnlip(clips).flatten(1))


def load_syncnet_v2(path: str | Path, device: torch.device | str = "cpu") -> SyncNetV2:
    """Load the plain ``{key: tensor}`` checkpoint (no ``__S__.`` prefix), frozen and in eval mode.

    Missing ``num_batches_tracked`` counters are tolerated: the file predates them and eval mode ignores them.
    """
    model = SyncNetV2()
    state_dict, _ = read_checkpoint(path, setup_hint=AUXILIARY_SETUP_HINT)
    batch_counters = {key for key in model.state_dict() if key.endswith("num_batches_tracked")}
    load_state_dict_strict(model, state_dict, str(path), allow_missing=batch_counters,
                           hint="Expected the classic SyncNet's plain {key: tensor} dict (keys without '__S__.').")
    return model.to(device).eval().requires_grad_(False)
