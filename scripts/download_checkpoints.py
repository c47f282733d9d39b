"""Fetch the released weights into ``checkpoints/`` (the layout every script expects) and the demo clips.

Same files as ``huggingface-cli download <repo> <file> --local-dir checkpoints``, through the Python API
so it works with every huggingface_hub release. Already present files are not fetched again.
``--enhancers`` adds the ONNX face restorers of ``configs/face_enhancers.yaml``, checked against their sha256.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from latentsync.face.enhancement.spec import EnhancerSpec, enhancer_specs
from latentsync.whisper.feature_cache import sha256_file

RELEASES = {
    # release: (hub repo, files, local folder)
    "1.6": ("ByteDance/LatentSync-1.6", ["latentsync_unet.pt", "whisper/tiny.pt"], "."),
    "1.5": ("ByteDance/LatentSync-1.5", ["latentsync_unet.pt", "whisper/tiny.pt"], "latentsync-1.5"),
}
AUXILIARY = ("ByteDance/LatentSync-1.6", ["stable_syncnet.pt", "auxiliary/syncnet_v2.model",
                                          "auxiliary/i3d_torchscript.pt", "auxiliary/s3fd-619a316812.pth",
                                          "auxiliary/2DFAN4-cd938726ad.zip"])
VAE_REPO = "stabilityai/sd-vae-ft-mse"
# The demo clips of the original repository (inference.sh lip-syncs the first pair).
DEMO_ASSETS_URL = "https://raw.githubusercontent.com/bytedance/LatentSync/main/assets/"
DEMO_ASSETS = ["demo1_video.mp4", "demo1_audio.wav"]


def download(repo: str, files: list[str], local_dir: Path) -> None:
    from huggingface_hub import hf_hub_download

    for name in files:
        target = local_dir / name
        if target.exists():
            print(f"have {target}")
            continue
        print(f"fetching {repo}/{name} -> {target}")
        hf_hub_download(repo_id=repo, filename=name, local_dir=local_dir)


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

    target = spec.path(enhancers_dir)
    if target.exists():
        print(f"have {target}")
        return
    expected = spec.sha256 or published_sha256(spec)
    print(f"fetching {spec.repo}/{spec.filename} ({spec.title}) -> {target}")
    enhancers_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".partial-", dir=enhancers_dir) as partial_dir:
        fetched = Path(hf_hub_download(repo_id=spec.repo, filename=spec.filename, revision=spec.revision,
                                       local_dir=partial_dir))
        actual = sha256_file(fetched)
        if actual != expected:
            raise ChecksumError(f"{spec.repo}/{spec.filename} has sha256 {actual}, expected {expected}; "
                                "the file was not installed")
        os.replace(fetched, target)
    if spec.sha256 is None:
        print(f"sha256 {actual} matches the hub; record it as {spec.method}.sha256 in configs/face_enhancers.yaml")


def download_demo_assets(assets_dir: Path) -> None:
    import urllib.request

    assets_dir.mkdir(parents=True, exist_ok=True)
    for name in DEMO_ASSETS:
        target = assets_dir / name
        if not target.exists():
            print(f"fetching demo {name} -> {target}")
            partial = target.with_name(f".{name}.partial")
            urllib.request.urlretrieve(DEMO_ASSETS_URL + name, partial)
            partial.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--releases", nargs="+", default=["1.6"], choices=sorted(RELEASES),
                        help="U-Net releases to fetch (1.6 = 512x512, the default; 1.5 = 256x256)")
    parser.add_argument("--auxiliary", action="store_true",
                        help="also fetch the SyncNet, evaluation and face-detector weights (training/evaluation)")
    parser.add_argument("--enhancers", nargs="+", default=[], choices=list(enhancer_specs()),
                        help="also fetch these ONNX face restorers (for --face_enhance)")
    parser.add_argument("--checkpoints_dir", type=Path, default=Path("checkpoints"))
    parser.add_argument("--enhancers_dir", type=Path, help="where the face restorers go (default: "
                        "<checkpoints_dir>/enhancers)")
    parser.add_argument("--assets_dir", type=Path, default=Path("assets"), help="where the demo clips go")
    args = parser.parse_args(argv)
    try:
        for release in args.releases:
            repo, files, folder = RELEASES[release]
            download(repo, files, args.checkpoints_dir / folder)
        if args.auxiliary:
            download(*AUXILIARY, args.checkpoints_dir)
        for method in args.enhancers:
            download_enhancer(enhancer_specs()[method], args.enhancers_dir or args.checkpoints_dir / "enhancers")
        from huggingface_hub import snapshot_download

        download_demo_assets(args.assets_dir)
        print(f"caching the VAE {VAE_REPO}")
        snapshot_download(VAE_REPO, allow_patterns=["config.json", "diffusion_pytorch_model.safetensors"])
    except Exception as error:  # network errors come in many types; the message is what matters
        print(f"download failed: {error}\nThe weights are needed for real inference; retry when the Hugging Face "
              f"hub is reachable, or copy the files into {args.checkpoints_dir}/ by hand.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
