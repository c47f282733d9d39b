"""``LipsyncSettings``: every choice a lip-sync run takes, checked once, in one frozen object.

``pipe(...)``, the command line (``latentsync.cli.lipsync_arguments`` builds a flag per field), the batch
runner, the web demo and the other doors all build this object; a new setting is one field here (with its
help, range or choices) plus its control in the demo. ``None`` for steps, guidance and seed means "the U-Net
config's" (``run.inference_steps``, ``run.guidance_scale``, ``run.seed``). It imports no model code (torch, PyAV,
OpenCV), so every command's ``--help`` answers at once.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentsync.errors import InputError
from latentsync.face.align_precision import ALIGN_PRECISIONS
from latentsync.face.enhancement.defaults import (DEFAULT_CODEFORMER_FIDELITY, DEFAULT_MOUTH_PROTECTION,
                                                   DEFAULT_STRENGTH)
from latentsync.face.enhancement.spec import enhancer_specs
from latentsync.face.speaker_choice import SPEAKER_HELP, SpeakerChoice
from latentsync.io.encodings import ENCODINGS, STAGINGS
from latentsync.pipelines.frame_plan import SYNC_MODES
from latentsync.pipelines.silence import DEFAULT_SILENCE_DB, DEFAULT_SILENCE_MIN_SECONDS, SILENCE_MODES
from latentsync.utils.cli_ranges import describe_range
from latentsync.whisper.audio_context import AUDIO_CONTEXTS

MAX_INFERENCE_STEPS = 1000  # DDIM takes at most the scheduler's num_train_timesteps (configs/scheduler_config.json)


@dataclass(frozen=True)
class SettingSpec:
    """What one setting accepts, and how the command line offers it."""

    kind: type  # int, float, bool, str or SpeakerChoice
    help: str
    group: str  # the command line's group of options
    label: str = ""  # how messages and the demo name it, when not "<Name> with spaces"
    flag: str = ""  # the command line's flag when it is not --<name>
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    above_low: bool = False  # low itself is refused

    def check(self, name: str, value: Any, optional: bool) -> Any:
        """``value`` as this setting's kind; ``InputError`` naming the setting when it is not acceptable."""
        label = self.label or name.replace("_", " ").capitalize()
        if value is None and optional:
            return None
        if self.kind is SpeakerChoice:
            return SpeakerChoice.parse(value)
        if self.kind is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise InputError(f"{label} must be true or false; got {value!r}.")
            return bool(value)
        if self.kind is str:
            if value not in self.choices:
                raise InputError(f"{label} must be one of {', '.join(self.choices)}; got {value!r}.")
            return value
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
                or not math.isfinite(value):
            raise InputError(f"{label} must be a number; got {value!r}.")
        if self.kind is int:
            if value != int(value):
                raise InputError(f"{label} must be a whole number; got {value!r}.")
            value = int(value)
        too_low = self.low is not None and (value <= self.low if self.above_low else value < self.low)
        if too_low or (self.high is not None and value > self.high):
            raise InputError(f"{label} must be {describe_range(self.low, self.high, self.above_low)}; got {value:g}.")
        return self.kind(value)


def setting(default: Any, kind: type, help: str, group: str, **spec: Any) -> Any:
    return field(default=default, metadata={"setting": SettingSpec(kind, help, group, **spec)})


GENERATION, TIMING, ENHANCEMENT, OUTPUT, ORIGINAL = (
    "generation", "timing, audio and silence", "face enhancement (optional restoration of the lip-synced face)",
    "output", "the original's exact pixels (--reproduce original sets both)")
# What ``--reproduce original`` sets: the original's outputs, frame for frame, on the same machine.
REPRODUCE_ORIGINAL = {"align_dtype": "float16", "staging": "original"}


