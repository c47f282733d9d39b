"""Device and dtype choice in one place, so no module hard-codes "cuda".

A device this machine does not have (``--device cuda`` without a GPU, a typo such as ``gpu0``) is an ``InputError``
naming the devices it has, raised before any model is loaded.
"""

from __future__ import annotations

import torch

from latentsync.errors import InputError

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
           "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def resolve_device(name: str | None = None) -> torch.device:
    """``None``/"auto" picks CUDA when available, then MPS, else CPU; a named device must exist here."""
    if name in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):  # "gpu0": torch names the device types it knows, not the machine's
        raise InputError(f"unknown device {name!r}; {_devices_here()}") from None
    if not _is_available(device):
        raise InputError(f"device {name!r} is not available on this machine; {_devices_here()}")
    return device


def available_devices() -> list[str]:
    """The devices this machine can run on: ``cpu``, then each CUDA GPU and ``mps`` when present."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if _mps_available():
        devices.append("mps")
    return devices


def _devices_here() -> str:
    return f"this machine has {', '.join(available_devices())} (or auto: a GPU when there is one, else the CPU)"


def _is_available(device: torch.device) -> bool:
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index is None or device.index < torch.cuda.device_count())
    if device.type == "mps":
        return _mps_available()
    backend = getattr(torch, device.type, None)  # xpu and other accelerators PyTorch was built with
    return callable(getattr(backend, "is_available", None)) and bool(backend.is_available())


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


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
