"""What ``train_syncnet.sh`` and ``train_unet.sh`` run: check once, then start one torchrun worker per device.

In the caller's folder, the paths given on the command line are made absolute (``--config_path my.yaml`` means
the caller's ``my.yaml``); then the launcher moves into the checkout, where the relative paths inside the configs
point (``data/...``, ``checkpoints/...``), checks the config, the data lists and the weights once (one ``error:``
line, exit 2), and starts torchrun. A worker's failure is told once, by the worker's own ``error:`` line (rank 0
prints it), without torchrun's per-process failure report.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from latentsync.cli.launch_environment import LaunchEnvironment, launch_environment
from latentsync.cli.runner import TIMED_LOG_FORMAT, run_command
from latentsync.locations import REPO_ROOT

# Options naming files or folders; given on the command line they are the caller's, relative to its folder.
PATH_OPTIONS = ("config_path", "unet_config_path", "checkpoints_dir", "vae_model_path", "whisper_model_path",
                "trepa_ckpt_path", "sync_model_path", "s3fd_path", "resume")


def trainer_checks(module: str) -> tuple[type, Callable]:
    """Trainer module -> its options and the checks that run before torchrun (imported only then: ``--help`` and
    a usage error need neither)."""
    from latentsync.training.preflight import check_syncnet_training, check_unet_training
    from latentsync.training.run_options import SyncNetTrainOptions, UNetTrainOptions

    return {"latentsync.cli.train_syncnet": (SyncNetTrainOptions, check_syncnet_training),
            "latentsync.cli.train_unet": (UNetTrainOptions, check_unet_training)}[module]


def caller_paths(args: argparse.Namespace, defaults: argparse.Namespace, cwd: Path) -> list[str]:
    """``--option /absolute/path`` for every path option the caller gave relative to ``cwd``; appended to the
    arguments, they win (argparse keeps the last value). Defaults stay relative to the checkout, and a VAE that is
    not a folder here is a hub id."""
    flags = []
    for name in PATH_OPTIONS:
        value = getattr(args, name, None)
        if value is None or value == getattr(defaults, name) or Path(value).is_absolute() or value == "latest":
            continue
        if name == "vae_model_path" and not (cwd / value).exists():
            continue
        flags += [f"--{name}", str(cwd / value)]
    return flags


def torchrun_arguments(module: str, arguments: list[str], launch: LaunchEnvironment) -> list[str]:
    """torchrun's command line: ``NPROC_PER_NODE`` processes (default: one per GPU, one on a CPU-only machine) on
    ``NNODES`` machines (default 1) meeting at ``RDZV_ENDPOINT`` (host:port of a free port on the first node)."""
    nproc = launch.nproc_per_node
    if nproc is None:
        import torch

        nproc = max(torch.cuda.device_count(), 1)
    return ["--nnodes", launch.nnodes, "--nproc_per_node", str(nproc), "--rdzv_backend", "c10d",
            "--rdzv_endpoint", launch.rdzv_endpoint, "-m", module, *arguments]


def run_torchrun(arguments: list[str], explain_exit_codes: bool = True) -> int:
    """Run torchrun in this process; a failed worker is reported by its own line, not by torchrun's report.
    ``explain_exit_codes=False``: a worker that failed without an ``error:`` line already said why (e.g. the batch's
    summary of failed pairs), so no line is added."""
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    for noisy in ("torch.distributed.elastic", "torch.distributed.run"):  # per-process failure lines, OMP advice
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    try:
        torchrun.run(torchrun.parse_args(arguments))
    except ChildFailedError as error:
        return report_failed_workers(error.failures, explain_exit_codes)
    return 0


def report_failed_workers(failures: Mapping, explain_exit_codes: bool = True) -> int:
    """Exit 2 when a worker stopped on bad input (its ``error:`` line is in its error file), else the first failure's
    code. Rank 0 prints its own line before leaving it in the file; when it did not get that far (torchrun stops
    the other workers as soon as one fails), the launcher prints a worker's line, or which rank ended how."""
    messages = {rank: str(failure.message) for rank, failure in failures.items()
                if str(failure.message).startswith("error:")}
    if messages and 0 not in messages:
        print(messages[min(messages)], file=sys.stderr)
    if messages:
        return 2
    rank, failure = min(failures.items(), key=lambda item: (item[1].timestamp, item[0]))
    if explain_exit_codes:
            print(f"error: training process rank {rank} ended with exit code {failure.exitcode}; its output is above",
              file=sys.stderr)
    return failure.exitcode if failure.exitcode > 0 else 1


def launch(module: str, arguments: list[str], args: argparse.Namespace) -> int:
    """Check the run of trainer ``module`` (one of ``trainer_checks``) with ``arguments``, then run it under
    torchrun."""
    trainer = importlib.import_module(module)
    launch_settings = launch_environment(os.environ)  # before the run's checks: a typo there is one line at once
    options_type, check = trainer_checks(module)
    arguments = arguments + caller_paths(args, trainer.parse_args([]), Path.cwd())
    os.chdir(REPO_ROOT)  # the configs' relative paths are the checkout's; the workers start here too
    check(options_type(**vars(trainer.parse_args(arguments))))
    return run_torchrun(torchrun_arguments(module, arguments, launch_settings))


def main(argv: list[str] | None = None) -> int:
    """``python -m scripts.launch_training latentsync.cli.train_unet FLAG...``."""
    module, *arguments = sys.argv[1:] if argv is None else argv
    # A usage error ends here: one line, exit 2, once; --help prints the help before any library is set up.
    args = importlib.import_module(module).parse_args(arguments)
    return run_command(lambda: launch(module, arguments, args), TIMED_LOG_FORMAT)


if __name__ == "__main__":
    raise SystemExit(main())
