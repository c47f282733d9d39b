"""VideoMAEv2's fine-tuned ViT: the frozen video feature network behind the TREPA loss.

Same module names and parameter layout as ``VideoMAEv2/models/modeling_finetune.py``, so the released
``vit_g_hybrid_pt_1200e_ssv2_ft.pth`` loads strictly. Only what feature extraction needs is kept: the
network is always frozen and in eval mode here, so stochastic depth and dropout (identities in eval) and
the learnable-position / layer-scale variants that ViT-g does not use are left out.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import load_file
from torch.utils.checkpoint import checkpoint

from latentsync.errors import CheckpointError
from latentsync.locations import VIT_G_SETUP_HINT, CheckpointLayout
from latentsync.models.checkpoint_files import unreadable_checkpoint


def sinusoid_position_table(num_positions: int, dim: int) -> torch.Tensor:
    """(1, N, D) fixed sine/cosine table, computed in float64 then cast like the original."""
    positions = np.arange(num_positions, dtype=np.float64)[:, None]
    rates = np.power(10000, 2 * (np.arange(dim) // 2) / dim)
    table = positions / rates
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return torch.tensor(table, dtype=torch.float32).unsqueeze(0)


class PatchEmbed(nn.Module):
    """Tubelets of ``tubelet_size`` frames x ``patch_size``^2 pixels -> tokens, by one strided 3-D convolution."""

    def __init__(self, img_size: int, patch_size: int, in_chans: int, embed_dim: int, num_frames: int,
                 tubelet_size: int):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2 * (num_frames // tubelet_size)
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=kernel, stride=kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with a q and v bias but no k bias (the BEiT/VideoMAE layout)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        bias = None
        if self.q_bias is not None:
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(batch, tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(batch, tokens, -1))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, norm_layer):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """VideoMAEv2 fine-tuning ViT. ``forward_features`` (mean-pooled tokens + ``fc_norm``) is what TREPA compares.

    ``gradient_checkpointing`` recomputes each block in the backward pass (the original's ``with_cp``):
    TREPA back-propagates through this network into the U-Net, and ViT-g's activations dominate stage-2 memory.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, num_classes: int = 1000,
                 embed_dim: int = 768, depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0,
                 qkv_bias: bool = False, layernorm_eps: float = 1e-6, all_frames: int = 16, tubelet_size: int = 2,
                 use_mean_pooling: bool = True, gradient_checkpointing: bool = False):
        super().__init__()
        if not use_mean_pooling:
            raise ValueError("only the mean-pooling head (use_mean_pooling=True) of VideoMAEv2 is implemented")
        norm_layer = partial(nn.LayerNorm, eps=layernorm_eps)
        self.gradient_checkpointing = gradient_checkpointing
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim, all_frames, tubelet_size)
        # A plain attribute, not a buffer: the checkpoints do not contain it.
        self.pos_embed = sinusoid_position_table(self.patch_embed.num_patches, embed_dim)
        self.blocks = nn.ModuleList(
            [Block(embed_dim, num_heads, mlp_ratio, qkv_bias, norm_layer) for _ in range(depth)]
        )
        self.fc_norm = norm_layer(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, F, H, W) video in [0, 1] -> (B, embed_dim) pooled features."""
        x = self.patch_embed(x)
        x = x + self.pos_embed.to(device=x.device, dtype=x.dtype)
        for block in self.blocks:
            if self.gradient_checkpointing and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return self.fc_norm(x.mean(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def vit_giant_patch14_224(**kwargs) -> VisionTransformer:
    """ViT-g/14 as VideoMAEv2 defines it (1,011,855,918 parameters with the 174-class SSv2 head)."""
    defaults = dict(patch_size=14, embed_dim=1408, depth=40, num_heads=16, mlp_ratio=48 / 11, qkv_bias=True,
                    img_size=224, num_classes=174, all_frames=16, tubelet_size=2, use_mean_pooling=True)
    return VisionTransformer(**(defaults | kwargs))


def load_videomae(ckpt_path: str | os.PathLike = CheckpointLayout().vit_g, config: dict | None = None,
                  gradient_checkpointing: bool = False, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> VisionTransformer:
    """The frozen TREPA network, loaded strictly: ViT-g/14 from ``vit_g_hybrid_pt_1200e_ssv2_ft.pth`` by default.

    ``config`` (``VisionTransformer`` keyword arguments) builds another size, e.g. a tiny test network.
    Built on the meta device and filled by assignment, so the 4 GB of ViT-g float32 weights exist once.
    ``.pth`` files may wrap the state dict as ``{"module": ...}`` (the release) or ``{"model": ...}``;
    ``.safetensors`` files hold it bare.
    """
    ckpt_path = Path(ckpt_path)
    state_dict = _read_state_dict(ckpt_path)
    with torch.device("meta"):
        model = VisionTransformer(**config) if config else vit_giant_patch14_224()
    model.gradient_checkpointing = gradient_checkpointing
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    wrong = [key for key in expected if key in state_dict and state_dict[key].shape != expected[key].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{ckpt_path} does not match the VideoMAEv2 network: missing {missing[:5]}, unexpected {unexpected[:5]}, "
            f"wrong shape {wrong[:5]}; run {VIT_G_SETUP_HINT}"
        )
    model.load_state_dict(state_dict, assign=True)
    model.pos_embed = sinusoid_position_table(model.patch_embed.num_patches, model.fc_norm.normalized_shape[0])
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False)


def _read_state_dict(ckpt_path: Path) -> dict[str, torch.Tensor]:
    if not ckpt_path.is_file():
        raise CheckpointError(f"TREPA checkpoint {ckpt_path} not found; run {VIT_G_SETUP_HINT}, or pass its path")
    try:
        if ckpt_path.suffix == ".safetensors":
            return load_file(str(ckpt_path))
        payload = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    except Exception:  # torch raises several types for corrupt or unsafe files
        raise unreadable_checkpoint(ckpt_path, "TREPA checkpoint", VIT_G_SETUP_HINT) from None
    for key in ("model", "module"):
        if isinstance(payload, dict) and key in payload:
            return payload[key]
    return payload
