"""The training launchers' environment: ``NPROC_PER_NODE``, ``NNODES`` and ``RDZV_ENDPOINT``, checked at once.

torchrun meets a bad value with a traceback (``NPROC_PER_NODE=abc``: ``ValueError``, ``0``: ``AssertionError``),
and only after the run's own checks; here each is one ``error:`` line that names the variable and a valid value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from latentsync.errors import InputError

SINGLE_MACHINE_ENDPOINT = "localhost:0"  # port 0: the rendezvous picks a free port itself
_WHOLE_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class LaunchEnvironment:
    """What torchrun is started with: processes per machine (None: one per GPU), machines, rendezvous endpoint."""

    nproc_per_node: int | None
    nnodes: str  # "N", or "MIN:MAX" for an elastic run, as torchrun's --nnodes
    rdzv_endpoint: str


def _count(name: str, value: str, meaning: str) -> int:
    if not _WHOLE_NUMBER.fullmatch(value.strip()) or int(value) < 1:
        raise InputError(f"{name}={value!r} is not a number of {meaning}; set a whole number of at least 1 "
                         f"(e.g. {name}=2) or leave {name} unset")
    return int(value)


def _machines(value: str) -> tuple[int, int]:
    """``NNODES``: ``N`` or ``MIN:MAX`` -> (MIN, MAX)."""
    parts = value.split(":")
    if len(parts) == 2:
        low, high = (_count("NNODES", part, "machines") for part in parts)
        if low > high:
            raise InputError(f"NNODES={value!r}: the least number of machines is above the most; write MIN:MAX "
                             "with MIN <= MAX (e.g. NNODES=2:4) or one number")
        return low, high
    if len(parts) > 2:
        raise InputError(f"NNODES={value!r} is not a number of machines; set one number (e.g. NNODES=2) or MIN:MAX")
    count = _count("NNODES", value, "machines")
    return count, count


def _endpoint(value: str, several_machines: bool) -> str:
    host, colon, port = value.strip().rpartition(":")
    if not colon or not host or not _WHOLE_NUMBER.fullmatch(port) or int(port) > 65535:
        raise InputError(f"RDZV_ENDPOINT={value!r} is not HOST:PORT; set the address of the first machine and a "
                         "free port there, e.g. RDZV_ENDPOINT=node0:29400")
    if several_machines and int(port) == 0:
        raise InputError(f"RDZV_ENDPOINT={value!r}: port 0 is a different random port on each machine; set a free "
                         "port of the first machine, e.g. RDZV_ENDPOINT=node0:29400")
    return value.strip()


def launch_environment(environment: Mapping[str, str]) -> LaunchEnvironment:
    """The launch settings in ``environment``; ``InputError`` naming the variable when one is malformed."""
    nproc = environment.get("NPROC_PER_NODE")
    nnodes = environment.get("NNODES", "1").strip()
    several_machines = _machines(nnodes)[1] > 1
    endpoint = environment.get("RDZV_ENDPOINT")
    if endpoint is None and several_machines:
        raise InputError(f"NNODES={nnodes} needs RDZV_ENDPOINT=HOST:PORT, the same on every machine: the first "
                         "machine's address and a free port there, e.g. RDZV_ENDPOINT=node0:29400")
    return LaunchEnvironment(None if nproc is None else _count("NPROC_PER_NODE", nproc, "processes per machine"),
                             nnodes, _endpoint(endpoint or SINGLE_MACHINE_ENDPOINT, several_machines))
