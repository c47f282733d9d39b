"""Device and dtype choice in one place, so no module hard-codes "cuda"."""

from __future__ import annotations

import torch

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
           "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def resolve_device(name: str | None = None) -> torch.device:
    """``None``/"auto" picks CUDA when available, then MPS, else CPU."""
    if name in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


def resolve_whisper_dtype(name: str | None, device: torch.device) -> torch.dtype:
    """Whisper's dtype: ``None``/"auto" is float16 on every CUDA GPU (the original's Whisper computes in float16
    there, also where its U-Net stays float32, compute capability 7 and below), else as ``resolve_dtype``."""
    if name in (None, "auto") and device.type == "cuda":
        return torch.float16
    return resolve_dtype(name, device)


def resolve_dtype(name: str | None, device: torch.device) -> torch.dtype:
    """``None``/"auto": float16 on CUDA with compute capability > 7 (as the original), else float32."""
    if name not in (None, "auto"):
        try:
            return _DTYPES[name]
        except KeyError:
            raise ValueError(f"unknown dtype {name!r}; choose one of {sorted(set(_DTYPES))} or 'auto'") from None
    if device.type == "cuda" and torch.cuda.get_device_capability(device)[0] > 7:
        return torch.float16
    return torch.float32
