"""The audio-conditioned 3-D U-Net of LatentSync, with the state-dict layout of the released checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from torch import nn

from latentsync.models.resnet import InflatedConv3d
from latentsync.models.unet_blocks import DownBlock3D, UNetMidBlock3DCrossAttn, UpBlock3D

_CROSS_ATTENTION_BLOCKS = {"CrossAttnDownBlock3D": True, "DownBlock3D": False,
                           "CrossAttnUpBlock3D": True, "UpBlock3D": False}


@dataclass
class UNet3DConditionOutput(BaseOutput):
    sample: torch.Tensor


class UNet3DConditionModel(ModelMixin, ConfigMixin):
    """Predicts the noise of ``(batch, 13, frames, h, w)`` inputs conditioned on Whisper audio embeddings.

    Input channels are ``[noisy latents (4), mask (1), masked-image latents (4), reference latents (4)]``.
    The constructor takes the ``model:`` section of ``configs/unet/*.yaml`` as keyword arguments; keys the
    architecture does not read (``sample_size``, ``act_fn``...) are kept so configs round-trip.
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(
        self,
        sample_size: int | None = None,
        in_channels: int = 13,
        out_channels: int = 4,
        center_input_sample: bool = False,
        flip_sin_to_cos: bool = True,
        freq_shift: int = 0,
        down_block_types: tuple[str, ...] = ("CrossAttnDownBlock3D",) * 3 + ("DownBlock3D",),
        mid_block_type: str = "UNetMidBlock3DCrossAttn",
        up_block_types: tuple[str, ...] = ("UpBlock3D",) + ("CrossAttnUpBlock3D",) * 3,
        block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280),
        layers_per_block: int = 2,
        downsample_padding: int = 1,
        mid_block_scale_factor: float = 1.0,
        act_fn: str = "silu",
        norm_num_groups: int = 32,
        norm_eps: float = 1e-5,
        cross_attention_dim: int = 384,
        attention_head_dim: int = 8,
        resnet_time_scale_shift: str = "default",
        add_audio_layer: bool = True,
        use_motion_module: bool = True,
        motion_module_resolutions: tuple[int, ...] = (1, 2, 4, 8),
        motion_module_mid_block: bool = False,
        motion_module_decoder_only: bool = False,
        motion_module_type: str = "Vanilla",
        motion_module_kwargs: dict | None = None,
    ):
        super().__init__()
        if mid_block_type != "UNetMidBlock3DCrossAttn":
            raise ValueError(f"unknown mid_block_type {mid_block_type!r}")
        if act_fn != "silu" or resnet_time_scale_shift != "default":
            raise ValueError("the released models use act_fn 'silu' and resnet_time_scale_shift 'default'")
        unknown = [t for t in (*down_block_types, *up_block_types) if t not in _CROSS_ATTENTION_BLOCKS]
        if unknown:
            raise ValueError(f"unknown block types {unknown}; expected {sorted(_CROSS_ATTENTION_BLOCKS)}")

        time_embed_dim = block_out_channels[0] * 4
        self.conv_in = InflatedConv3d(in_channels, block_out_channels[0], kernel_size=3, padding=1)
        self.time_proj = Timesteps(block_out_channels[0], flip_sin_to_cos, freq_shift)
        self.time_embedding = TimestepEmbedding(block_out_channels[0], time_embed_dim)

        motion = {"type": motion_module_type, "kwargs": dict(motion_module_kwargs or {})}

        def motion_at(resolution: int, allowed: bool) -> dict | None:
            return motion if use_motion_module and allowed and resolution in motion_module_resolutions else None

        def layer_kwargs(cross_attention: bool, motion_module: dict | None) -> dict:
            return dict(resnet_eps=norm_eps, resnet_groups=norm_num_groups, cross_attention=cross_attention,
                        num_attention_heads=attention_head_dim, cross_attention_dim=cross_attention_dim,
                        add_audio_layer=add_audio_layer, motion_module=motion_module)

        # Registration order reproduces the released checkpoints' key order: down, up, then mid.
        self.down_blocks = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        output_channel = block_out_channels[0]
        for i, block_type in enumerate(down_block_types):
            input_channel, output_channel = output_channel, block_out_channels[i]
            self.down_blocks.append(DownBlock3D(
                input_channel, output_channel, time_embed_dim, num_layers=layers_per_block,
                add_downsample=i < len(block_out_channels) - 1, downsample_padding=downsample_padding,
                **layer_kwargs(_CROSS_ATTENTION_BLOCKS[block_type],
                               motion_at(2**i, not motion_module_decoder_only))))

        mid_kwargs = layer_kwargs(True, motion if use_motion_module and motion_module_mid_block else None)
        del mid_kwargs["cross_attention"]
        self.mid_block = UNetMidBlock3DCrossAttn(block_out_channels[-1], time_embed_dim,
                                                 output_scale_factor=mid_block_scale_factor, **mid_kwargs)

        reversed_channels = list(reversed(block_out_channels))
        output_channel = reversed_channels[0]
        for i, block_type in enumerate(up_block_types):
            prev_output_channel, output_channel = output_channel, reversed_channels[i]
            input_channel = reversed_channels[min(i + 1, len(block_out_channels) - 1)]
            self.up_blocks.append(UpBlock3D(
                input_channel, prev_output_channel, output_channel, time_embed_dim,
                num_layers=layers_per_block + 1, add_upsample=i < len(block_out_channels) - 1,
                **layer_kwargs(_CROSS_ATTENTION_BLOCKS[block_type], motion_at(2 ** (3 - i), True))))

        self.conv_norm_out = nn.GroupNorm(norm_num_groups, block_out_channels[0], eps=norm_eps)
        self.conv_act = nn.SiLU()
        self.conv_out = InflatedConv3d(block_out_channels[0], out_channels, kernel_size=3, padding=1)

    # Set directly on the blocks: diffusers changed its own checkpointing hooks between releases.
    def enable_gradient_checkpointing(self) -> None:  # type: ignore[override]
        self._set_checkpointing(True)

    def disable_gradient_checkpointing(self) -> None:  # type: ignore[override]
        self._set_checkpointing(False)

    def _set_checkpointing(self, enabled: bool) -> None:
        for block in (*self.down_blocks, self.mid_block, *self.up_blocks):
            block.gradient_checkpointing = enabled

    @property
    def is_gradient_checkpointing(self) -> bool:  # type: ignore[override]
        return self.mid_block.gradient_checkpointing

    def time_embed(self, timestep: torch.Tensor | float | int, batch_size: int, device: torch.device,
                   dtype: torch.dtype) -> torch.Tensor:
        """Sinusoidal ``[cos, sin]`` features (float32) of one timestep per sample, then the embedding MLP."""
        timesteps = torch.as_tensor(timestep, device=device)
        if timesteps.ndim == 0:
            timesteps = timesteps[None]
        timesteps = timesteps.expand(batch_size)
        return self.time_embedding(self.time_proj(timesteps).to(dtype=dtype))

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | float | int,
                encoder_hidden_states: torch.Tensor | None = None,
                return_dict: bool = True) -> UNet3DConditionOutput | tuple[torch.Tensor]:
        """``encoder_hidden_states``: ``(batch*frames, tokens, dim)`` or ``(batch, frames, tokens, dim)``; ``None``
        skips the audio cross-attention entirely (different from zero audio)."""
        # With sizes that are not multiples of 8, every upsample takes the size of its skip tensor.
        forward_upsample_size = any(s % 2 ** (len(self.up_blocks) - 1) != 0 for s in sample.shape[-2:])
        if self.config.center_input_sample:
            sample = 2 * sample - 1.0
        emb = self.time_embed(timestep, sample.shape[0], sample.device, self.dtype)

        sample = self.conv_in(sample)
        skips: list[torch.Tensor] = [sample]
        for block in self.down_blocks:
            sample, block_skips = block(sample, emb, encoder_hidden_states)
            skips.extend(block_skips)

        sample = self.mid_block(sample, emb, encoder_hidden_states)

        for i, block in enumerate(self.up_blocks):
            block_skips = tuple(skips[-len(block.resnets):])
            del skips[-len(block.resnets):]
            upsample_size = skips[-1].shape[2:] if forward_upsample_size and i < len(self.up_blocks) - 1 else None
            sample = block(sample, block_skips, emb, encoder_hidden_states, upsample_size=upsample_size)

        sample = self.conv_out(self.conv_act(self.conv_norm_out(sample)))
        if not return_dict:
            return (sample,)
        return UNet3DConditionOutput(sample=sample)
