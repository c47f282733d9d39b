"""The Replicate door as Replicate runs it: cog's HTTP server (``python -m cog.server.http``, on the coglet wheel)
on 127.0.0.1 with the project's ``cog.yaml`` and ``predict.py``, tiny random models given through
``LATENTSYNC_ARGS``, requests with the files as data URIs. The schema ``cog build`` would bundle is made by
``tests/helpers/cog_schema.py`` (cog's Go CLI cannot run here)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

import av
import numpy as np
import pytest

from latentsync.app.door_settings import door_settings
from latentsync.cli.cog_predictor import CogLipsync
from latentsync.pipelines.loading import load_lipsync_pipeline
from tests.helpers.cog_schema import predictor_reference, write_bundled_schema
from tests.helpers.demo_clips import demo_frames, write_demo_speech, write_h264
from tests.helpers.local_servers import ServerProcess, free_port, local_opener
from tests.helpers.paths import REPO_ROOT
from tests.helpers.tiny_models import write_tiny_release

pytestmark = pytest.mark.slow

NUM_AUDIO_FRAMES = 12
SETTINGS = {"num_inference_steps": 3, "guidance_scale": 1.0, "seed": 5, "sync_mode": "cut_off", "encoding": "fast"}
REQUEST_SECONDS = 300
COGLET_PREDICTIONS = Path("/tmp/coglet/predictions")


class CogServer(ServerProcess):
    """``python -m cog.server.http`` in ``project`` (``predict.py`` and ``cog.yaml`` linked from the checkout,
    ``.cog/openapi_schema.json`` as ``cog build`` leaves it), models from ``model_flags``."""

    def __init__(self, folder: Path, model_flags: list[str]):
        self.project = folder / "project"
        self.project.mkdir()
        for name in ("cog.yaml", "predict.py"):
            (self.project / name).symlink_to(REPO_ROOT / name)
        predictor, name = predictor_reference(self.project / "cog.yaml")
        write_bundled_schema(self.project, predictor, name)
        self.temp_dir = folder / "tmp"
        self.temp_dir.mkdir()
        self.url = f"http://127.0.0.1:{free_port()}"
        python_bin = str(Path(sys.executable).parent)  # coglet starts its worker as `python` from PATH
        env = {"COG_PREDICT_TYPE_STUB": f"{predictor.name}:{name}", "PORT": self.url.rsplit(":", 1)[1],
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
               "PATH": os.pathsep.join([python_bin, os.environ.get("PATH", "")]), "TMPDIR": str(self.temp_dir),
               "LATENTSYNC_ARGS": " ".join(model_flags)}
        super().__init__([sys.executable, "-m", "cog.server.http", "--host", "127.0.0.1"], folder / "cog.log",
                         self.project, env)

    def remove_its_prediction_folders(self) -> None:
        """coglet makes an inputs/outputs folder pair per prediction at a fixed place, /tmp/coglet/predictions (not
        under TMPDIR), and leaves them there empty: remove this server's (only empty folders are removed)."""
        for prediction in set(re.findall(r"pred_[0-9a-f]+", self.log_path.read_text(errors="replace"))):
            folder = COGLET_PREDICTIONS / prediction
            for empty in (folder / "inputs", folder / "outputs", folder):
                with contextlib.suppress(OSError):
                    empty.rmdir()

    def get(self, path: str) -> dict:
        with local_opener().open(self.url + path, timeout=10) as response:
            return json.load(response)

    def predict(self, inputs: dict) -> tuple[int, dict]:
        """(HTTP status, answer) of a synchronous ``POST /predictions``."""
        request = urllib.request.Request(self.url + "/predictions", json.dumps({"input": inputs}).encode(),
                                         {"Content-Type": "application/json"})
        try:
            with local_opener().open(request, timeout=REQUEST_SECONDS) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    work = tmp_path_factory.mktemp("cog")
    models = write_tiny_release(work / "models")
    checkpoints = work / "checkpoints"  # empty: the same landmark backend in the server and here
    checkpoints.mkdir()
    flags = [word for name, path in models.items() for word in (f"--{name}", str(path))] + \
        ["--checkpoints_dir", str(checkpoints), "--device", "cpu", "--dtype", "float32"]
    return dict(video=write_h264(work / "clip.mp4", demo_frames(16, step=4)),
                audio=write_demo_speech(work / "speech.wav", NUM_AUDIO_FRAMES), models=models,
                checkpoints=checkpoints, flags=flags, work=work)


