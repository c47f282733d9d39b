"""The lip-sync settings as the doors other than the command line offer them.

The web demo's HTTP API, the Replicate predictor (``predict.py``) and the ComfyUI nodes take every
``LipsyncSettings`` field under its own name, with its help, range and choices, so a new setting reaches them
without touching them (``predict.py`` spells its parameters out for cog, and a test holds them to these). Their
defaults are ``inference.sh``'s, so a program gets what the command line gives.
"""

from __future__ import annotations

from dataclasses import dataclass

from latentsync.face.speaker_choice import SpeakerChoice
from latentsync.pipelines.settings import OUTPUT, LipsyncSettings

DOOR_DEFAULTS = LipsyncSettings(num_inference_steps=20, guidance_scale=1.5, seed=1247, enable_deepcache=True)
"""``inference.sh``'s: the released configs' 20 DDIM steps, guidance 1.5 and seed 1247, and DeepCache on."""

DoorValue = int | float | bool | str


@dataclass(frozen=True)
class DoorSetting:
    """One setting as a plain typed input: a speaker is its text (``largest``, ``point:320,180@2.5``, ...)."""

    name: str
    kind: type  # int, float, bool or str
    default: DoorValue
    help: str
    low: float | None = None
    high: float | None = None
    above_low: bool = False  # low itself is refused
    choices: tuple[str, ...] = ()
    for_files_only: bool = False  # how a written video is encoded: nothing to do for frames in memory


def door_settings(defaults: LipsyncSettings = DOOR_DEFAULTS) -> list[DoorSetting]:
    """Every ``LipsyncSettings`` field in declaration order, with the value ``defaults`` gives it (the U-Net
    config's when it holds ``None``)."""
    settings = []
    for name, spec in LipsyncSettings.specs().items():
        default = getattr(defaults, name)
        if default is None:
            default = getattr(DOOR_DEFAULTS, name)
        settings.append(DoorSetting(
            name, str if spec.kind is SpeakerChoice else spec.kind,
            str(default) if isinstance(default, SpeakerChoice) else default,
            spec.help.replace("%%", "%"),  # argparse's escape
            spec.low, spec.high, spec.above_low, spec.choices, spec.group == OUTPUT))
    return settings
