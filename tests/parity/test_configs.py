"""Every key of the original's configs has the same value in ``configs/``, file paths excepted."""

import json
import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.helpers.paths import REPO_ROOT, shared_path

CONFIG_DIR = REPO_ROOT / "configs"
YAML_CONFIGS = (
    "audio.yaml",
    "syncnet/syncnet_16_latent.yaml", "syncnet/syncnet_16_pixel.yaml", "syncnet/syncnet_16_pixel_attn.yaml",
    "syncnet/syncnet_25_pixel.yaml",
    "unet/stage1.yaml", "unet/stage1_512.yaml", "unet/stage2.yaml", "unet/stage2_512.yaml",
    "unet/stage2_efficient.yaml",
)  # fmt: skip
# Files renamed here so that the name says what they configure.
RENAMED = {"audio.yaml": "syncnet_mel.yaml"}
# Keys naming files or folders on the original authors' machines; here they point inside the checkout.
PATH_KEY = re.compile(r"(_dir|_path|fileslist)$")
# Keys this project adds. The original syncnet_25_pixel.yaml has no attn_blocks and cannot be built; all-zero
# lists (no attention anywhere) make it buildable without changing the architecture it describes.
ADDED_KEYS = {
    "syncnet/syncnet_25_pixel.yaml": {"model.audio_encoder.attn_blocks", "model.visual_encoder.attn_blocks"},
}


def flatten(tree, prefix: str = "") -> dict[str, object]:
    """Nested mappings -> ``{"a.b.c": value}``; lists stay values (compared whole)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for key, value in tree.items():
        flat |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


def load_flat(path: Path) -> dict[str, object]:
    return flatten(OmegaConf.to_container(OmegaConf.load(path)))


def test_every_reference_config_is_checked():
    reference_dir = shared_path("parity", "configs")
    found = {str(p.relative_to(reference_dir)) for p in reference_dir.rglob("*.yaml")}
    assert found == set(YAML_CONFIGS)


@pytest.mark.parametrize("name", YAML_CONFIGS)
def test_same_keys_and_values_as_the_original(name):
    reference = load_flat(shared_path("parity", "configs", name))
    ours = load_flat(CONFIG_DIR / RENAMED.get(name, name))
    assert set(ours) - set(reference) == ADDED_KEYS.get(name, set()), "keys the original does not have"
    assert set(reference) - set(ours) == set(), "keys of the original missing here"
    differences = {key: (value, ours[key]) for key, value in reference.items()
                   if not PATH_KEY.search(key.rsplit(".", 1)[-1]) and ours[key] != value}
    assert differences == {}, "(original, ours) per key"


def test_yaml_numbers_parse_as_numbers():
    """``norm_eps: 1e-5`` (original) and ``1.0e-05`` (here) must both be the float, or the keys would differ."""
    assert load_flat(shared_path("parity", "configs", "unet", "stage2.yaml"))["model.norm_eps"] == 1e-5
    assert load_flat(CONFIG_DIR / "unet" / "stage2.yaml")["model.norm_eps"] == 1e-5


def test_scheduler_config_is_the_original():
    reference = json.loads(shared_path("parity", "configs", "scheduler_config.json").read_text())
    assert json.loads((CONFIG_DIR / "scheduler_config.json").read_text()) == reference
