import sys
from pathlib import Path

import pytest
import torch

# Make `tests.helpers.paths` and the project importable without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Two cores on CI: keep torch from oversubscribing them.
torch.set_num_threads(2)


PARITY_DIR = Path(__file__).resolve().parent / "parity"
ALSO_SLOW = ("browser", "distributed", "install")  # each takes many seconds: the quick subset is `-m "not slow"`


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if PARITY_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.parity)
        if any(item.get_closest_marker(name) for name in ALSO_SLOW):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """One ``gradio_app.py`` serving a tiny random release (explicit paths) with a stand-in GFPGAN (no CodeFormer),
    for the HTTP API and browser tests (starting one takes many seconds); once stopped, no upload, result or request
    folder may be left behind."""
    from latentsync.face.enhancement import enhancer_spec
    from tests.helpers.local_servers import running_demo
    from tests.helpers.paths import shared_path
    from tests.helpers.tiny_enhancers import write_tiny_enhancer
    from tests.helpers.tiny_models import write_tiny_release

    shared_path("media", "demo1_video.mp4")
    folder = tmp_path_factory.mktemp("gradio-app")
    flags = [part for flag, path in write_tiny_release(folder / "tiny").items() for part in (f"--{flag}", str(path))]
    write_tiny_enhancer(enhancer_spec("gfpgan").path(folder / "enhancers"), channel_gains=(0.9, 0.9, 0.9))
    with running_demo(folder, *flags, "--enhancers_dir", str(folder / "enhancers")) as server:
        yield server
    leftovers = [path for path in (folder / "gradio").rglob("*") if path.is_file()]
    assert not leftovers, f"uploads or results outlived the server: {leftovers}"
    assert not list(server.temp_dir.glob("latentsync-request-*")), "a request's folder was not removed"
