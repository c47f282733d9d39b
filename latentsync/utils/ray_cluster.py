"""Joining a Ray cluster, for the data pipeline and batch lip-sync (``--executor ray``)."""

from __future__ import annotations

import os
from typing import Any

from latentsync.errors import InputError
from latentsync.locations import REPO_ROOT


def connect_ray(address: str | None = "auto") -> Any:
    """The ``ray`` module joined to the cluster at ``address`` (``auto``: the running one), unless the caller already
    called ``ray.init``; workers import this project (it is on their ``PYTHONPATH``). InputError without a cluster."""
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs the ray package; pip install -r requirements.txt") from None
    if not ray.is_initialized():
        python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        try:
            ray.init(address=address, runtime_env={"env_vars": {"PYTHONPATH": python_path}},
                     include_dashboard=False, log_to_driver=False)
        except ConnectionError as error:
            raise InputError(f"no Ray cluster at {address!r} ({' '.join(str(error).split())}); start one with "
                             "`ray start --head` or use --executor local") from None
    return ray
