"""Down, mid and up blocks of the 3-D U-Net.

Every layer runs ``resnet -> spatial transformer (cross-attention blocks only) -> motion module``.
``CrossAttnDownBlock3D``/``DownBlock3D`` (and the up twins) are one class each with a flag, because they
differ only in whether the transformer is present.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from latentsync.models.attention import Transformer3DModel
from latentsync.models.motion_module import build_motion_module
from latentsync.models.resnet import Downsample3D, ResnetBlock3D, Upsample3D


class _VideoLayers(nn.Module):
    """Holds ``attentions``/``resnets``/``motion_modules`` (checkpoint key names and order) and runs one layer."""

    def __init__(self):
        super().__init__()
        self.gradient_checkpointing = False

    def _build_layers(self, resnet_in_channels: list[int], out_channels: int, temb_channels: int, *,
                      resnet_eps: float, resnet_groups: int, output_scale_factor: float, cross_attention: bool,
                      num_attention_heads: int, cross_attention_dim: int, add_audio_layer: bool,
                      motion_module: dict | None, num_attention_layers: int | None = None) -> None:
        """Transformers and motion modules default to one per resnet (the mid block has one fewer)."""
        num_attention_layers = len(resnet_in_channels) if num_attention_layers is None else num_attention_layers
        self.attentions = nn.ModuleList([
            Transformer3DModel(num_attention_heads, out_channels // num_attention_heads, out_channels,
                               cross_attention_dim, norm_num_groups=resnet_groups, add_audio_layer=add_audio_layer)
            for _ in range(num_attention_layers)
        ]) if cross_attention else None
        self.resnets = nn.ModuleList([
            ResnetBlock3D(c, out_channels, temb_channels, groups=resnet_groups, eps=resnet_eps,
                          output_scale_factor=output_scale_factor)
            for c in resnet_in_channels
        ])
        self.motion_modules = nn.ModuleList([
            build_motion_module(out_channels, motion_module["type"], motion_module["kwargs"])
            for _ in range(num_attention_layers)
        ]) if motion_module is not None else None

    def _call(self, module: nn.Module, *args) -> torch.Tensor:
        if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
            return checkpoint(module, *args, use_reentrant=False)
        return module(*args)

    def _run_layer(self, index: int, hidden_states: torch.Tensor, temb: torch.Tensor,
                   encoder_hidden_states: torch.Tensor | None) -> torch.Tensor:
        hidden_states = self._call(self.resnets[index], hidden_states, temb)
        if self.attentions is not None:
            hidden_states = self._call(self.attentions[index], hidden_states, encoder_hidden_states)
        if self.motion_modules is not None:
            hidden_states = self._call(self.motion_modules[index], hidden_states)
        return hidden_states


class DownBlock3D(_VideoLayers):
    """Encoder level: ``num_layers`` layers, each output kept as a skip, then an optional stride-2 downsample."""

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, num_layers: int,
                 add_downsample: bool, downsample_padding: int = 1, **layer_kwargs):
        super().__init__()
        self._build_layers([in_channels] + [out_channels] * (num_layers - 1), out_channels, temb_channels,
                           output_scale_factor=1.0, **layer_kwargs)
        self.downsamplers = nn.ModuleList([Downsample3D(out_channels, out_channels, padding=downsample_padding)]) \
            if add_downsample else None

    def forward(self, hidden_states: torch.Tensor, temb: torch.Tensor,
                encoder_hidden_states: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        skips = []
        for i in range(len(self.resnets)):
            hidden_states = self._run_layer(i, hidden_states, temb, encoder_hidden_states)
            skips.append(hidden_states)
        if self.downsamplers is not None:
            hidden_states = self.downsamplers[0](hidden_states)
            skips.append(hidden_states)
        return hidden_states, tuple(skips)


class UNetMidBlock3DCrossAttn(_VideoLayers):
    """Bottleneck: resnet, then (transformer, [motion], resnet) per layer."""

    def __init__(self, in_channels: int, temb_channels: int, num_layers: int = 1, output_scale_factor: float = 1.0,
                 **layer_kwargs):
        super().__init__()
        self._build_layers([in_channels] * (num_layers + 1), in_channels, temb_channels, cross_attention=True,
                           output_scale_factor=output_scale_factor, num_attention_layers=num_layers, **layer_kwargs)

    def forward(self, hidden_states: torch.Tensor, temb: torch.Tensor,
                encoder_hidden_states: torch.Tensor | None = None) -> torch.Tensor:
        hidden_states = self._call(self.resnets[0], hidden_states, temb)
        for i, attention in enumerate(self.attentions):
            hidden_states = self._call(attention, hidden_states, encoder_hidden_states)
            if self.motion_modules is not None:
                hidden_states = self._call(self.motion_modules[i], hidden_states)
            hidden_states = self._call(self.resnets[i + 1], hidden_states, temb)
        return hidden_states


class UpBlock3D(_VideoLayers):
    """Decoder level: each layer first concatenates ``[hidden, skip]``; then an optional x2 upsample."""

    def __init__(self, in_channels: int, prev_output_channel: int, out_channels: int, temb_channels: int,
                 num_layers: int, add_upsample: bool, **layer_kwargs):
        super().__init__()
        resnet_in = []
        for i in range(num_layers):
            skip_channels = in_channels if i == num_layers - 1 else out_channels
            resnet_in.append((prev_output_channel if i == 0 else out_channels) + skip_channels)
        self._build_layers(resnet_in, out_channels, temb_channels, output_scale_factor=1.0, **layer_kwargs)
        self.upsamplers = nn.ModuleList([Upsample3D(out_channels, out_channels)]) if add_upsample else None

    def forward(self, hidden_states: torch.Tensor, res_hidden_states_tuple: tuple[torch.Tensor, ...],
                temb: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                upsample_size: tuple[int, ...] | None = None) -> torch.Tensor:
        skips = list(res_hidden_states_tuple)
        for i in range(len(self.resnets)):
            hidden_states = torch.cat([hidden_states, skips.pop()], dim=1)
            hidden_states = self._run_layer(i, hidden_states, temb, encoder_hidden_states)
        if self.upsamplers is not None:
            hidden_states = self.upsamplers[0](hidden_states, upsample_size)
        return hidden_states
