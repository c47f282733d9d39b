"""Blocks of the SyncNets: a strided-conv ResNet block, a 2-D transformer block, the encoder, the embedding head.

Names and parameter layout follow the released ``stable_syncnet.pt`` state dict exactly, including the
quirk that attention blocks share the ``down_blocks`` list with the ResNet blocks (and so shift their
indices).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from einops import rearrange
from torch import nn
from torch.utils.checkpoint import checkpoint

DownsampleFactor = int | Sequence[int]


class ResnetBlock2D(nn.Module):
    """Pre-activation ResNet block, optionally followed by a strided 3x3 conv that downsamples.

    The downsampling conv has no padding of its own; the block pads asymmetrically so that a stride of 1
    along one axis keeps that axis' size while the other axis is halved (or divided by its factor).
    """

    def __init__(self, in_channels: int, out_channels: int, downsample_factor: DownsampleFactor = 2,
                 dropout: float = 0.0, norm_num_groups: int = 32, eps: float = 1e-6):
        super().__init__()
        self.norm1 = nn.GroupNorm(norm_num_groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.norm2 = nn.GroupNorm(norm_num_groups, out_channels, eps=eps)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.act = nn.SiLU()
        self.conv_shortcut = None if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)
        if downsample_factor == 1:
            self.downsample_conv = None
        else:
            stride = tuple(downsample_factor) if isinstance(downsample_factor, Sequence) else downsample_factor
            self.downsample_conv = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=stride)
            self.downsample_padding = _downsample_padding(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.conv1(self.act(self.norm1(x)))
        hidden = self.conv2(self.dropout(self.act(self.norm2(hidden))))
        skip = x if self.conv_shortcut is None else self.conv_shortcut(x)
        hidden = hidden + skip
        if self.downsample_conv is not None:
            hidden = self.downsample_conv(F.pad(hidden, self.downsample_padding))
        return hidden


def _downsample_padding(stride: int | tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) zero padding that the original applies before the strided conv."""
    if isinstance(stride, tuple) and stride[0] == 1:
        return (0, 1, 1, 1)
    if isinstance(stride, tuple) and stride[1] == 1:
        return (1, 1, 0, 1)
    return (0, 1, 0, 1)


class AttentionBlock2D(nn.Module):
    """Self-attention over all H*W positions plus a GEGLU feed-forward, wrapped in 1x1 convs and a residual."""

    def __init__(self, channels: int, num_heads: int = 8, dropout: float = 0.0, norm_num_groups: int = 32):
        super().__init__()
        self.norm1 = nn.GroupNorm(norm_num_groups, channels, eps=1e-6)
        self.norm2 = nn.LayerNorm(channels)
        self.norm3 = nn.LayerNorm(channels)
        self.ff = FeedForward(channels, dropout=dropout, activation_fn="geglu")
        self.conv_in = nn.Conv2d(channels, channels, kernel_size=1)
        self.conv_out = nn.Conv2d(channels, channels, kernel_size=1)
        self.attn = Attention(query_dim=channels, heads=num_heads, dim_head=channels // num_heads,
                              dropout=dropout, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        hidden = rearrange(self.conv_in(self.norm1(x)), "b c h w -> b (h w) c")
        hidden = self.attn(self.norm2(hidden)) + hidden
        hidden = self.ff(self.norm3(hidden)) + hidden
        hidden = rearrange(hidden, "b (h w) c -> b c h w", h=height, w=width).contiguous()
        return self.conv_out(hidden) + x


class DownEncoder2D(nn.Module):
    """conv_in, then one ResNet block (plus an optional attention block) per level, then GroupNorm + ReLU.

    The final ReLU makes every embedding non-negative, which keeps cosine similarities in [0, 1] so
    they can be used directly as probabilities in the sync loss.
    """

    def __init__(self, in_channels: int, block_out_channels: Sequence[int],
                 downsample_factors: Sequence[DownsampleFactor], attn_blocks: Sequence[int],
                 dropout: float = 0.0, norm_num_groups: int = 32, gradient_checkpointing: bool = False):
        super().__init__()
        if not len(block_out_channels) == len(downsample_factors) == len(attn_blocks):
            raise ValueError(
                "block_out_channels, downsample_factors and attn_blocks need one entry per level; got "
                f"{len(block_out_channels)}, {len(downsample_factors)} and {len(attn_blocks)}"
            )
        self.gradient_checkpointing = gradient_checkpointing
        self.conv_in = nn.Conv2d(in_channels, block_out_channels[0], kernel_size=3, padding=1)
        self.down_blocks = nn.ModuleList()
        previous_channels = block_out_channels[0]
        for channels, factor, with_attention in zip(block_out_channels, downsample_factors, attn_blocks, strict=True):
            self.down_blocks.append(ResnetBlock2D(previous_channels, channels, factor, dropout, norm_num_groups))
            if with_attention:
                self.down_blocks.append(AttentionBlock2D(channels, dropout=dropout, norm_num_groups=norm_num_groups))
            previous_channels = channels
        self.norm_out = nn.GroupNorm(norm_num_groups, block_out_channels[-1], eps=1e-6)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.conv_in(x)
        for block in self.down_blocks:
            # Checkpointing pays off when gradients flow *through* a frozen SyncNet (the U-Net's sync loss).
            if self.gradient_checkpointing and torch.is_grad_enabled():
                hidden = checkpoint(block, hidden, use_reentrant=False)
            else:
                hidden = block(hidden)
        return self.act(self.norm_out(hidden))


def unit_embeddings(features: torch.Tensor) -> torch.Tensor:
    """(B, C, 1, 1) encoder output -> (B, C) L2-normalised embedding, so a dot product is a cosine similarity."""
    return F.normalize(features.reshape(features.shape[0], -1), p=2, dim=1)