@dataclass(frozen=True)
class LipsyncSettings:
    """The settings of one lip-sync run (see the module docstring); invalid values raise ``InputError``."""

    num_inference_steps: int | None = setting(
        None, int, f"DDIM steps, 1 to {MAX_INFERENCE_STEPS}; 20-50 give good results, more are slower (default: the "
        "config's run.inference_steps, 20)", GENERATION, label="Inference steps", flag="--inference_steps", low=1,
        high=MAX_INFERENCE_STEPS)
    guidance_scale: float | None = setting(
        None, float, "classifier-free audio guidance, at least 1.0; 1.0 = off (faster), higher = stronger lip "
        "movement, 1.5-2.5 usual (default: the config's run.guidance_scale, 1.5)", GENERATION, low=1.0)
    seed: int | None = setting(
        None, int, "seed of the noise; same seed, same video; -1 draws one and logs it (default: the config's "
        "run.seed, 1247)", GENERATION, low=-1)
    enable_deepcache: bool = setting(
        False, bool, "reuse deep U-Net features every --deepcache_interval steps: ~2x faster, slightly different "
        "output", GENERATION, label="DeepCache")
    deepcache_interval: int = setting(3, int, "DeepCache's interval in steps, at least 1 (default 3)", GENERATION,
                                      low=1)
    windows_per_call: int = setting(
        1, int, "16-frame windows per U-Net call, at least 1: more is faster on a GPU with memory to spare (same "
        "output to float noise; default 1)", GENERATION, low=1)
    max_face_gap: int = setting(
        2, int, "frames without a detected face, at least 0, that borrow their neighbours' face (default 2)",
        GENERATION, low=0)
    speaker: SpeakerChoice = setting(SpeakerChoice(), SpeakerChoice, SPEAKER_HELP, GENERATION)
    sync_mode: str = setting(
        "bounce", str, "when video and audio lengths differ: bounce = the video plays forward and backward until the "
        "audio ends (the original's); loop = restarts from its first frame; remap = time-stretched to the audio; "
        "cut_off = the longer one is trimmed; silence = nothing is trimmed (a shorter audio is padded with silence "
        "over the source frames, a shorter video holds its last frame)", TIMING, choices=SYNC_MODES)
    audio_context: str = setting(
        "cut", str, "Whisper's 30 s windows: cut = back to back (the original's; features jump every 30 s), overlap "
        "= one more window across each 30 s boundary, no seam (a little slower)", TIMING, choices=AUDIO_CONTEXTS)
    silence: str = setting(
        "generate", str, "generate = lips are generated through pauses (the original's); keep = the source frames "
        "pass through where the audio is silent, cross-faded over 3 frames", TIMING, choices=SILENCE_MODES)
    silence_db: float = setting(DEFAULT_SILENCE_DB, float, "silent below this RMS level over a frame, in dBFS, at "
                                "most 0 (default -45)", TIMING, high=0.0)
    silence_min_seconds: float = setting(DEFAULT_SILENCE_MIN_SECONDS, float, "shortest pause kept, in seconds, more "
                                         "than 0 (default 0.4)", TIMING, low=0.0, above_low=True)
    face_enhance: bool = setting(False, bool, "restore the lip-synced face after paste-back (the generated mouth is "
                                 "protected)", ENHANCEMENT)
    face_enhance_method: str = setting("gfpgan", str, "gfpgan = GFPGAN v1.4, codeformer = CodeFormer, gpen = "
                                       "GPEN-BFR-512", ENHANCEMENT, label="Face enhancer",
                                       choices=tuple(enhancer_specs()))
    face_enhance_strength: float = setting(DEFAULT_STRENGTH, float, "0 to 1: 0 = unrestored face, 1 = fully "
                                           "restored outside the protected mouth", ENHANCEMENT, label="Enhance strength",
                                           low=0.0, high=1.0)
    face_enhance_mouth_protection: float = setting(
        DEFAULT_MOUTH_PROTECTION, float, "0 to 1: share of the generated mouth kept over the restored one (1 = "
        "mouth untouched)", ENHANCEMENT, low=0.0, high=1.0)
    codeformer_fidelity: float = setting(
        DEFAULT_CODEFORMER_FIDELITY, float, "CodeFormer's fidelity weight, 0 to 1: 0 = strongest restoration, 1 = "
        "closest to the input", ENHANCEMENT, low=0.0, high=1.0)
    encoding: str = setting(
        "standard", str, "x264 settings of a written video: standard = the original's (CRF 18, medium); "
        "high_quality = CRF 13, slow (bigger file, finer detail); fast = CRF 16, veryfast (about standard's "
        "fidelity, 2-3x faster to encode, ~15%% bigger)", OUTPUT, choices=tuple(ENCODINGS))
    align_dtype: str = setting(
        "float32", str, "precision of face alignment and paste-back: float32 (default; more precise) or float16 (the "
        "original's: its matrices, warps, masks and blend in float16; crops and pastes differ from float32's by a "
        "level or two, by tens at sharp edges)",
        ORIGINAL, label="Alignment precision", choices=ALIGN_PRECISIONS)
    staging: str = setting(
        "none", str, "none (default): the input is read as it is and the output encoded once; original = the "
        "original's files: the input re-encoded at 25 fps (x264 CRF 18) before anything reads it, the output "
        "written at CRF 13 and re-encoded at CRF 18 (two more lossy generations; --encoding then does not apply)",
        ORIGINAL, choices=STAGINGS)

    def __post_init__(self) -> None:
        for each in dataclasses.fields(self):
            checked = each.metadata["setting"].check(each.name, getattr(self, each.name), each.default is None)
            object.__setattr__(self, each.name, checked)

    @classmethod
    def specs(cls) -> dict[str, SettingSpec]:
        """Setting name -> what it accepts, in declaration order (the command line's and the doors' source)."""
        return {each.name: each.metadata["setting"] for each in dataclasses.fields(cls)}

    def replace(self, **changes: Any) -> LipsyncSettings:
        """These settings with ``changes`` (checked like the rest); an unknown name is an ``InputError``."""
        unknown = sorted(set(changes) - set(self.specs()))
        if unknown:
            raise InputError(f"unknown lip-sync setting(s) {', '.join(unknown)}; the settings are "
                             f"{', '.join(self.specs())}")
        return dataclasses.replace(self, **changes)

    def changed(self) -> dict[str, Any]:
        """The settings that differ from the defaults (for logs and reports)."""
        defaults = LipsyncSettings()
        return {name: getattr(self, name) for name in self.specs() if getattr(self, name) != getattr(defaults, name)}
