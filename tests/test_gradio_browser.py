"""The web demo as a person uses it: `gradio_app.py` on 127.0.0.1 with tiny random models, driven in headless
Chromium (Debian's `chromium` through Playwright's `executable_path`; Playwright's own browser download is not
needed). Screenshots of the finished pages go to each test's tmp_path and to ``<pytest tmp root>/latentsync-gradio``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import wave
from pathlib import Path

import pytest

from tests.helpers.demo_clips import write_hevc_demo_clip
from tests.helpers.local_servers import running_demo
from tests.helpers.paths import shared_path

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: pip install playwright")
expect = sync_api.expect
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed: apt-get install chromium", allow_module_level=True)

# Headless and silent: without the background-networking flags Chromium keeps calling home, which a closed
# network (CI) answers slowly or not at all.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-proxy-server"]
RUN_TIMEOUT_MS = 180_000
AUDIO_SECONDS = 0.6  # 15 output frames: one 16-frame window of the tiny U-Net


@pytest.fixture(scope="module")
def server(tiny_demo):
    """The demo test_gradio_api used first (tests/conftest.py), stopped after this module, its last user: idle, it
    would take a tenth of a core from the rest of the suite."""
    yield tiny_demo
    tiny_demo.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # fresh profile
        yield browser
        browser.close()


@contextlib.contextmanager
def opened_page(browser, url: str):
    """A fresh page on ``url`` that may load nothing but the demo itself."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())
        page.set_default_timeout(30_000)
        page.goto(url)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, server):
    with opened_page(browser, server.url) as page:
        yield page


@pytest.fixture(scope="module")
def phone_video(tmp_path_factory) -> Path:
    """1.6 s of the demo clip as HEVC at 432x768 (the demo's own 1080x1920 HEVC makes every run and preview
    several times longer): a size the panel's 360x640 preview is not, so the result shows which one was used."""
    return write_hevc_demo_clip(tmp_path_factory.mktemp("uploads") / "phone_video.mp4", 40, (432, 768))


@pytest.fixture
def short_speech(tmp_path) -> Path:
    """The first 0.6 s of the demo's speech: the result lasts as long as the audio, so the run stays short."""
    with wave.open(str(shared_path("media", "demo1_audio.wav"))) as source:
        params = source.getparams()
        frames = source.readframes(round(source.getframerate() * AUDIO_SECONDS))
    path = tmp_path / "speech.wav"
    with wave.open(str(path), "wb") as target:
        target.setparams(params)
        target.writeframes(frames)
    return path


def upload(page, elem_id: str, path: Path, tag: str) -> None:
    """Choose ``path`` in a component's file picker and wait until its player shows the uploaded file (or, for a
    video browsers cannot play, its preview, named after it)."""
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    page.locator(f"#{elem_id} {tag}[src*='{path.stem}'], #{elem_id} a[href*='{path.stem}']").first.wait_for(
        state="attached")


@pytest.fixture
def save_screenshot(tmp_path, tmp_path_factory, capsys):
    """Save the whole page as ``tmp_path/NAME`` and as ``<pytest tmp root>/latentsync-gradio/NAME`` (printed),
    which outlives pytest's rotation of numbered temporary folders."""
    def save(page, name: str) -> None:
        shot = tmp_path / name
        page.screenshot(path=str(shot), full_page=True)
        stable = tmp_path_factory.getbasetemp().parent / "latentsync-gradio" / name
        stable.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, stable)
        with capsys.disabled():
            print(f"\nscreenshot: {stable}")
    return save


def set_face_enhance(page, method_title: str, strength: float) -> None:
    """Tick Face Enhance, pick the enhancer in the dropdown and type the strength into the slider's number box."""
    page.locator("#face-enhance input[type=checkbox]").check()
    page.locator("#face-enhance-method input").click()
    page.get_by_role("option", name=method_title).click()
    expect(page.locator("#face-enhance-method input")).to_have_value(method_title)
    strength_box = page.locator("#face-enhance-strength input[type=number]")
    strength_box.fill(str(strength))
    strength_box.press("Enter")


