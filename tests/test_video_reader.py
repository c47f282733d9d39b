"""VideoReader: which source frame lands in each 25 fps slot, across containers, and bounded memory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from latentsync.errors import InputError
from latentsync.io.video_reader import VideoReader
from tests.helpers.synthetic_video import HEIGHT, WIDTH, index_of_frame, write_constant_rate_video, write_video


def ffmpeg_fps_filter_frames(path: Path) -> list[np.ndarray]:
    """The frames ffmpeg's ``-vf fps=25`` (with its default autorotate) makes of ``path``: the reference grid."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rotation = next(container.decode(stream)).rotation
        width, height = stream.codec_context.width, stream.codec_context.height
    if rotation % 180:
        width, height = height, width
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(path),
               "-vf", "fps=25", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(command, check=True, capture_output=True).stdout
    return list(np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3))


def frame_indices(frames) -> list[int]:
    return [index_of_frame(frame) for frame in frames]


def require_encoder(codec: str) -> None:
    try:
        av.codec.Codec(codec, "w")
    except av.codec.codec.UnknownCodecError:
        pytest.skip(f"this PyAV build has no {codec} encoder to make the test file")


def test_25fps_mp4_yields_every_frame_as_rgb(tmp_path):
    reader = VideoReader(write_constant_rate_video(tmp_path / "clip.mp4", fps=25, seconds=2))
    frames = list(reader)
    assert frame_indices(frames) == list(range(50))
    assert all(frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8 for frame in frames)
    assert (reader.width, reader.height, reader.source_fps) == (WIDTH, HEIGHT, 25)
    assert reader.duration == pytest.approx(2.0)
    assert reader.estimated_num_frames == reader.count_frames() == 50


@pytest.mark.parametrize("source_fps", [30, 24, 50, 30000 / 1001, 12])
def test_resampling_to_25fps_picks_the_frames_ffmpeg_fps_filter_picks(tmp_path, source_fps):
    path = write_constant_rate_video(tmp_path / "clip.mp4", fps=source_fps, seconds=2)
    reader = VideoReader(path)
    indices = frame_indices(reader)
    assert indices == frame_indices(ffmpeg_fps_filter_frames(path))
    source_duration = round(2 * source_fps) / source_fps
    assert len(indices) == reader.count_frames() == reader.estimated_num_frames == round(source_duration * 25)


def test_resampling_drops_and_repeats_frames_on_the_grid(tmp_path):
    """Hand-checked: 50 fps keeps every second frame; at 24 fps frame 12 (t=0.5 s) rounds to slot 13, so 11 repeats."""
    fifty = VideoReader(write_constant_rate_video(tmp_path / "fifty.mp4", fps=50, seconds=1))
    assert frame_indices(fifty) == list(range(0, 50, 2))
    twenty_four = frame_indices(VideoReader(write_constant_rate_video(tmp_path / "24.mp4", fps=24, seconds=1)))
    assert twenty_four[:14] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 12]


def test_variable_frame_rate_follows_timestamps(tmp_path):
    rng = np.random.default_rng(0)
    times = np.concatenate([[0.0], np.cumsum(rng.uniform(0.005, 0.09, 59))])
    path = write_video(tmp_path / "vfr.mp4", list(times), rate=30)
    reader = VideoReader(path)
    indices = frame_indices(reader)
    assert indices == frame_indices(ffmpeg_fps_filter_frames(path))
    assert len(indices) == reader.count_frames()


@pytest.mark.parametrize("name, codec", [("clip.mkv", "libx264"), ("clip.webm", "libvpx"),
                                         ("clip.mov", "mpeg4"), ("clip.avi", "mpeg4")])
def test_other_containers_and_codecs(tmp_path, name, codec):
    require_encoder(codec)
    path = write_constant_rate_video(tmp_path / name, fps=30, seconds=2, codec=codec)
    reader = VideoReader(path)
    indices = frame_indices(reader)
    assert indices == frame_indices(ffmpeg_fps_filter_frames(path))
    assert len(indices) == reader.count_frames() == 50