@pytest.fixture(scope="module")
def server(files):
    server = CogServer(files["work"], files["flags"])
    try:
        server.wait_until(lambda: server.get("/health-check")["status"] == "READY")
        before = sorted(path.name for path in server.project.iterdir())
        yield server
    finally:
        server.stop()
        server.remove_its_prediction_folders()
    assert sorted(path.name for path in server.project.iterdir()) == before == [".cog", "cog.yaml", "predict.py"]


def test_openapi_lists_every_setting_with_its_choices_and_range(server):
    schema = server.get("/openapi.json")["components"]["schemas"]
    properties = schema["Input"]["properties"]
    in_order = sorted(properties, key=lambda name: properties[name]["x-order"])  # the JSON's keys are sorted
    assert in_order == ["video", "audio", *(setting.name for setting in door_settings())]
    assert schema["Input"]["required"] == ["video", "audio"]
    for setting in door_settings():
        prop = properties[setting.name]
        assert prop["default"] == setting.default and prop["description"] == setting.help
        assert (prop.get("minimum"), prop.get("maximum")) == (setting.low, setting.high)
        choices = schema[prop["allOf"][0]["$ref"].rsplit("/", 1)[1]]["enum"] if "allOf" in prop else []
        assert choices == list(setting.choices)


def test_a_prediction_returns_the_lip_synced_video(server, files):
    status, answer = server.predict({"video": data_uri(files["video"], "video/mp4"),
                                     "audio": data_uri(files["audio"], "audio/wav"), **SETTINGS})
    assert (status, answer["status"]) == (200, "succeeded"), answer.get("error") or server.log_tail()
    header, encoded = answer["output"].split(",", 1)
    assert header == "data:video/mp4;base64"
    served = files["work"] / "served.mp4"
    served.write_bytes(base64.b64decode(encoded))
    # The same code in this process, on the same files: the same video, frame for frame.
    pipeline = load_lipsync_pipeline(**files["models"], device="cpu", dtype="float32",
                                     checkpoints_dir=files["checkpoints"])
    try:
        lipsync = CogLipsync(pipeline, files["work"])  # kept: its results folder goes with it
        here = lipsync.predict(files["video"], files["audio"], **{setting.name: SETTINGS.get(setting.name, setting.default)
                                                                  for setting in door_settings()})
        np.testing.assert_array_equal(decoded(served), decoded(here))
    finally:
        pipeline.close()
    assert decoded(served).shape == (NUM_AUDIO_FRAMES, *decoded(files["video"]).shape[1:])  # as long as the audio


def test_a_bad_file_fails_the_prediction_with_the_reason_and_the_server_goes_on(server, files):
    notes = files["work"] / "notes.mp4"
    notes.write_text("meeting notes, not a video\n")
    status, answer = server.predict({"video": data_uri(notes, "video/mp4"),
                                     "audio": data_uri(files["audio"], "audio/wav"), **SETTINGS})
    assert (status, answer["status"]) == (200, "failed")
    assert "is not a media file PyAV can read" in answer["error"] and "pass a video file" in answer["error"]
    assert str(server.temp_dir) not in answer["error"]  # the file's name only
    status, answer = server.predict({"video": data_uri(files["video"], "video/mp4"),
                                     "audio": data_uri(files["audio"], "audio/wav"), **SETTINGS,
                                     "num_inference_steps": 1})
    assert (status, answer["status"]) == (200, "succeeded"), answer.get("error")


@pytest.mark.parametrize("setting, value", [("sync_mode", "stretch"), ("num_inference_steps", 0),
                                            ("face_enhance_strength", 1.5)])
def test_values_outside_the_choices_and_ranges_are_refused_before_the_predictor(server, files, setting, value):
    status, answer = server.predict({"video": data_uri(files["video"], "video/mp4"),
                                     "audio": data_uri(files["audio"], "audio/wav"), setting: value})
    assert status == 422 and setting in json.dumps(answer)


def test_only_the_latest_result_is_kept_and_nothing_else_is_left(server):
    leftovers = [path.relative_to(server.temp_dir) for path in server.temp_dir.rglob("*") if path.is_file()]
    assert all(path.parts[0].startswith("latentsync-cog-") for path in leftovers) and len(leftovers) <= 1, leftovers
