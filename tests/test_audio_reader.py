"""load_audio decodes any container to 16 kHz mono float32 and explains unusable files in one line."""

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from latentsync.errors import InputError
from latentsync.io.audio_reader import load_audio
from tests.helpers.paths import shared_path

TONES = (440.0, 1000.0)  # left, right (mono files use the first)
AMPLITUDE = 0.5


def write_tones(path: Path, codec: str, rate: int, channels: int, seconds: float = 1.0) -> Path:
    """Encode one sine per channel with PyAV, so every test input is generated, not stored."""
    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg build has no {codec} encoder")
    layout = "mono" if channels == 1 else "stereo"
    t = np.arange(int(rate * seconds)) / rate
    samples = np.stack([AMPLITUDE * np.sin(2 * np.pi * f * t) for f in TONES[:channels]]).astype(np.float32)
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
    frame.sample_rate = rate
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def tone_amplitudes(waveform: np.ndarray, sample_rate: int = 16000) -> dict[float, float]:
    """Amplitude of each test tone, read off a Hann-windowed spectrum."""
    window = np.hanning(len(waveform))
    spectrum = np.abs(np.fft.rfft(waveform * window)) * 2 / window.sum()
    frequencies = np.fft.rfftfreq(len(waveform), 1 / sample_rate)
    return {f: spectrum[np.abs(frequencies - f) < 3].max() for f in TONES}


@pytest.mark.parametrize(
    ("name", "codec", "rate", "channels", "lossless"),
    [
        ("tone.m4a", "aac", 44100, 2, False),
        ("tone.mp3", "libmp3lame", 48000, 2, False),
        ("tone.ogg", "libopus", 48000, 2, False),
        ("tone.flac", "flac", 22050, 1, True),
        ("tone.wav", "pcm_s16le", 8000, 1, True),
    ],
)
def test_decodes_resamples_and_downmixes(tmp_path, name, codec, rate, channels, lossless):
    waveform = load_audio(write_tones(tmp_path / name, codec, rate, channels))
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    if lossless:
        assert len(waveform) == 16000
    else:  # encoder priming/padding may add up to a couple of codec frames
        assert 16000 <= len(waveform) <= 16000 + 1024
    amplitudes = tone_amplitudes(waveform)
    # Stereo is averaged into mono (ffmpeg's -ac 1), so each channel's tone keeps half its amplitude.
    expected = {TONES[0]: AMPLITUDE / channels, TONES[1]: AMPLITUDE / 2 if channels == 2 else 0.0}
    for frequency, amplitude in expected.items():
        assert amplitudes[frequency] == pytest.approx(amplitude, abs=0.03), frequency


def test_target_sample_rate(tmp_path):
    waveform = load_audio(write_tones(tmp_path / "tone.flac", "flac", 22050, 1), sample_rate=8000)
    assert len(waveform) == 8000
    assert tone_amplitudes(waveform, 8000)[TONES[0]] == pytest.approx(AMPLITUDE, abs=0.03)


def test_pcm16_wav_at_16k_is_exact(tmp_path):
    """The parity fixtures rely on a 16 kHz mono PCM16 WAV reading back as exactly int16 / 32768."""
    samples = np.random.default_rng(0).integers(-32768, 32768, size=12345, dtype=np.int16)
    path = tmp_path / "exact.wav"
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16000)
        file.writeframes(samples.tobytes())
    np.testing.assert_array_equal(load_audio(path), samples.astype(np.float32) / 32768)


def test_audio_track_of_a_video():
    waveform = load_audio(shared_path("media", "demo1_video.mp4"))  # AAC 44.1 kHz stereo, 10.008 s
    assert abs(len(waveform) - round(10.008 * 16000)) < 200


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_audio(tmp_path / "absent.wav")


def test_not_a_media_file(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(InputError, match="not a readable media file"):
        load_audio(path)


def test_file_without_audio_stream(tmp_path):
    path = tmp_path / "silent_film.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    with pytest.raises(InputError, match="has no audio stream"):
        load_audio(path)


def test_empty_audio(tmp_path):
    path = tmp_path / "empty.wav"
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16000)
    with pytest.raises(InputError, match="contains no audio samples"):
        load_audio(path)
