"""Servers under test in child processes on 127.0.0.1 (never another host): the web demo, the cog server.

Each writes its log to a file, is polled until it answers (failing the test with the log's tail when it exits or
takes too long) and is stopped with SIGTERM, then SIGKILL after 15 s.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.paths import REPO_ROOT

STARTUP_SECONDS = 120
# Servers check their own local URL at start-up, and clients call them: neither may go through a proxy.
LOCAL_ENVIRONMENT = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_opener() -> urllib.request.OpenerDirector:
    """urllib without any proxy, for requests to this machine."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerProcess:
    """``command`` run in ``cwd`` with ``env`` added to this process's environment, its output in ``log_path``."""

    def __init__(self, command: list[str], log_path: Path, cwd: Path, env: dict[str, str]):
        self.name = Path(command[1] if command[1] != "-m" else command[2]).name
        self.log_path = log_path
        with log_path.open("w") as log:
            self.process = subprocess.Popen(command, cwd=cwd, env=os.environ | LOCAL_ENVIRONMENT | env, stdout=log,
                                            stderr=subprocess.STDOUT)

    def wait_until(self, ready: Callable[[], bool], seconds: float = STARTUP_SECONDS) -> None:
        """Poll ``ready()`` (an ``OSError`` counts as not yet) until it holds; fail the test otherwise."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"{self.name} was not ready within {seconds} s:\n{self.log_tail()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class DemoServer(ServerProcess):
    """``gradio_app.py`` with its upload cache and temporary folders inside ``folder``."""

    def __init__(self, folder: Path, *flags: str):
        self.temp_dir = folder / "tmp"
        self.temp_dir.mkdir()
        self.url = f"http://127.0.0.1:{free_port()}"
        command = [sys.executable, "gradio_app.py", "--port", self.url.rsplit(":", 1)[1], "--device", "cpu",
                   "--max_video_seconds", "15", "--max_audio_seconds", "5", *flags]
        super().__init__(command, folder / "app.log", REPO_ROOT,
                         {"GRADIO_TEMP_DIR": str(folder / "gradio"), "TMPDIR": str(self.temp_dir)})

    def wait_until_serving(self) -> None:
        def page_answers() -> bool:
            with local_opener().open(self.url, timeout=2) as response:
                return response.status == 200

        self.wait_until(page_answers)


@contextlib.contextmanager
def running_demo(folder: Path, *flags: str) -> Iterator[DemoServer]:
    server = DemoServer(folder, *flags)
    try:
        server.wait_until_serving()
        yield server
    finally:
        server.stop()
