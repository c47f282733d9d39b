"""The Wav2Lip SyncNet (5 frames, lower half, vs a 5-frame mel window), kept for the ablation against StableSyncNet.

Unlike StableSyncNet it has BatchNorm and does not put itself in eval mode: call ``.eval()`` before
using it as a frozen expert.
"""

from __future__ import annotations

import torch
from torch import nn

from latentsync.models.syncnet_blocks import unit_embeddings


class Conv2dBlock(nn.Module):
    """Conv -> BatchNorm (-> + input when ``residual``) -> activation (LeakyReLU(0.2) or ReLU)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int | tuple[int, int],
                 padding: int, residual: bool = False, act: str = "leaky"):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.BatchNorm2d(out_channels)
        )
        self.residual = residual
        if act == "leaky":
            self.act = nn.LeakyReLU(0.2)
        elif act == "relu":
            self.act = nn.ReLU()
        else:
            raise ValueError(f"unknown activation {act!r}; use 'leaky' or 'relu'")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class Wav2LipSyncNet(nn.Module):
    """``forward(image_sequences (B, 15, 128, 256), audio_sequences (B, 1, 80, 16))`` -> two (B, 1024) unit vectors."""

    def __init__(self, act_fn: str = "leaky"):
        super().__init__()

        def block(cin: int, cout: int, kernel: int, stride: int | tuple[int, int], padding: int,
                  residual: bool = False, act: str = act_fn) -> Conv2dBlock:
            return Conv2dBlock(cin, cout, kernel, stride, padding, residual, act)

        def residuals(channels: int, count: int) -> list[Conv2dBlock]:
            return [block(channels, channels, 3, 1, 1, residual=True) for _ in range(count)]

        self.visual_encoder = nn.Sequential(
            block(15, 32, 7, 1, 3),
            block(32, 64, 5, (1, 2), 1), *residuals(64, 2),  # 126x127
            block(64, 128, 3, 2, 1), *residuals(128, 3),  # 63x64
            block(128, 256, 3, 3, 1), *residuals(256, 2),  # 21x22
            block(256, 512, 3, 2, 1), *residuals(512, 2),  # 11x11
            block(512, 1024, 3, 2, 1), *residuals(1024, 2),  # 6x6
            block(1024, 1024, 3, 2, 1, act="relu"),  # 3x3
            block(1024, 1024, 3, 1, 0, act="relu"),  # 1x1
            block(1024, 1024, 1, 1, 0, act="relu"),
        )
        self.audio_encoder = nn.Sequential(
            block(1, 32, 3, 1, 1), *residuals(32, 2),  # 80x16
            block(32, 64, 3, (3, 1), 1), *residuals(64, 2),  # 27x16
            block(64, 128, 3, 3, 1), *residuals(128, 2),  # 9x6
            block(128, 256, 3, (3, 2), 1), *residuals(256, 2),  # 3x3
            block(256, 512, 3, 1, 1), *residuals(512, 2),
            block(512, 1024, 3, 1, 0, act="relu"),  # 1x1
            block(1024, 1024, 1, 1, 0, act="relu"),
        )

    def forward(self, image_sequences: torch.Tensor,
                audio_sequences: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        vision_embeds = unit_embeddings(self.visual_encoder(image_sequences))
        audio_embeds = unit_embeddings(self.audio_encoder(audio_sequences))
        return vision_embeds, audio_embeds
