"""SyncNet mel spectrogram and dataset window cutting against the reference fixtures (README section 4)."""

import numpy as np
import pytest
from safetensors.numpy import load_file

from latentsync.io.audio_reader import load_audio
from latentsync.utils.syncnet_mel import load_syncnet_mel_config, mel_window, melspectrogram
from tests.helpers.paths import shared_path

# (num_frames, start_frame) -> mel column the dataset starts at; (16, 490) runs past the end and is rejected.
WINDOWS = {(16, 7): 22, (16, 333): 1065, (5, 101): 323, (25, 50): 160, (16, 490): 1568}


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    return load_file(shared_path("parity", "audio", "syncnet_mel.safetensors"))


@pytest.fixture(scope="module")
def mel() -> np.ndarray:
    return melspectrogram(load_audio(shared_path("parity", "audio", "demo2_audio.wav")))


def test_config_values():
    config = load_syncnet_mel_config()
    assert (config.num_mels, config.n_fft, config.hop_size, config.win_size) == (80, 800, 200, 800)
    assert config.sample_rate == 16000
    assert (config.fmin, config.fmax, config.preemphasis, config.max_abs_value) == (55, 7600, 0.97, 4.0)


def test_melspectrogram(mel, reference):
    assert mel.dtype == np.float64
    assert mel.shape == (80, 1 + 317440 // 200)
    np.testing.assert_allclose(mel, reference["mel_demo2"], atol=1e-10, rtol=0)


@pytest.mark.parametrize(("num_frames", "start_frame"), WINDOWS)
def test_windows(mel, reference, num_frames, start_frame):
    expected = reference[f"window{num_frames}_start{start_frame}"]
    start_column = WINDOWS[num_frames, start_frame]
    columns = reference["mel_demo2"][:, start_column : start_column + expected.shape[-1]]
    np.testing.assert_array_equal(expected[0], columns)
    window = mel_window(mel, start_frame, num_frames, fps=25)
    if expected.shape[-1] < int(np.ceil(num_frames * 16 / 5)):
        assert window is None
    else:
        assert window.shape == expected.shape
        np.testing.assert_allclose(window, expected, atol=1e-10, rtol=0)


def test_window_geometry_matches_the_dataset_formula():
    """The dataset starts at int(80 * (k / 25)) and cuts ceil(n / 5 * 16) columns; exact rationals agree."""
    columns = np.arange(700_000, dtype=np.float64)[None]
    for start_frame in range(0, 200_000, 997):
        assert mel_window(columns, start_frame, 1)[0, 0, 0] == int(80.0 * (start_frame / 25.0))
    for num_frames in range(1, 100):
        assert mel_window(columns, 0, num_frames).shape[-1] == int(np.ceil(num_frames / 5 * 16))
