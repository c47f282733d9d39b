"""Frame-wise ("inflated") convolutions and the 3-D ResNet / resampling blocks of the U-Net.

Video tensors are ``(batch, channels, frames, height, width)``. Convolutions are 2-D kernels applied to
every frame, so Stable Diffusion 2-D weights load unchanged; GroupNorm in the ResNet blocks runs on the
5-D tensor, i.e. its statistics are shared across all frames of a sample (as in the released models).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


class InflatedConv3d(nn.Conv2d):
    """A 2-D convolution applied to each frame of a 5-D video tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[2]
        x = rearrange(x, "b c f h w -> (b f) c h w")
        x = super().forward(x)
        return rearrange(x, "(b f) c h w -> b c f h w", f=frames)


class ResnetBlock3D(nn.Module):
    """GN-SiLU-conv, add the projected timestep embedding, GN-SiLU-conv, residual (1x1 conv when widths differ)."""

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, groups: int = 32,
                 eps: float = 1e-5, dropout: float = 0.0, output_scale_factor: float = 1.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps)
        self.conv1 = InflatedConv3d(in_channels, out_channels, kernel_size=3, padding=1)
        self.time_emb_proj = nn.Linear(temb_channels, out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = InflatedConv3d(out_channels, out_channels, kernel_size=3, padding=1)
        self.nonlinearity = nn.SiLU()
        self.output_scale_factor = output_scale_factor
        self.conv_shortcut = (InflatedConv3d(in_channels, out_channels, kernel_size=1)
                              if in_channels != out_channels else None)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.nonlinearity(self.norm1(x)))
        h = h + self.time_emb_proj(self.nonlinearity(temb))[:, :, None, None, None]
        h = self.conv2(self.dropout(self.nonlinearity(self.norm2(h))))
        shortcut = x if self.conv_shortcut is None else self.conv_shortcut(x)
        return (shortcut + h) / self.output_scale_factor


class Downsample3D(nn.Module):
    """Stride-2 3x3 convolution in height and width only."""

    def __init__(self, channels: int, out_channels: int, padding: int = 1):
        super().__init__()
        self.conv = InflatedConv3d(channels, out_channels, kernel_size=3, stride=2, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample3D(nn.Module):
    """Nearest x2 in height and width (or to the skip tensor's size when it is odd), then a 3x3 conv."""

    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.conv = InflatedConv3d(channels, out_channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor, output_size: tuple[int, ...] | None = None) -> torch.Tensor:
        dtype = x.dtype
        if dtype == torch.bfloat16:  # nearest upsampling has no bf16 kernel on some backends
            x = x.float()
        if output_size is None:
            x = F.interpolate(x.contiguous(), scale_factor=(1.0, 2.0, 2.0), mode="nearest")
        else:
            x = F.interpolate(x.contiguous(), size=output_size, mode="nearest")
        return self.conv(x.to(dtype))
