"""The fixtures' integer hash (splitmix64 of CRC-32(name) and the element index) that defines big weights and inputs.

The evaluation SyncNet is too large to store, so its parity fixtures define every weight
as ``offset + scale * u(name, k)``; see ``shared/parity/syncnet/README.md`` section 3.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import torch

_MASK_SHIFTS = ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB))


def hash_u24(name: str, count: int) -> np.ndarray:
    """The 24-bit hash ``m`` of elements k = 1..count of the tensor called ``name`` (uint64 array)."""
    seed = np.uint64(zlib.crc32(name.encode("utf-8")))
    k = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps mod 2^64, as the spec wants
        z = k * np.uint64(0x9E3779B97F4A7C15) + seed * np.uint64(0xD1B54A32D192ED03)
        for shift, multiplier in _MASK_SHIFTS:
            z = (z ^ (z >> np.uint64(shift))) * np.uint64(multiplier)
    z ^= z >> np.uint64(31)
    return z >> np.uint64(40)


def hash_tensor(name: str, shape: list[int], offset: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    """float32 ``offset + scale * u`` with ``u = (m - 2^23) / 2^23`` in [-1, 1), rounded once to float32."""
    u = (hash_u24(name, int(np.prod(shape))).astype(np.float64) - 2.0**23) / 2.0**23
    return torch.from_numpy((offset + scale * u).astype(np.float32).reshape(shape))


def hash_pixels(name: str, shape: list[int]) -> np.ndarray:
    """uint8 pixels ``m >> 16`` (used for the evaluation SyncNet's BGR frames)."""
    return (hash_u24(name, int(np.prod(shape))) >> np.uint64(16)).astype(np.uint8).reshape(shape)


def hash_state_dict(manifest_path: Path) -> dict[str, torch.Tensor]:
    """All weights of a manifest's ``hash_init`` table; ``num_batches_tracked`` counters are 0."""
    specs = json.loads(manifest_path.read_text())["hash_init"]
    return {
        key: torch.zeros(spec["shape"], dtype=torch.int64) if spec["dtype"] == "int64"
        else hash_tensor(key, spec["shape"], spec["offset"], spec["scale"])
        for key, spec in specs.items()
    }


def rule_filled_state_dict(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """The weights of ``shared/parity/train/README.md`` "Rule-filled weights" for a ``{key: shape}`` table.

    BatchNorm statistics are neutral (mean 0, variance 1, counter 0); every other tensor is a standard-normal
    draw seeded by CRC-32 of its key, scaled by 0.1 (vectors) or 1/sqrt(fan-in) (matrices and kernels).
    """
    state_dict = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state_dict[key] = torch.zeros(shape, dtype=torch.int64)
        elif key.endswith("running_var"):
            state_dict[key] = torch.ones(shape)
        elif key.endswith("running_mean"):
            state_dict[key] = torch.zeros(shape)
        else:
            draw = torch.randn(shape, generator=torch.Generator().manual_seed(zlib.crc32(key.encode())))
            state_dict[key] = 0.1 * draw if len(shape) <= 1 else draw / float(np.prod(shape[1:])) ** 0.5
    return state_dict
