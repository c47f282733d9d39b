"""Every command in README.md is checked: --help commands are run, all others must parse with the argparse of
the script they call (flags exist, required ones given). inference.sh's command is also run end to end with tiny
models (tests/test_shell_entry_points.py), and the eval scripts' with tiny SyncNets (tests/test_eval_*.py)."""

from __future__ import annotations

import argparse
import re
import runpy
import sys

import pytest

from tests.helpers.paths import REPO_ROOT
from tests.helpers.readme_commands import readme_commands

PYTHON = ".venv/bin/python"
# Shell entry point -> the Python module it execs (and passes "$@" to).
SHELL_SCRIPT_MODULES = {"./inference.sh": "scripts.inference", "./eval/eval_sync_conf.sh": "eval.eval_sync_conf",
                        "./eval/eval_syncnet_acc.sh": "eval.eval_syncnet_acc", "./train_unet.sh": "scripts.train_unet",
                        "./train_syncnet.sh": "scripts.train_syncnet",
                        "./data_processing_pipeline.sh": "data_processing.pipeline"}
# Scripts the README runs without arguments, each a list of benchmark commands.
ARGUMENTLESS_SCRIPTS = {"./benchmarks/gpu_bench.sh"}


class Parsed(Exception):
    """Raised instead of running the script once its arguments are parsed."""

    def __init__(self, extras: list[str]):
        super().__init__()
        self.extras = extras


def _target(command: list[str]) -> tuple[str, str, list[str]]:
    """``("module" | "path" | "shell", name, arguments)`` of a README command."""
    program, *arguments = command
    if program == PYTHON and arguments[0] == "-m":
        return "module", arguments[1], arguments[2:]
    if program == PYTHON:
        return "path", arguments[0], arguments[1:]
    return "shell", program, arguments


def _shell_script_flags(script: str) -> list[str]:
    """The ``--flag value`` lines a shell entry point passes before the user's arguments."""
    return [word for line in (REPO_ROOT / script).read_text().splitlines()
            if (match := re.fullmatch(r"\s+(--\w+(?: \S+)?) \\", line)) for word in match[1].split()]


def _setup_env_options() -> set[str]:
    return set(re.findall(r"^\s+(--[\w.-]+)\)", (REPO_ROOT / "setup_env.sh").read_text(), flags=re.M))


COMMANDS = readme_commands()


def test_readme_has_the_commands_this_test_knows():
    programs = {command[0] for command in COMMANDS}
    assert programs <= {PYTHON, "./setup_env.sh", "./run_tests.sh", *SHELL_SCRIPT_MODULES, *ARGUMENTLESS_SCRIPTS}, programs
    assert {"./inference.sh", "./eval/eval_syncnet_acc.sh", "./setup_env.sh"} <= programs


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(command) for command in COMMANDS])
def test_readme_command_parses(command, monkeypatch, capsys):
    kind, name, arguments = _target(command)
    if name == "./setup_env.sh":
        unknown = set(arguments) - _setup_env_options()
        assert not unknown, f"setup_env.sh has no option {unknown}"
        return
    if name in ARGUMENTLESS_SCRIPTS:
        assert arguments == [] and (REPO_ROOT / name).stat().st_mode & 0o111, f"{name} is not executable"
        return
    if name == "./run_tests.sh":
        assert arguments == [], "run_tests.sh passes its arguments to pytest; the README shows none"
        return
    if kind == "shell":
        kind, name, arguments = "module", SHELL_SCRIPT_MODULES[name], _shell_script_flags(name) + arguments
        assert "..." not in arguments

    parse_known_args = argparse.ArgumentParser.parse_known_args

    def parse_then_stop(self, args=None, namespace=None):
        _, extras = parse_known_args(self, args, namespace)
        raise Parsed(extras)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", parse_then_stop)
    monkeypatch.setattr(sys, "argv", [name, *arguments])
    monkeypatch.chdir(REPO_ROOT)
    with pytest.raises((Parsed, SystemExit)) as outcome:
        if kind == "module":
            runpy.run_module(name, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(str(REPO_ROOT / name), run_name="__main__")
    if "--help" in arguments:
        assert outcome.type is SystemExit and outcome.value.code == 0
        assert "usage:" in capsys.readouterr().out
    else:
        assert outcome.type is Parsed, capsys.readouterr().err
        assert outcome.value.extras == [], f"unrecognized arguments: {outcome.value.extras}"
