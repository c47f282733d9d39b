"""Where the VAE comes from, checked before any model is loaded: a local diffusers folder, the Hugging Face cache,
or the hub. Offline and not cached fails at once with the fix (``--vae_model_path``), not after the hub client's
retries and after the other models have been loaded."""

from __future__ import annotations

import os
from pathlib import Path

from latentsync.errors import CheckpointError
from latentsync.utils.hub import hub_unreachable_reason

VAE_FILES = ["config.json", "diffusion_pytorch_model.safetensors"]
PLACE_VAE_HINT = ("pass --vae_model_path a local diffusers folder holding " + " and ".join(VAE_FILES) +
                  ", or run ./setup_env.sh where the hub can be reached")


def cached_hub_files(repo: str, filenames: list[str]) -> bool:
    """Whether every file of ``repo`` is in the Hugging Face cache (what ``from_pretrained`` reads offline)."""
    from huggingface_hub import try_to_load_from_cache

    return all(isinstance(try_to_load_from_cache(repo, name), str) for name in filenames)


def check_vae(vae_model_path: str | os.PathLike) -> bool:
    """Raise ``CheckpointError`` when the VAE cannot be loaded; return whether it loads without the hub.

    A cached VAE is read from the cache alone: the released VAE never changes, and no request means no retries.
    """
    path = Path(vae_model_path)
    if path.is_dir():
        missing = [name for name in VAE_FILES if not (path / name).is_file()]
        if missing:
            raise CheckpointError(f"VAE folder {path} lacks {', '.join(missing)}; {PLACE_VAE_HINT}")
        return True
    name = str(vae_model_path)
    if path.is_absolute() or name.startswith(".") or name.count("/") != 1:
        raise CheckpointError(f"VAE folder {path} not found; {PLACE_VAE_HINT}")
    if cached_hub_files(name, VAE_FILES):
        return True
    if reason := hub_unreachable_reason():
        raise CheckpointError(f"VAE {name} is not in the Hugging Face cache and cannot be downloaded ({reason}); "
                              f"{PLACE_VAE_HINT}")
    return False
