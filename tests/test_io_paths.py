"""Path checks: every problem is one InputError line naming the file, the problem and the fix."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

from latentsync.errors import InputError
from latentsync.io.paths import (check_audio_input, check_output_file, check_output_folder, check_output_path,
                                 check_video_input)
from latentsync.io.video_writer import VideoWriter
from tests.helpers.synthetic_video import frame_for_index, write_audio, write_constant_rate_video

AWKWARD_NAMES = ["with space.mp4", "it's \"quoted\".mp4", "a;b.mp4", "$(touch pwned).mp4", "ünïcødé 视频.mp4",
                 "new\nline.mp4"]


def raised(check, *args, **kwargs) -> str:
    with pytest.raises(InputError) as error:
        check(*args, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.fixture
def video(tmp_path) -> Path:
    return write_constant_rate_video(tmp_path / "video.mp4", fps=25, seconds=1)


def test_good_inputs_pass(video, tmp_path):
    assert check_video_input(video) == video
    assert check_audio_input(write_audio(tmp_path / "speech.m4a", seconds=1)) == tmp_path / "speech.m4a"
    with VideoWriter(tmp_path / "talking.mp4", audio=np.zeros(16000, dtype=np.float32)) as writer:
        for index in range(25):
            writer.write(frame_for_index(index))
    assert check_audio_input(tmp_path / "talking.mp4") == tmp_path / "talking.mp4"


@pytest.mark.parametrize("check", [check_video_input, check_audio_input])
def test_missing_folder_and_empty_paths(tmp_path, check):
    message = raised(check, tmp_path / "nope.mp4")
    assert "does not exist" in message and "nope.mp4" in message
    assert "is not a file" in raised(check, tmp_path)
    (tmp_path / "empty.mp4").touch()
    assert "is empty (0 bytes)" in raised(check, tmp_path / "empty.mp4")


@pytest.mark.parametrize("check", [check_video_input, check_audio_input])
def test_garbage_is_not_media(tmp_path, check):
    garbage = tmp_path / "notes.mp4"
    garbage.write_text("just some text, not a video\n" * 50)
    message = raised(check, garbage)
    assert "notes.mp4" in message and "not a media file" in message


def test_audio_only_file_is_not_a_video(tmp_path):
    message = raised(check_video_input, write_audio(tmp_path / "speech.m4a", seconds=1))
    assert "has no video stream" in message and "speech.m4a" in message


def test_video_stream_without_frames(tmp_path):
    path = tmp_path / "no_frames.mkv"
    with av.open(str(path), "w") as container:  # a declared video track, but only audio packets
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
        silence = av.AudioFrame.from_ndarray(np.zeros((1, 16000), dtype=np.float32), format="flt", layout="mono")
        silence.sample_rate = 16000
        container.mux(audio.encode(silence))
        container.mux(audio.encode(None))
    assert "has a video stream but no frames" in raised(check_video_input, path)


def test_audio_stream_without_samples(tmp_path):
    path = tmp_path / "no_samples.mkv"
    with av.open(str(path), "w") as container:  # a declared audio track, but only video packets
        container.add_stream("aac", rate=16000).layout = "mono"
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        container.mux(video.encode(av.VideoFrame.from_ndarray(frame_for_index(0, 64, 48), format="rgb24")))
        container.mux(video.encode(None))
    assert f"{str(path)!r} has an audio stream but no samples" in raised(check_audio_input, path)


def test_video_without_audio_is_not_an_audio_input(video):
    message = raised(check_audio_input, video)
    assert "has no audio stream" in message and "video.mp4" in message


def test_output_path_accepts_new_and_existing_files(tmp_path, video):
    assert check_output_path(tmp_path / "out.mp4", [video]) == tmp_path / "out.mp4"
    assert check_output_path(tmp_path / "out.MOV") == tmp_path / "out.MOV"
    (tmp_path / "old.mp4").write_bytes(b"previous run")
    assert check_output_path(tmp_path / "old.mp4", [video]) == tmp_path / "old.mp4"


@pytest.mark.parametrize("name", ["out.avi", "out.mkv", "out", "out.mp4.txt"])
def test_output_needs_an_mp4_or_mov_name(tmp_path, name):
    message = raised(check_output_path, tmp_path / name)
    assert name in message and ".mp4" in message


def test_output_folder_problems(tmp_path):
    assert "does not exist" in raised(check_output_path, tmp_path / "missing" / "out.mp4")
    (tmp_path / "file").write_text("x")
    assert "is not a folder" in raised(check_output_path, tmp_path / "file" / "out.mp4")
    (tmp_path / "dir.mp4").mkdir()
    assert "is a folder" in raised(check_output_path, tmp_path / "dir.mp4")
    message = raised(check_output_path, Path("/proc/out.mp4"))  # os.access says yes there, for root too
    assert "'/proc'" in message and "cannot be written" in message
    assert check_output_path(tmp_path / "out.mp4") and list(tmp_path.glob(".write-check-*")) == []


def test_any_output_file_is_checked_like_a_video(tmp_path, video):
    assert check_output_file(tmp_path / "scores.csv", [video], role="--csv_path") == tmp_path / "scores.csv"
    assert "--csv_path 'x.csv' is the input 'x.csv'" in raised(check_output_file, "x.csv", ["x.csv"], "--csv_path")
    assert "--csv_path" in raised(check_output_file, video, [video], "--csv_path")
    assert "must end in .png" in raised(check_output_file, tmp_path / "plot.mp4", suffixes=(".png", ".pdf"))
    assert "e.g. " + repr(str(tmp_path / "out.png")) in raised(check_output_file, tmp_path, suffixes=(".png",))
    assert "cannot be written" in raised(check_output_file, "/proc/scores.csv")


def test_output_folders_new_or_existing(tmp_path):
    assert check_output_folder(tmp_path) == tmp_path
    assert check_output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists() and list(tmp_path.iterdir()) == []  # checked, nothing created
    (tmp_path / "file").write_text("x")
    assert "is a file, not a folder" in raised(check_output_folder, tmp_path / "file", "--audio_cache_dir")
    message = raised(check_output_folder, tmp_path / "file" / "sub")
    assert "cannot be written" in message and f"{str(tmp_path / 'file')!r} is a file" in message
    message = raised(check_output_folder, "/proc/cache", "--audio_cache_dir")
    assert message.startswith("--audio_cache_dir '/proc/cache' cannot be written") and "'/proc'" in message


def test_output_equal_to_an_input_in_any_spelling(tmp_path, video, monkeypatch):
    audio = write_audio(tmp_path / "speech.m4a", seconds=1)
    (tmp_path / "link.mp4").symlink_to(video)
    os.link(video, tmp_path / "hardlink.mp4")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    for output in (video, Path("../video.mp4"), tmp_path / "sub" / ".." / "video.mp4", tmp_path / "link.mp4",
                   tmp_path / "hardlink.mp4"):
        assert "is the input" in raised(check_output_path, output, [audio, video])


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_awkward_names_just_work(tmp_path, name):
    path = write_constant_rate_video(tmp_path / name, fps=25, seconds=1)
    assert check_video_input(path) == path
    assert check_output_path(tmp_path / ("out " + name), [path]) == tmp_path / ("out " + name)
    assert "is the input" in raised(check_output_path, path, [path])
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
