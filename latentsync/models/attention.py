"""Spatial transformer of the U-Net: per-frame self-attention, audio cross-attention and GEGLU feed-forward."""

from __future__ import annotations

import torch
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from einops import rearrange
from torch import nn


class BasicTransformerBlock(nn.Module):
    """Self-attention, then cross-attention to the frame's audio tokens (skipped when no audio is given), then FF.

    Zero audio (the classifier-free-guidance null input) still runs ``attn2``: it adds ``to_out`` bias,
    which is why "no audio" and "zero audio" differ.
    """

    def __init__(self, dim: int, num_attention_heads: int, attention_head_dim: int, cross_attention_dim: int,
                 dropout: float = 0.0, add_audio_layer: bool = True):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads=num_attention_heads, dim_head=attention_head_dim, dropout=dropout)
        if add_audio_layer:
            self.norm2 = nn.LayerNorm(dim)
            self.attn2 = Attention(dim, cross_attention_dim=cross_attention_dim, heads=num_attention_heads,
                                   dim_head=attention_head_dim, dropout=dropout)
        else:
            self.norm2 = self.attn2 = None
        self.ff = FeedForward(dim, dropout=dropout, activation_fn="geglu")
        self.norm3 = nn.LayerNorm(dim)

    def forward(self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None) -> torch.Tensor:
        hidden_states = self.attn1(self.norm1(hidden_states)) + hidden_states
        if self.attn2 is not None and encoder_hidden_states is not None:
            hidden_states = self.attn2(self.norm2(hidden_states), encoder_hidden_states=encoder_hidden_states) \
                + hidden_states
        return self.ff(self.norm3(hidden_states)) + hidden_states


class Transformer3DModel(nn.Module):
    """Runs a 2-D spatial transformer on every frame; each frame attends to its own audio tokens.

    ``attention_head_dim`` of the configs is really the number of heads; the head size is channels / heads.
    """

    def __init__(self, num_attention_heads: int, attention_head_dim: int, in_channels: int,
                 cross_attention_dim: int, norm_num_groups: int = 32, dropout: float = 0.0,
                 add_audio_layer: bool = True):
        super().__init__()
        inner_dim = num_attention_heads * attention_head_dim
        self.norm = nn.GroupNorm(norm_num_groups, in_channels, eps=1e-6)
        self.proj_in = nn.Conv2d(in_channels, inner_dim, kernel_size=1)
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(inner_dim, num_attention_heads, attention_head_dim, cross_attention_dim,
                                  dropout=dropout, add_audio_layer=add_audio_layer)
        ])
        self.proj_out = nn.Conv2d(inner_dim, in_channels, kernel_size=1)

    def forward(self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None) -> torch.Tensor:
        frames = hidden_states.shape[2]
        hidden_states = rearrange(hidden_states, "b c f h w -> (b f) c h w")
        if encoder_hidden_states is not None and encoder_hidden_states.ndim == 4:
            encoder_hidden_states = rearrange(encoder_hidden_states, "b f n d -> (b f) n d")
        _, _, height, width = hidden_states.shape
        residual = hidden_states
        hidden_states = self.proj_in(self.norm(hidden_states))
        hidden_states = rearrange(hidden_states, "n c h w -> n (h w) c")
        for block in self.transformer_blocks:
            hidden_states = block(hidden_states, encoder_hidden_states=encoder_hidden_states)
        hidden_states = rearrange(hidden_states, "n (h w) c -> n c h w", h=height, w=width).contiguous()
        hidden_states = self.proj_out(hidden_states) + residual
        return rearrange(hidden_states, "(b f) c h w -> b c f h w", f=frames)