def test_odd_resolution(tmp_path):
    path = write_constant_rate_video(tmp_path / "odd.mp4", fps=25, seconds=1, width=63, height=47, pix_fmt="yuv444p")
    reader = VideoReader(path)
    frames = list(reader)
    assert (reader.width, reader.height) == (63, 47)
    assert frames[0].shape == (47, 63, 3)
    assert frame_indices(frames) == list(range(25))


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_display_rotation_is_applied_like_ffmpeg(tmp_path, rotation):
    picture = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    picture[:16, :16] = 255  # white top-left
    picture[:16, -16:, 0] = 255  # red top-right
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.set_display_rotation(rotation)
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    reader = VideoReader(path)
    ours = next(iter(reader))
    expected_size = (WIDTH, HEIGHT) if rotation == 180 else (HEIGHT, WIDTH)
    assert (reader.width, reader.height) == expected_size and ours.shape == (*expected_size[::-1], 3)
    assert np.abs(ours.astype(int) - ffmpeg_fps_filter_frames(path)[0]).mean() < 4


def test_frames_restart_and_start_midway(tmp_path):
    reader = VideoReader(write_constant_rate_video(tmp_path / "clip.mp4", fps=30, seconds=2, keyframe_interval=10))
    everything = frame_indices(reader.frames())
    assert frame_indices(reader.frames()) == everything
    assert frame_indices(reader.frames(start=37)) == everything[37:]


def test_ping_pong_order_with_bounded_buffer(tmp_path):
    path = write_constant_rate_video(tmp_path / "clip.mp4", fps=30, seconds=3, keyframe_interval=12)
    reader = VideoReader(path, block_size=16)
    everything = frame_indices(reader)
    count = len(everything)
    order = [*range(count), *range(count - 1, -1, -1), *range(count), *range(count - 1, 40, -1), 5, 6, 70, 3]
    assert frame_indices(reader.iter_frames(order)) == [everything[index] for index in order]
    assert reader.max_buffered_frames == 16


def test_seeks_in_mpeg_program_streams_are_not_trusted_blindly(tmp_path):
    """MPEG-PS re-derives timestamps after a seek, half a frame off here: seeking naively picks wrong frames."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    source = write_constant_rate_video(tmp_path / "clip.mp4", fps=30, seconds=3)
    path = tmp_path / "clip.mpg"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(source),
                    "-c:v", "mpeg2video", "-g", "15", str(path)], check=True)
    reader = VideoReader(path, block_size=10)
    everything = frame_indices(reader)
    assert everything == frame_indices(ffmpeg_fps_filter_frames(path))
    backward = range(len(everything) - 1, -1, -1)
    assert frame_indices(reader.iter_frames(backward)) == [everything[index] for index in backward]


def test_backward_buffer_does_not_grow_with_video_length(tmp_path):
    path = write_constant_rate_video(tmp_path / "long.mp4", fps=25, seconds=8, keyframe_interval=25)
    reader = VideoReader(path, block_size=8)
    count = reader.count_frames()
    backward = frame_indices(reader.iter_frames(range(count - 1, -1, -1)))
    assert backward == list(range(count - 1, -1, -1))
    assert reader.max_buffered_frames == 8


def test_each_yield_is_a_fresh_array(tmp_path):
    reader = VideoReader(write_constant_rate_video(tmp_path / "clip.mp4", fps=25, seconds=1))
    first, again = reader.iter_frames([3, 3])
    first[:] = 0
    assert index_of_frame(again) == 3


def test_index_past_the_end_or_negative_raises(tmp_path):
    reader = VideoReader(write_constant_rate_video(tmp_path / "clip.mp4", fps=25, seconds=1))
    with pytest.raises(IndexError, match="past the end"):
        list(reader.iter_frames([24, 25]))
    with pytest.raises(IndexError, match="past the end"):
        list(reader.iter_frames([30, 29]))
    with pytest.raises(IndexError, match="negative"):
        list(reader.iter_frames([-1]))


def test_unreadable_inputs_raise_input_error(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(InputError, match="not a media file"):
        VideoReader(garbage)
    with pytest.raises(InputError, match="does not exist"):
        VideoReader(tmp_path / "missing.mp4")


def test_awkward_file_names_need_no_escaping(tmp_path):
    path = write_constant_rate_video(tmp_path / "my clip 'take 2'; $(rm -rf x) \"ü\".mp4", fps=25, seconds=1)
    assert frame_indices(VideoReader(str(path))) == list(range(25))
