"""Check that the installed packages work together: torch, torchvision's compiled ops, diffusers.

``./setup_env.sh`` runs this after installing the requirements and before any download, so it never calls an
environment ready that cannot run: a torchvision built for another torch installs without complaint and fails
only on first use (``operator torchvision::nms does not exist``), and every command imports it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys

from latentsync.cli.runner import run_command
from latentsync.errors import EnvironmentProblem
from latentsync.utils.one_line_parser import ArgumentParser

REINSTALL = ".venv/bin/pip install --force-reinstall"


def _installed(package: str) -> str:
    """``torchvision 0.16.0`` as pip installed it (also when it cannot be imported), or that it is not installed."""
    try:
        return f"{package} {importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{package} (not installed)"


def _torch_index() -> str:
    """``--index-url`` of the installed torch's build (``2.5.1+cpu``: the CPU wheels), or nothing for PyPI's."""
    try:
        local = importlib.metadata.version("torch").partition("+")[2]
    except importlib.metadata.PackageNotFoundError:
        return ""
    return f" --index-url https://download.pytorch.org/whl/{local}" if local else ""


def torch_fix() -> str:
    return f"{REINSTALL} torch torchvision{_torch_index()} (one index, so that they match)"


def torchvision_fix() -> str:
    """The torchvision made for the installed torch: torch 2.N pairs with torchvision 0.(N+15)."""
    torch_version = importlib.metadata.version("torch")
    major, minor = (torch_version.partition("+")[0].split(".") + ["0"])[:2]
    if major == "2" and minor.isdigit():
        return (f'{REINSTALL} --no-deps "torchvision==0.{int(minor) + 15}.*"{_torch_index()} (the release made for '
                f"torch {torch_version})")
    return torch_fix()


def _check_torch() -> str:
    import torch

    torch.zeros(2).add_(1)
    return f"torch {torch.__version__}"


def _check_torchvision() -> str:
    import torch
    import torchvision

    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 1.9]])
    kept = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)  # a compiled op: fails on a mismatched build
    if kept.tolist() != [0]:
        raise RuntimeError(f"torchvision.ops.nms kept {kept.tolist()} of two overlapping boxes, expected [0]")
    return f"torchvision {torchvision.__version__} (compiled ops)"


def _check_diffusers() -> str:
    import diffusers

    diffusers.AutoencoderKL  # noqa: B018 - a lazy attribute: imports the model code, which imports torch's parts
    return f"diffusers {diffusers.__version__}"


# What is checked, in order, with the fix when it fails (torchvision's depends on the torch that was found).
CHECKS = (
    ("torch", _check_torch, torch_fix),
    ("torchvision", _check_torchvision, torchvision_fix),
    ("diffusers", _check_diffusers, lambda: f"{REINSTALL} --no-deps diffusers"),
)


def check_environment() -> list[str]:
    """What was found working (``torch 2.5.1``, ...); ``EnvironmentProblem`` naming the first package that fails."""
    found = []
    for package, check, fix in CHECKS:
        try:
            found.append(check())
        except Exception as error:  # an import or a first call can fail in any way; the message is what matters
            detail = " ".join(f"{type(error).__name__}: {error}".split())[:300]
            context = f" with {_installed('torch')}" if package != "torch" else ""
            raise EnvironmentProblem(f"{_installed(package)} does not work{context} ({detail}); fix: {fix()}, then "
                                     "run ./setup_env.sh again") from None
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return ArgumentParser(prog="python -m scripts.check_environment", description=__doc__,
                          formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    parse_args(argv)
    return run_command(lambda: print(f"checked: {', '.join(check_environment())}"))


if __name__ == "__main__":
    sys.exit(main())
