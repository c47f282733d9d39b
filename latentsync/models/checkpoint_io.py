"""Reading, writing and loading checkpoints in the released LatentSync format.

Released files are ``torch.save({"state_dict": ..., "global_step": int?, ...})``; safetensors files hold the
bare state dict. Loading is strict (any missing, unexpected or mis-shaped key raises an error that lists them)
except for a training start from another model, which loads the keys both share and reports the rest.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from latentsync.errors import CheckpointError
from latentsync.io.atomic_file import replaced_atomically
from latentsync.models.checkpoint_files import require_checkpoint_file, unreadable_checkpoint

logger = logging.getLogger(__name__)
UNET_CONFIG_HINT = "Check that --unet_config_path matches the checkpoint (256 vs 512, stage1 vs stage2)."


# Sub-module names that say what a key belongs to, most specific first ("attn2" is the audio cross-attention).
MODULE_GROUPS = ("motion_modules", "attn2", "attentions", "resnets", "downsamplers", "upsamplers",
                 "audio_encoder", "visual_encoder")


def module_group(key: str) -> str:
    """The group a state-dict key is reported under: its first ``MODULE_GROUPS`` part, else its top module."""
    parts = key.split(".")
    return next((group for group in MODULE_GROUPS if group in parts), parts[0])


@dataclass
class LoadReport:
    """What a load did; ``dropped`` maps checkpoint keys removed on purpose before loading to the reason."""

    source: str
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)

    def summary(self) -> str:
        def part(label: str, keys: list[str]) -> str:
            shown = ", ".join(keys[:8]) + (f", ... ({len(keys) - 8} more)" if len(keys) > 8 else "")
            return f"{len(keys)} {label}" + (f" [{shown}]" if keys else "")

        return (f"{self.source}: " + "; ".join(part(label, list(keys)) for label, keys in
                (("missing", self.missing), ("unexpected", self.unexpected), ("dropped", self.dropped))))

    def by_group(self) -> dict[str, dict[str, int]]:
        """``group -> {"loaded": n, "dropped": n, "missing": n, "unexpected": n}`` (only non-zero counts)."""
        counts: dict[str, dict[str, int]] = {}
        for kind, keys in (("loaded", self.loaded), ("dropped", self.dropped), ("missing", self.missing),
                           ("unexpected", self.unexpected)):
            for key in keys:
                group = counts.setdefault(module_group(key), {})
                group[kind] = group.get(kind, 0) + 1
        return counts

    def table(self) -> str:
        """Multi-line report: totals, one line per module group, and why each kind of key was dropped."""
        lines = [f"{self.source}: {len(self.loaded)} loaded, {len(self.dropped)} dropped, {len(self.missing)} "
                 f"missing (kept their initialisation), {len(self.unexpected)} unexpected (ignored)"]
        for group, counts in sorted(self.by_group().items()):
            lines.append(f"  {group}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
        for reason in dict.fromkeys(self.dropped.values()):
            keys = [k for k, why in self.dropped.items() if why == reason]
            lines.append(f"  dropped {len(keys)} ({', '.join(keys[:4])}{', ...' if len(keys) > 4 else ''}): {reason}")
        return "\n".join(lines)


def read_checkpoint(path: str | os.PathLike, setup_hint: str = "./setup_env.sh") -> tuple[dict[str, torch.Tensor], dict]:
    """Return ``(state_dict, extras)``; extras hold ``global_step`` (0 when absent) and any other entries."""
    path = require_checkpoint_file(path, setup_hint=setup_hint)
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path)), {"global_step": 0}
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch and safetensors raise several types for damaged files
        raise unreadable_checkpoint(path, setup_hint=setup_hint) from None
    if isinstance(payload, dict) and "state_dict" in payload:
        extras = {k: v for k, v in payload.items() if k != "state_dict"}
        extras.setdefault("global_step", 0)
        return payload["state_dict"], extras
    if isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return payload, {"global_step": 0}
    raise CheckpointError(f"checkpoint {path} holds neither a 'state_dict' entry nor a bare state dict")


def save_checkpoint(path: str | os.PathLike, state_dict: dict[str, torch.Tensor], global_step: int | None = None,
                    **extras) -> None:
    """Write the released format (``.pt``: ``{"state_dict", "global_step", ...}``) or bare safetensors.

    The file is written beside the target and renamed, so an interrupted save never leaves a truncated checkpoint.
    """
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    with replaced_atomically(path) as partial:
        if path.suffix == ".safetensors":
            save_file(tensors, str(partial))
        else:
            payload = {"state_dict": tensors, **extras}
            if global_step is not None:
                payload["global_step"] = global_step
            torch.save(payload, partial)


def load_state_dict_strict(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str,
                           allow_missing: frozenset[str] | set[str] = frozenset(),
                           hint: str = UNET_CONFIG_HINT) -> LoadReport:
    """Load every key or fail with a message naming the offending keys; the report is logged.

    ``allow_missing`` names model keys an older file may lack (e.g. BatchNorm's ``num_batches_tracked``).
    """
    report, mismatched = _compare_keys(model, state_dict, source)
    if [k for k in report.missing if k not in allow_missing] or report.unexpected or mismatched:
        raise _mismatch_error(report, mismatched, hint)
    return _load_shared_keys(model, state_dict, report)


def load_state_dict_non_strict(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str,
                               dropped: dict[str, str] | None = None, hint: str = UNET_CONFIG_HINT) -> LoadReport:
    """Load the keys the model and the file share, to start training from another model; the report is logged.

    Model keys the file lacks keep their initialisation, file keys the model lacks are ignored; ``dropped``
    (keys the caller removed on purpose, with why) goes into the report. A shape mismatch still fails.
    """
    report, mismatched = _compare_keys(model, state_dict, source, dropped)
    if mismatched:
        raise _mismatch_error(report, mismatched, hint)
    return _load_shared_keys(model, state_dict, report)


def _compare_keys(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str,
                  dropped: dict[str, str] | None = None) -> tuple[LoadReport, list[str]]:
    """The report of what would load, and the shared keys whose shapes differ."""
    expected = model.state_dict()
    report = LoadReport(source=source, dropped=dict(dropped or {}))
    report.missing = [k for k in expected if k not in state_dict]
    report.unexpected = [k for k in state_dict if k not in expected]
    report.loaded = [k for k in expected if k in state_dict]
    mismatched = [f"{k} {tuple(state_dict[k].shape)} vs model {tuple(expected[k].shape)}"
                  for k in report.loaded if state_dict[k].shape != expected[k].shape]
    return report, mismatched


def _mismatch_error(report: LoadReport, mismatched: list[str], hint: str) -> CheckpointError:
    problems = [report.summary()]
    if mismatched:
        problems.append(f"{len(mismatched)} with wrong shape [{', '.join(mismatched[:8])}]")
    return CheckpointError("checkpoint does not match the model config: " + "; ".join(problems) + ". " + hint)


def _load_shared_keys(model: nn.Module, state_dict: dict[str, torch.Tensor], report: LoadReport) -> LoadReport:
    model.load_state_dict({k: state_dict[k] for k in report.loaded}, strict=False)
    logger.info("loaded %s", report.summary())
    return report
