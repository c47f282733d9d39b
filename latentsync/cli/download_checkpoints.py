"""Fetch the demo clips into ``assets/``, the released weights into ``checkpoints/`` (the layout every script
expects) and the VAE into the Hugging Face cache.

Same files as ``huggingface-cli download <repo> <file> --local-dir checkpoints``, through the Python API
so it works with every huggingface_hub release. Already present files are not fetched again. When the hub
cannot be reached the script stops at once, lists every missing file with its source URL and target path
(so they can be copied by hand) and exits with 2.
``--enhancers`` adds the ONNX face restorers of ``configs/face_enhancers.yaml``, checked against their sha256.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from latentsync.app.examples import DEMO_CLIP_PAIRS
from latentsync.cli.arguments import add_checkpoints_dir_argument
from latentsync.cli.runner import run_command
from latentsync.face.enhancement.spec import EnhancerSpec, enhancer_specs
from latentsync.face.landmarks.face_alignment_detector import WEIGHT_FILES as FACE_ALIGNMENT_WEIGHTS
from latentsync.io.atomic_file import commit_partial, replaced_atomically, staging_folder
from latentsync.locations import ASSETS_DIR, UNET_CHECKPOINTS, WHISPER_BY_AUDIO_DIM, CheckpointLayout
from latentsync.pipelines.vae_check import VAE_FILES, cached_hub_files
from latentsync.utils.hub import CONNECT_TIMEOUT_SECONDS, hub_unreachable_reason
from latentsync.utils.one_line_parser import ArgumentParser

_LAYOUT = CheckpointLayout(Path("."))
_RELEASE_FILES = [Path(UNET_CHECKPOINTS["1.6"]).name, WHISPER_BY_AUDIO_DIM[384]]  # as both hub repos hold them
RELEASES = {
    # release: (hub repo, files, local folder under the checkpoints folder)
    "1.6": ("ByteDance/LatentSync-1.6", _RELEASE_FILES, str(Path(UNET_CHECKPOINTS["1.6"]).parent)),
    "1.5": ("ByteDance/LatentSync-1.5", _RELEASE_FILES, str(Path(UNET_CHECKPOINTS["1.5"]).parent)),
}
# The hub repo keeps them where the layout does, with the face_alignment landmark backend's files.
AUXILIARY = ("ByteDance/LatentSync-1.6", [str(path) for path in (
    _LAYOUT.stable_syncnet, _LAYOUT.syncnet_v2, _LAYOUT.i3d, _LAYOUT.s3fd, _LAYOUT.hyperiqa,
    *(_LAYOUT.auxiliary / name for name in FACE_ALIGNMENT_WEIGHTS))])
VAE_REPO = "stabilityai/sd-vae-ft-mse"
# The demo clips of the original repository: inference.sh lip-syncs the first pair, the demo offers all three.
# Small, so fetched first.
DEMO_ASSETS_URL = "https://raw.githubusercontent.com/bytedance/LatentSync/main/assets/"
DEMO_ASSETS = [name for pair in DEMO_CLIP_PAIRS for name in pair]


@dataclass(frozen=True)
class PlannedFile:
    """One file to fetch: where it comes from, where it goes, and how."""

    source: str  # URL
    target: str  # path, or where a cache keeps it
    present: Callable[[], bool]
    fetch: Callable[[], object]
    from_hub: bool = True
    placing_by_hand: str = ""  # how to put the file where it is found, when the target is not a plain path


class ChecksumError(RuntimeError):
    """A downloaded file is not the one the table (or the hub) says it should be."""


def published_sha256(spec: EnhancerSpec) -> str:
    """The sha256 the hub records for the file (its Git LFS pointer), used while the table has none."""
    from huggingface_hub import HfApi

    (info,) = HfApi().get_paths_info(spec.repo, [spec.filename], revision=spec.revision, expand=True)
    if getattr(info, "lfs", None) is None:
        raise ChecksumError(f"{spec.repo}/{spec.filename} has no published sha256; record one in the config")
    return info.lfs.sha256


def download_enhancer(spec: EnhancerSpec, enhancers_dir: Path) -> None:
    """Fetch one restorer into a temporary folder beside the target; it is moved in only if its sha256 matches."""
    from huggingface_hub import hf_hub_download

    from latentsync.whisper.feature_cache import sha256_file

    target = spec.path(enhancers_dir)
    expected = spec.sha256 or published_sha256(spec)
    enhancers_dir.mkdir(parents=True, exist_ok=True)
    with staging_folder(target) as download_dir:
        fetched = Path(hf_hub_download(repo_id=spec.repo, filename=spec.filename, revision=spec.revision,
                                       local_dir=download_dir))
        actual = sha256_file(fetched)
        if actual != expected:
            raise ChecksumError(f"{spec.repo}/{spec.filename} has sha256 {actual}, expected {expected}; "
                                "the file was not installed")
        commit_partial(fetched, target)
    if spec.sha256 is None:
        print(f"sha256 {actual} matches the hub; record it as {spec.method}.sha256 in configs/face_enhancers.yaml")


def enhancer_file(spec: EnhancerSpec, enhancers_dir: Path) -> PlannedFile:
    from huggingface_hub import hf_hub_url

    target = spec.path(enhancers_dir)
    return PlannedFile(hf_hub_url(spec.repo, spec.filename, revision=spec.revision), str(target), target.exists,
                       lambda: download_enhancer(spec, enhancers_dir))


def hub_file(repo: str, filename: str, local_dir: Path) -> PlannedFile:
    from huggingface_hub import hf_hub_download, hf_hub_url

    target = local_dir / filename
    return PlannedFile(hf_hub_url(repo, filename), str(target), target.exists,
                       lambda: hf_hub_download(repo_id=repo, filename=filename, local_dir=local_dir))


def cached_hub_file(repo: str, filename: str) -> PlannedFile:
    """A file kept in the Hugging Face cache (what ``from_pretrained`` reads), not in ``checkpoints/``."""
    from huggingface_hub import constants, hf_hub_download, hf_hub_url

    cache_folder = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
    placing = (f"{repo}: put {' and '.join(VAE_FILES)} in a folder of your choice and pass it with "
               f"--vae_model_path, or copy the folder {cache_folder.name} a hub client wrote (on a machine "
               f"online: huggingface-cli download {repo}) to {cache_folder}")
    return PlannedFile(hf_hub_url(repo, filename), f"Hugging Face cache {constants.HF_HUB_CACHE} ({repo})",
                       lambda: cached_hub_files(repo, [filename]),
                       lambda: hf_hub_download(repo_id=repo, filename=filename), placing_by_hand=placing)


def demo_asset(name: str, assets_dir: Path) -> PlannedFile:
    target = assets_dir / name

    def fetch() -> None:
        with urllib.request.urlopen(DEMO_ASSETS_URL + name, timeout=CONNECT_TIMEOUT_SECONDS) as response:
            assets_dir.mkdir(parents=True, exist_ok=True)  # only once there is something to put in it
            with replaced_atomically(target) as partial, partial.open("wb") as handle:
                while chunk := response.read(1 << 20):
                    handle.write(chunk)

    return PlannedFile(DEMO_ASSETS_URL + name, str(target), target.exists, fetch, from_hub=False)


def planned_files(releases: list[str], auxiliary: bool, checkpoints_dir: Path, assets_dir: Path) -> list[PlannedFile]:
    """Demo clips, release weights, auxiliary weights (optional), then the VAE: the order they are fetched in."""
    files = [demo_asset(name, assets_dir) for name in DEMO_ASSETS]
    for release in releases:
        repo, names, folder = RELEASES[release]
        files += [hub_file(repo, name, checkpoints_dir / folder) for name in names]
    if auxiliary:
        repo, names = AUXILIARY
        files += [hub_file(repo, name, checkpoints_dir) for name in names]
    return files + [cached_hub_file(VAE_REPO, name) for name in VAE_FILES]


def check_target_folders(files: list[PlannedFile]) -> None:
    """The folders that are to receive a missing file accept new files (tried), before any download starts."""
    from latentsync.io.paths import check_output_folder

    folders = dict.fromkeys(Path(planned.target).parent for planned in files
                            if not planned.placing_by_hand and not planned.present())  # not the hub's cache
    for folder in folders:
        check_output_folder(folder, "download folder")


def download(files: list[PlannedFile]) -> list[tuple[PlannedFile, str]]:
    """Fetch the missing files; return ``(file, reason)`` for each one still missing afterwards."""
    missing = [planned for planned in files if not planned.present()]
    for planned in files:
        if planned not in missing:
            print(f"have {planned.target}")
    unreachable = hub_unreachable_reason() if any(planned.from_hub for planned in missing) else None
    failures = []
    for planned in missing:
        if planned.from_hub and unreachable:
            failures.append((planned, unreachable))
            continue
        print(f"fetching {planned.source} -> {planned.target}")
        try:
            planned.fetch()
        except Exception as error:  # network and hub errors come in many types; the message is what matters
            failures.append((planned, " ".join(str(getattr(error, "reason", error)).split())[:200]))
    return failures


def failure_report(failures: list[tuple[PlannedFile, str]]) -> str:
    lines = [f"error: {len(failures)} file(s) could not be downloaded; copy them by hand (source -> target), "
             "then run ./setup_env.sh again (present files are kept):"]
    for planned, reason in failures:
        lines.append(f"  {planned.source} -> {planned.target}\n      ({reason})")
    for placing in dict.fromkeys(planned.placing_by_hand for planned, _ in failures if planned.placing_by_hand):
        lines.append(f"To place {placing}.")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m scripts.download_checkpoints", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--releases", nargs="+", default=["1.6"], choices=sorted(RELEASES),
                        help="U-Net releases to fetch (1.6 = 512x512, the default; 1.5 = 256x256)")
    parser.add_argument("--auxiliary", action="store_true",
                        help="also fetch the SyncNet, evaluation, face-detector and quality-model weights "
                             "(training, evaluation, data processing)")
    parser.add_argument("--enhancers", nargs="+", default=[], choices=list(enhancer_specs()),
                        help="also fetch these ONNX face restorers (for --face_enhance)")
    add_checkpoints_dir_argument(parser)
    parser.add_argument("--enhancers_dir", type=Path, help="where the face restorers go (default: "
                        "<checkpoints_dir>/enhancers)")
    parser.add_argument("--assets_dir", type=Path, default=ASSETS_DIR,
                        help="where the demo clips go (default: the checkout's assets/)")
    return parser.parse_args(argv)


def fetch(args: argparse.Namespace) -> int:
    """Download what ``args`` asks for; 2 when a file is still missing (the report says where to put it)."""
    enhancers_dir = args.enhancers_dir or CheckpointLayout(args.checkpoints_dir).enhancers
    files = planned_files(args.releases, args.auxiliary, args.checkpoints_dir, args.assets_dir)
    files += [enhancer_file(enhancer_specs()[method], enhancers_dir) for method in args.enhancers]
    check_target_folders(files)
    failures = download(files)
    if failures:
        print(failure_report(failures), file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: fetch(args))


if __name__ == "__main__":
    sys.exit(main())
