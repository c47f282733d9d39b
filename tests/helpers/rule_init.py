"""The reference data's "rule-filled" weights for networks too large to store (README of ../shared/parity/train).

For every state-dict key ``k``: ``running_var`` -> 1, ``running_mean`` -> 0, ``num_batches_tracked`` -> 0; otherwise
``r = randn(shape, generator seeded with crc32(k))`` and the value is ``0.1 * r`` (at most one dimension) or
``r / sqrt(prod(shape[1:]))``.
"""

from __future__ import annotations

import math
import zlib

import torch
from torch import nn


def rule_filled_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    state_dict = {}
    for key, tensor in module.state_dict().items():
        shape = tuple(tensor.shape)
        if key.endswith("running_var"):
            state_dict[key] = torch.ones(shape, dtype=tensor.dtype)
        elif key.endswith("running_mean"):
            state_dict[key] = torch.zeros(shape, dtype=tensor.dtype)
        elif key.endswith("num_batches_tracked"):
            state_dict[key] = torch.zeros(shape, dtype=tensor.dtype)
        else:
            generator = torch.Generator().manual_seed(zlib.crc32(key.encode()))
            r = torch.randn(shape, generator=generator, dtype=torch.float32)
            state_dict[key] = 0.1 * r if len(shape) <= 1 else r / math.sqrt(math.prod(shape[1:]))
    return state_dict
