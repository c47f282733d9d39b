"""What each released restoration model expects, read from ``configs/face_enhancers.yaml``.

The table is data, not code, so a new export (another hub repo, a re-published file, a checksum) is a config
edit; the loader, the download script and the tests all read the same entries.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from latentsync.errors import CheckpointError
from latentsync.locations import CONFIGS_DIR, CheckpointLayout

ENHANCERS_CONFIG = CONFIGS_DIR / "face_enhancers.yaml"
DEFAULT_ENHANCERS_DIR = CheckpointLayout().enhancers
COLOUR_ORDERS = ("rgb", "bgr")
TEMPLATES_KEY = "face_templates"  # the config's table of five-point templates; every other key is a method


@dataclass(frozen=True)
class FaceTemplate:
    """Where a restorer expects a face: five points (eye centres, nose tip, mouth corners, image-left first)."""

    name: str
    size: int  # the side of the square the points are given in
    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.points) != 5 or any(len(point) != 2 for point in self.points):
            raise ValueError(f"{ENHANCERS_CONFIG}: {TEMPLATES_KEY}.{self.name}.points must be five [x, y] pairs")

    def points_at(self, size: int) -> np.ndarray:
        """(5, 2) float64 points in a ``size`` x ``size`` square (the template scaled from its own size)."""
        return np.asarray(self.points, dtype=np.float64) * (size / self.size)


@dataclass(frozen=True)
class EnhancerSpec:
    """One restoration model: where its ONNX file comes from and its input/output contract."""

    method: str  # the --face_enhance_method name
    title: str
    repo: str
    filename: str
    revision: str
    sha256: str | None
    input_size: int
    template: FaceTemplate
    value_range: tuple[float, float]
    colour_order: str
    fidelity_input: str | None

    def __post_init__(self) -> None:
        if self.colour_order not in COLOUR_ORDERS:
            raise ValueError(f"{ENHANCERS_CONFIG}: {self.method}.colour_order must be one of {COLOUR_ORDERS}")
        low, high = self.value_range
        if not low < high:
            raise ValueError(f"{ENHANCERS_CONFIG}: {self.method}.value_range must be [low, high] with low < high")

    def path(self, enhancers_dir: str | os.PathLike = DEFAULT_ENHANCERS_DIR) -> Path:
        return Path(enhancers_dir) / self.filename

    def fetch_command(self, enhancers_dir: str | os.PathLike = DEFAULT_ENHANCERS_DIR) -> str:
        """The command that downloads this model into ``enhancers_dir``."""
        command = f"python -m scripts.download_checkpoints --enhancers {self.method}"
        if Path(enhancers_dir).resolve() != DEFAULT_ENHANCERS_DIR:
            command += f" --enhancers_dir {shlex.quote(os.fspath(enhancers_dir))}"
        return command


@cache
def enhancer_specs() -> dict[str, EnhancerSpec]:
    """Method name -> spec, in the order of the config file."""
    table = OmegaConf.to_container(OmegaConf.load(ENHANCERS_CONFIG), resolve=True)
    templates = {name: FaceTemplate(name, entry["size"], tuple(map(tuple, entry["points"])))
                 for name, entry in table.pop(TEMPLATES_KEY).items()}
    specs = {}
    for method, entry in table.items():
        if entry["template"] not in templates:
            raise ValueError(f"{ENHANCERS_CONFIG}: {method}.template must be one of {', '.join(templates)}")
        specs[method] = EnhancerSpec(method=method, **{**entry, "value_range": tuple(entry["value_range"]),
                                                        "template": templates[entry["template"]]})
    return specs


def enhancer_spec(method: str) -> EnhancerSpec:
    """The spec of ``method``; ``ValueError`` names the valid ones."""
    specs = enhancer_specs()
    if method not in specs:
        raise ValueError(f"unknown face enhancer {method!r}; choose one of {', '.join(specs)}")
    return specs[method]


def check_face_enhancer(method: str, enhancers_dir: str | os.PathLike = DEFAULT_ENHANCERS_DIR) -> Path:
    """The file of the ``method`` model in ``enhancers_dir``; ``CheckpointError`` with the fetch command when it
    is missing (cheap: run before minutes of other loading)."""
    spec = enhancer_spec(method)
    path = spec.path(enhancers_dir)
    if not path.is_file():
        raise CheckpointError(f"{spec.title} face enhancer {path} not found; fetch it with: "
                              f"{spec.fetch_command(enhancers_dir)}")
    return path
