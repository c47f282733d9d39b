"""Temporal ("motion") modules: attention across frames at every spatial position (AnimateDiff style).

A freshly built module has a zero ``proj_out``, so it starts as the identity and can be added to a
pretrained spatial U-Net without changing its output.
"""

from __future__ import annotations

import math

import torch
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from einops import rearrange
from torch import nn


class PositionalEncoding(nn.Module):
    """Sinusoidal frame-position encoding; ``pe`` is a persistent buffer because released checkpoints store it."""

    def __init__(self, d_model: int, max_len: int = 24):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] > self.pe.shape[1]:
            raise ValueError(f"the motion module sees {x.shape[1]} frames but its positional encoding only "
                             f"covers {self.pe.shape[1]}; run the U-Net on shorter frame windows")
        return x + self.pe[:, : x.shape[1]].to(x.dtype)


class TemporalSelfAttention(Attention):
    """Self-attention over the frame axis; tokens are ``(batch*frames, positions, channels)``."""

    def __init__(self, query_dim: int, heads: int, dim_head: int, positional_encoding: bool = True,
                 max_len: int = 24, dropout: float = 0.0):
        super().__init__(query_dim, heads=heads, dim_head=dim_head, dropout=dropout)
        self.pos_encoder = PositionalEncoding(query_dim, max_len=max_len) if positional_encoding else None

    def forward(self, hidden_states: torch.Tensor, video_length: int) -> torch.Tensor:  # type: ignore[override]
        positions = hidden_states.shape[1]
        hidden_states = rearrange(hidden_states, "(b f) d c -> (b d) f c", f=video_length)
        if self.pos_encoder is not None:
            hidden_states = self.pos_encoder(hidden_states)
        hidden_states = super().forward(hidden_states)
        return rearrange(hidden_states, "(b d) f c -> (b f) d c", d=positions)


class TemporalTransformerBlock(nn.Module):
    """Pre-LN temporal self-attention blocks (residual onto the un-encoded input), then a GEGLU feed-forward."""

    def __init__(self, dim: int, num_attention_heads: int, attention_head_dim: int, num_attention_blocks: int,
                 positional_encoding: bool, max_len: int, dropout: float = 0.0):
        super().__init__()
        self.attention_blocks = nn.ModuleList([
            TemporalSelfAttention(dim, heads=num_attention_heads, dim_head=attention_head_dim,
                                  positional_encoding=positional_encoding, max_len=max_len, dropout=dropout)
            for _ in range(num_attention_blocks)
        ])
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(num_attention_blocks)])
        self.ff = FeedForward(dim, dropout=dropout, activation_fn="geglu")
        self.ff_norm = nn.LayerNorm(dim)

    def forward(self, hidden_states: torch.Tensor, video_length: int) -> torch.Tensor:
        for attention, norm in zip(self.attention_blocks, self.norms):
            hidden_states = attention(norm(hidden_states), video_length=video_length) + hidden_states
        return self.ff(self.ff_norm(hidden_states)) + hidden_states


class TemporalTransformer3DModel(nn.Module):
    """Per-frame GroupNorm, linear in-projection, temporal blocks, linear out-projection, residual."""

    def __init__(self, in_channels: int, num_attention_heads: int, attention_head_dim: int,
                 num_layers: int, num_attention_blocks: int, positional_encoding: bool, max_len: int,
                 norm_num_groups: int = 32, dropout: float = 0.0):
        super().__init__()
        inner_dim = num_attention_heads * attention_head_dim
        self.norm = nn.GroupNorm(norm_num_groups, in_channels, eps=1e-6)
        self.proj_in = nn.Linear(in_channels, inner_dim)
        self.transformer_blocks = nn.ModuleList([
            TemporalTransformerBlock(inner_dim, num_attention_heads, attention_head_dim, num_attention_blocks,
                                     positional_encoding, max_len, dropout=dropout)
            for _ in range(num_layers)
        ])
        self.proj_out = nn.Linear(inner_dim, in_channels)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        frames = hidden_states.shape[2]
        hidden_states = rearrange(hidden_states, "b c f h w -> (b f) c h w")
        _, _, height, width = hidden_states.shape
        residual = hidden_states
        hidden_states = rearrange(self.norm(hidden_states), "n c h w -> n (h w) c")
        hidden_states = self.proj_in(hidden_states)
        for block in self.transformer_blocks:
            hidden_states = block(hidden_states, video_length=frames)
        hidden_states = self.proj_out(hidden_states)
        hidden_states = rearrange(hidden_states, "n (h w) c -> n c h w", h=height, w=width) + residual
        return rearrange(hidden_states, "(b f) c h w -> b c f h w", f=frames)


class VanillaTemporalModule(nn.Module):
    """The ``Vanilla`` motion module of the configs (``motion_module_kwargs`` map onto these arguments)."""

    def __init__(self, in_channels: int, num_attention_heads: int = 8, num_transformer_block: int = 1,
                 attention_block_types: tuple[str, ...] = ("Temporal_Self", "Temporal_Self"),
                 temporal_position_encoding: bool = True, temporal_position_encoding_max_len: int = 24,
                 temporal_attention_dim_div: int = 1, zero_initialize: bool = True):
        super().__init__()
        unsupported = [t for t in attention_block_types if t != "Temporal_Self"]
        if unsupported:
            raise ValueError(f"unsupported motion-module attention block types {unsupported}; "
                             "the released models use only 'Temporal_Self'")
        self.temporal_transformer = TemporalTransformer3DModel(
            in_channels=in_channels,
            num_attention_heads=num_attention_heads,
            attention_head_dim=in_channels // num_attention_heads // temporal_attention_dim_div,
            num_layers=num_transformer_block,
            num_attention_blocks=len(attention_block_types),
            positional_encoding=temporal_position_encoding,
            max_len=temporal_position_encoding_max_len,
        )
        if zero_initialize:
            nn.init.zeros_(self.temporal_transformer.proj_out.weight)
            nn.init.zeros_(self.temporal_transformer.proj_out.bias)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.temporal_transformer(hidden_states)


def build_motion_module(in_channels: int, motion_module_type: str, motion_module_kwargs: dict) -> nn.Module:
    if motion_module_type != "Vanilla":
        raise ValueError(f"unknown motion_module_type {motion_module_type!r}; the released models use 'Vanilla'")
    return VanillaTemporalModule(in_channels, **motion_module_kwargs)
