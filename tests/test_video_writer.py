"""VideoWriter: H.264/AAC output that lasts as long as the audio, written atomically."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import av
import numpy as np
import pytest

from latentsync.errors import InputError
from latentsync.io.video_writer import VideoWriter
from tests.helpers.synthetic_video import HEIGHT, WIDTH, frame_for_index, index_of_frame, write_constant_rate_video
from tests.helpers.x264 import x264_settings

SAMPLE_RATE = 16000


def tone(seconds: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    samples = np.arange(round(seconds * sample_rate))
    return (0.3 * np.sin(2 * np.pi * 440 * samples / sample_rate)).astype(np.float32)


def write_clip(path: Path, num_frames: int, audio: np.ndarray | None, sample_rate: int = SAMPLE_RATE,
               width: int = WIDTH, height: int = HEIGHT, **options) -> Path:
    with VideoWriter(path, audio=audio, sample_rate=sample_rate, **options) as writer:
        for index in range(num_frames):
            writer.write(frame_for_index(index, width, height))
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if ".partial-" in entry.name)


def test_output_has_the_frames_rate_size_and_aac_audio(tmp_path):
    path = write_clip(tmp_path / "out.mp4", 50, tone(2.0))
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (video.codec_context.colorspace, video.codec_context.color_range) == (6, 1)  # BT.601, limited
        assert (video.codec_context.width, video.codec_context.height, video.average_rate) == (WIDTH, HEIGHT, 25)
        assert (audio.codec_context.name, audio.sample_rate, audio.channels) == ("aac", SAMPLE_RATE, 1)
        assert container.duration / av.time_base == pytest.approx(2.0, abs=0.04)
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video)]
    assert [index_of_frame(frame) for frame in decoded] == list(range(50))
    colour_error = max(np.abs(frame.astype(int) - frame_for_index(index)).max() for index, frame in enumerate(decoded))
    assert colour_error <= 3
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("audio_seconds, num_frames", [(2.03, 50), (2.03, 51), (1.0, 25)])
def test_duration_matches_the_audio_within_one_frame(tmp_path, audio_seconds, num_frames):
    path = write_clip(tmp_path / "out.mp4", num_frames, tone(audio_seconds))
    with av.open(str(path)) as container:
        assert container.duration / av.time_base == pytest.approx(audio_seconds, abs=0.04)
        assert container.streams.audio[0].duration * container.streams.audio[0].time_base == pytest.approx(
            audio_seconds, abs=0.001)


def test_expected_num_frames_rounds_the_audio_length(tmp_path):
    writer = VideoWriter(tmp_path / "out.mp4", audio=tone(2.03))
    assert writer.expected_num_frames == 51
    writer.discard()
    assert VideoWriter(tmp_path / "silent.mp4").expected_num_frames is None
    assert leftovers(tmp_path)  # that second writer was never closed: its partial file is still there


def test_frame_count_that_does_not_cover_the_audio_is_refused(tmp_path):
    with pytest.raises(ValueError, match="write 50 or 51 frames"):
        write_clip(tmp_path / "out.mp4", 45, tone(2.03))
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


def test_unusual_sample_rate_is_resampled_to_48k(tmp_path):
    path = write_clip(tmp_path / "out.mp4", 25, tone(1.0, 22000), sample_rate=22000)
    with av.open(str(path)) as container:
        assert container.streams.audio[0].sample_rate == 48000
        assert container.duration / av.time_base == pytest.approx(1.0, abs=0.04)


def test_odd_size_is_padded_to_even(tmp_path):
    path = write_clip(tmp_path / "out.mp4", 5, None, width=63, height=47)
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert frames[0].shape == (48, 64, 3)
    assert [index_of_frame(frame) for frame in frames] == list(range(5))


def test_video_without_audio_and_mov_output(tmp_path):
    path = write_clip(tmp_path / "out.mov", 10, None)
    with av.open(str(path)) as container:
        assert not container.streams.audio and container.streams.video[0].frames == 10


def test_crf_controls_quality(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (8, HEIGHT, WIDTH, 3), dtype=np.uint8)
    sizes = {}
    for crf in (10, 40):
        with VideoWriter(tmp_path / f"crf{crf}.mp4", crf=crf) as writer:
            for frame in noise:
                writer.write(frame)
        sizes[crf] = (tmp_path / f"crf{crf}.mp4").stat().st_size
    assert sizes[40] < sizes[10] / 2


def test_frames_stream_into_a_hidden_partial_file_beside_the_target(tmp_path):
    rng = np.random.default_rng(0)
    with VideoWriter(tmp_path / "out.mp4", audio=tone(4.0)) as writer:
        for _ in range(100):  # noise barely compresses: ~1.5 MB, far beyond the muxer's 256 KiB write buffer
            writer.write(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
        (partial,) = leftovers(tmp_path)
        assert partial.startswith(".out.partial-") and partial.endswith(".mp4")
        assert (tmp_path / partial).stat().st_size > 256 * 1024  # packets reached the disk before close
        assert not (tmp_path / "out.mp4").exists()
    assert leftovers(tmp_path) == [] and (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_output_gets_the_permissions_of_a_new_file(tmp_path, umask):
    """0o666 less the umask, like a file made by ffmpeg or cp (not the 0o600 of a private temporary file)."""
    previous = os.umask(umask)
    try:
        path = write_clip(tmp_path / "out.mp4", 5, None)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_exception_mid_write_removes_partial_and_keeps_target(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"previous result")
    with pytest.raises(RuntimeError, match="model crashed"), VideoWriter(target, audio=tone(2.0)) as writer:
        for index in range(10):
            writer.write(frame_for_index(index))
        raise RuntimeError("model crashed")
    assert target.read_bytes() == b"previous result"
    assert leftovers(tmp_path) == []


def test_bad_frames_are_rejected_and_cleaned_up(tmp_path):
    with pytest.raises(ValueError, match="the first frame was"), VideoWriter(tmp_path / "out.mp4") as writer:
        writer.write(frame_for_index(0))
        writer.write(frame_for_index(1, width=32))
    with pytest.raises(ValueError, match="uint8"), VideoWriter(tmp_path / "out.mp4") as writer:
        writer.write(np.zeros((HEIGHT, WIDTH, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="no frames"), VideoWriter(tmp_path / "out.mp4"):
        pass
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


def test_never_overwrites_an_input(tmp_path, monkeypatch):
    source = write_constant_rate_video(tmp_path / "input.mp4", fps=25, seconds=1)
    original = source.read_bytes()
    (tmp_path / "alias.mp4").symlink_to(source)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    for output in (source, Path("input.mp4"), tmp_path / "sub" / ".." / "input.mp4", tmp_path / "alias.mp4"):
        with pytest.raises(InputError, match="is the input"):
            VideoWriter(output, inputs=[source])
    assert source.read_bytes() == original and leftovers(tmp_path) == []


def test_awkward_output_name_needs_no_escaping(tmp_path):
    path = write_clip(tmp_path / "out 'final'; $(echo hi) \"ü\".mp4", 25, tone(1.0))
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 25


def test_high_quality_encoding_uses_a_lower_crf_and_a_slower_preset(tmp_path):
    from latentsync.io.encodings import HIGH_QUALITY_ENCODING, STANDARD_ENCODING

    assert HIGH_QUALITY_ENCODING.crf < STANDARD_ENCODING.crf
    standard = x264_settings(write_clip(tmp_path / "standard.mp4", 5, None))
    high = x264_settings(write_clip(tmp_path / "high.mp4", 5, None, crf=HIGH_QUALITY_ENCODING.crf,
                                    preset=HIGH_QUALITY_ENCODING.preset))
    assert f"crf={STANDARD_ENCODING.crf}.0" in standard and f"crf={HIGH_QUALITY_ENCODING.crf}.0" in high
    # x264's presets differ in these: medium = subme 7, rc_lookahead 40; slow = subme 8, rc_lookahead 50.
    assert "subme=7" in standard and "rc_lookahead=40" in standard
    assert "subme=8" in high and "rc_lookahead=50" in high


def test_fast_encoding_keeps_the_standard_fidelity_on_real_frames(tmp_path):
    """``--encoding fast`` trades x264 analysis for speed and buys the fidelity back with a lower CRF."""
    from latentsync.io.encodings import FAST_ENCODING, STANDARD_ENCODING
    from tests.helpers.paths import shared_path

    with av.open(str(shared_path("media", "demo1_video.mp4"))) as container:
        frames = [np.ascontiguousarray(frame.to_ndarray(format="rgb24")[::4, ::4])
                  for _, frame in zip(range(25), container.decode(video=0))]

    def encode(name, settings):
        path = tmp_path / name
        with VideoWriter(path, crf=settings.crf, preset=settings.preset) as writer:
            for frame in frames:
                writer.write(frame)
        with av.open(str(path)) as container:
            decoded = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
        psnr = 10 * np.log10(255**2 / np.mean((decoded.astype(float) - np.stack(frames)) ** 2))
        return psnr, x264_settings(path)

    standard_psnr, _ = encode("standard.mp4", STANDARD_ENCODING)
    fast_psnr, fast = encode("fast.mp4", FAST_ENCODING)
    assert "subme=2" in fast and f"crf={FAST_ENCODING.crf}.0" in fast  # x264's veryfast: subme 2
    assert fast_psnr > standard_psnr - 0.5, (fast_psnr, standard_psnr)