def choose(page, elem_id: str, option: str) -> None:
    """Pick ``option`` in the dropdown ``elem_id``."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.locator(f"#{elem_id} input")).to_have_value(option)


def test_lipsync_in_the_browser(page, server, phone_video, short_speech, save_screenshot):
    """A run with face enhancement, then another with other settings from the same uploads.

    The clip is HEVC, which Chromium cannot show: the video panel shows a small H.264 preview of it, which stays
    after each run, and the runs are made from the uploaded file (the result has its 432x768 size)."""
    upload(page, "video-input", phone_video, "video")
    upload(page, "audio-input", short_speech, "audio")
    shown_video = page.locator("#video-input video[src*='phone_video.preview-']")
    page.wait_for_function("v => v.readyState >= 2 && v.videoWidth == 360", arg=shown_video.element_handle())
    expect(page.locator("#checkpoint-banner")).to_be_hidden()
    expect(page.locator("#face-enhance input[type=checkbox]")).not_to_be_checked()
    set_face_enhance(page, "GFPGAN v1.4", 0.6)
    for elem_id, default, option in (("sync-mode", "bounce", "loop"), ("audio-context", "cut", "overlap"),
                                     ("silence-mode", "generate", "keep")):
        expect(page.locator(f"#{elem_id} input")).to_have_value(default)
        choose(page, elem_id, option)
    page.locator("#run-button").click()

    result = page.locator("#result-video")
    expect(result).to_contain_text(re.compile(r"(Detecting faces|Generating) - \d+(\.\d)?%"), timeout=RUN_TIMEOUT_MS)
    # The speech starts with 0.44 s of digital silence: with silence keep, its first 8 frames show the source.
    expect(page.locator("#status")).to_contain_text(re.compile(r"Done in [\d.]+ s: 15 frames lip-synced \(seed \d+\)\. "
                                                               r"With sync mode loop, audio context overlap, silence "
                                                               r"keep\. 8 frames were passed through from the source "
                                                               r"video\. Face enhanced with GFPGAN v1\.4 \(strength "
                                                               r"0\.6\)"), timeout=RUN_TIMEOUT_MS)

    video = result.locator("video")
    page.wait_for_function("v => v.readyState >= 2 && v.videoWidth > 0", arg=video.element_handle())
    assert video.evaluate("v => v.duration") == pytest.approx(AUDIO_SECONDS, abs=0.05)
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0", arg=video.element_handle())

    download = page.request.get(result.locator("a[download]").get_attribute("href"))
    assert download.ok and download.body()[4:8] == b"ftyp"  # an MP4 file, served for download
    assert not list(server.temp_dir.glob("latentsync-request-*")), "the request's folder was not removed"
    assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [432, 768]

    page.locator("#face-enhance input[type=checkbox]").uncheck()  # another setting, no new upload
    seed_box = page.locator("#seed-input input")
    seed_box.fill("12")
    seed_box.press("Enter")
    page.locator("#run-button").click()
    expect(page.locator("#status")).to_contain_text(re.compile(r"Done in [\d.]+ s: 15 frames lip-synced \(seed 12\)"),
                                                    timeout=RUN_TIMEOUT_MS)
    assert "Face enhanced" not in page.locator("#status").inner_text()
    assert shown_video.evaluate("v => v.videoWidth") == 360  # the uploads are still on the page
    expect(page.locator(f"#audio-input audio[src*='{short_speech.stem}'], "
                        f"#audio-input a[href*='{short_speech.stem}']").first).to_be_attached()
    save_screenshot(page, "finished_page.png")


def test_text_file_as_video_is_refused_in_plain_words(page, short_speech, tmp_path, save_screenshot):
    notes = tmp_path / "notes.txt"
    notes.write_text("meeting notes, not a video\n")
    page.locator("#video-input input[type=file]").set_input_files(str(notes))
    expect(page.get_by_text("Invalid file type: notes.txt")).to_be_visible()  # Gradio's own check

    disguised = shutil.copyfile(notes, tmp_path / "notes.mp4")
    upload(page, "video-input", disguised, "video")
    upload(page, "audio-input", short_speech, "audio")
    page.locator("#run-button").click()
    status = page.locator("#status")
    expect(status).to_contain_text("Could not run: 'notes.mp4' is not a media file PyAV can read",
                                   timeout=RUN_TIMEOUT_MS)
    assert "Traceback" not in page.locator("body").inner_text()
    save_screenshot(page, "refused_page.png")


def test_missing_enhancer_is_explained_with_its_fetch_command(page, phone_video, short_speech, save_screenshot):
    upload(page, "video-input", phone_video, "video")
    upload(page, "audio-input", short_speech, "audio")
    set_face_enhance(page, "CodeFormer", 0.8)
    page.locator("#run-button").click()
    status = page.locator("#status")
    expect(status).to_contain_text(re.compile(r"Could not run: CodeFormer face enhancer .*codeformer\.onnx not found; "
                                              r"fetch it with: python -m scripts\.download_checkpoints "
                                              r"--enhancers codeformer"), timeout=RUN_TIMEOUT_MS)
    assert "Traceback" not in page.locator("body").inner_text()
    save_screenshot(page, "missing_enhancer_page.png")


def test_speaker_point_without_a_face_is_explained(page, phone_video, short_speech, save_screenshot):
    upload(page, "video-input", phone_video, "video")
    upload(page, "audio-input", short_speech, "audio")
    page.locator("#speaker input").click()
    page.get_by_role("option", name="Face at a point (X, Y)").click()
    for elem_id, value in (("speaker-x", "5"), ("speaker-y", "5")):
        page.locator(f"#{elem_id} input").fill(value)
    page.locator("#run-button").click()
    expect(page.locator("#status")).to_contain_text(
        "Could not run: no face of phone_video.mp4 contains pixel (5, 5) in any frame; give a point inside the face",
        timeout=RUN_TIMEOUT_MS)
    save_screenshot(page, "speaker_point_page.png")


def test_missing_checkpoints_are_explained_in_the_page(browser, tmp_path, save_screenshot):
    with running_demo(tmp_path, "--checkpoints_dir", str(tmp_path / "checkpoints")) as server, \
            opened_page(browser, server.url) as page:
        banner = page.locator("#checkpoint-banner")
        expect(banner).to_contain_text("Checkpoints missing")
        expect(banner).to_contain_text("./setup_env.sh")
        expect(page.locator("#run-button")).to_be_disabled()
        save_screenshot(page, "missing_checkpoints_page.png")

