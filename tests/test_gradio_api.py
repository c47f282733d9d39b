"""The demo's HTTP API as programs use it: `gradio_app.py` on 127.0.0.1 with tiny random models, called with the
real ``gradio_client`` (and with the README's own examples, the ``curl`` form's requests included): results, a
bad file's plain error with the server going on, and two requests at once run one after the other."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import av
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from latentsync.app.door_settings import door_settings
from latentsync.app.lipsync_api import API_NAME
from tests.helpers.demo_clips import demo_frames, write_demo_speech, write_h264
from tests.helpers.local_servers import local_opener
from tests.helpers.paths import REPO_ROOT, shared_path

pytestmark = pytest.mark.slow

NUM_AUDIO_FRAMES = 12
FAST = {"num_inference_steps": 10, "guidance_scale": 1.0}  # the page's smallest step count, no guidance
REQUEST_SECONDS = 300


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    shared_path("media", "demo1_video.mp4")
    work = tmp_path_factory.mktemp("api-files")
    return {"video": write_h264(work / "talk.mp4", demo_frames(16, step=4)),
            "audio": write_demo_speech(work / "speech.wav", NUM_AUDIO_FRAMES), "work": work}


@pytest.fixture(scope="module")
def server(tiny_demo):
    return tiny_demo  # shared with test_gradio_browser (tests/conftest.py)


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    return Client(server.url, download_files=tmp_path_factory.mktemp("downloads"), verbose=False)


def frame_count(path: str | Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_the_api_takes_every_setting_by_name_with_the_page_s_defaults(client):
    endpoint = client.view_api(return_format="dict", print_info=False)["named_endpoints"][f"/{API_NAME}"]
    parameters = {parameter["parameter_name"]: parameter for parameter in endpoint["parameters"]}
    assert list(parameters) == ["video", "audio", "model", *(setting.name for setting in door_settings())]
    assert not parameters["video"]["parameter_has_default"] and not parameters["audio"]["parameter_has_default"]
    for setting in door_settings():
        assert parameters[setting.name]["parameter_default"] == setting.default
        assert parameters[setting.name]["type"].get("enum", []) == list(setting.choices)
    assert endpoint["description"].startswith("Lip-sync a video to an audio")


def test_two_requests_in_a_row_a_good_one_and_a_bad_file(client, files):
    result = client.predict(video=handle_file(files["video"]), audio=handle_file(files["audio"]), seed=3, **FAST,
                            api_name=f"/{API_NAME}")
    assert Path(result).name == "talk_lipsync.mp4" and frame_count(result) == NUM_AUDIO_FRAMES
    notes = files["work"] / "notes.mp4"
    notes.write_text("meeting notes, not a video\n")
    with pytest.raises(AppError) as error:
        client.predict(video=handle_file(notes), audio=handle_file(files["audio"]), **FAST, api_name=f"/{API_NAME}")
    assert str(error.value).startswith("Could not run: 'notes.mp4' is not a media file PyAV can read")
    with pytest.raises(AppError, match="Inference steps must be between 10 and 50; got 5"):
        client.predict(video=handle_file(files["video"]), audio=handle_file(files["audio"]),
                       num_inference_steps=5, api_name=f"/{API_NAME}")


def test_two_requests_at_once_both_finish_one_at_a_time(server, client, files):
    """Each run works in its own request folder (in the server's TMPDIR) from before the models run until its video
    is handed over: polled every 20 ms, the two runs' folders never exist at the same time."""
    jobs = [client.submit(video=handle_file(files["video"]), audio=handle_file(files["audio"]), seed=seed, **FAST,
                          api_name=f"/{API_NAME}") for seed in (1, 2)]
    folders_seen: list[set[str]] = []
    deadline = time.monotonic() + REQUEST_SECONDS
    while not all(job.done() for job in jobs) and time.monotonic() < deadline:
        folders_seen.append({folder.name for folder in server.temp_dir.glob("latentsync-request-*")})
        time.sleep(0.02)
    results = [job.result(timeout=REQUEST_SECONDS) for job in jobs]
    assert [frame_count(result) for result in results] == [NUM_AUDIO_FRAMES] * 2
    assert max(map(len, folders_seen)) == 1, "two runs at once"
    assert len(set().union(*folders_seen)) == 2, "a run was not seen"


def readme_block(language: str, containing: str) -> str:
    blocks = [block for block in re.findall(rf"^```{language}\n(.*?)^```", (REPO_ROOT / "README.md").read_text(),
                                            flags=re.S | re.M) if containing in block]
    assert len(blocks) == 1, f"README.md has {len(blocks)} {language} blocks with {containing}"
    return blocks[0]


def test_the_readme_s_python_example_works(server, files, tmp_path):
    code = readme_block("python", f'api_name="/{API_NAME}"')
    code = code.replace('Client("http://127.0.0.1:7860/")', f'Client({server.url!r}, download_files={str(tmp_path)!r})')
    code = code.replace('"talk.mp4"', repr(str(files["video"]))).replace('"speech.wav"', repr(str(files["audio"])))
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    [result] = [value for value in namespace.values() if isinstance(value, str) and value.endswith("_lipsync.mp4")]
    assert frame_count(result) == NUM_AUDIO_FRAMES


def test_the_readme_s_curl_requests_work(server, files, client):
    """Upload, start a run with the README's JSON (its model and files swapped for this server's), read the
    result's event stream, download the video."""
    block = readme_block("shell", f"/gradio_api/call/{API_NAME}")
    payload = json.loads(re.search(r"-d '(.*?)'", block, flags=re.S)[1])
    opener = local_opener()
    boundary = "latentsync-test-boundary"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{path.name}"\r\n\r\n'
                    .encode() + path.read_bytes() + b"\r\n" for path in (files["video"], files["audio"]))
    upload = urllib.request.Request(f"{server.url}/gradio_api/upload", body + f"--{boundary}--\r\n".encode(),
                                    {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with opener.open(upload, timeout=60) as response:
        video_path, audio_path = json.load(response)
    payload["data"][0]["path"], payload["data"][1]["path"] = video_path, audio_path
    model = client.view_api(return_format="dict", print_info=False)["named_endpoints"][f"/{API_NAME}"]
    payload["data"][2] = model["parameters"][2]["parameter_default"]  # the release this server has
    start = urllib.request.Request(f"{server.url}/gradio_api/call/{API_NAME}", json.dumps(payload).encode(),
                                   {"Content-Type": "application/json"})
    with opener.open(start, timeout=60) as response:
        event_id = json.load(response)["event_id"]
    with opener.open(f"{server.url}/gradio_api/call/{API_NAME}/{event_id}", timeout=REQUEST_SECONDS) as response:
        stream = response.read().decode()
    events = re.findall(r"^event: (\w+)\ndata: (.*)$", stream, flags=re.M)
    assert events[-1][0] == "complete", stream
    [video] = json.loads(events[-1][1])
    download = files["work"] / "from_curl.mp4"
    with opener.open(video["url"], timeout=60) as response:
        download.write_bytes(response.read())
    assert frame_count(download) == NUM_AUDIO_FRAMES
