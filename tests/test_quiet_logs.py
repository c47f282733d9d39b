"""quiet_logs removes known library noise and nothing else."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from latentsync.cli.runner import Terminated
from latentsync.utils.quiet_logs import launch_gradio
from tests.helpers.paths import REPO_ROOT

SCRIPT = textwrap.dedent(r"""
    import logging, os, warnings
    from latentsync.utils.quiet_logs import filtered_native_stderr, quiet_library_logs

    quiet_library_logs()
    warnings.warn("SymbolDatabase.GetPrototype() is deprecated. Please use ...", UserWarning)
    warnings.warn("a real warning", UserWarning)
    modeling = logging.getLogger("diffusers.models.modeling_utils")
    modeling.warning("There are modules in UNet that should be kept in float32: []. Casting directly ...")
    modeling.warning("There are modules in VAE that should be kept in float32: ['norm']. Casting directly ...")
    with filtered_native_stderr(), filtered_native_stderr():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"W0000 00:00:1796185074.043830   17339 inference_feedback_manager.cc:114] Feedback manager")
        os.write(2, b" requires a model with a single signature inference.\n")
        os.write(2, b"\rbar  50%\rbar 100%\n")
        os.write(2, b"INFO: ")  # TensorFlow Lite's two writes, a progress bar redrawn between them
        os.write(2, b"\rfaces:  50%|# | 1/2")
        os.write(2, b"Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"\rclips:   0%|  | 0/1")  # a progress bar, then noise on its line (mediapipe starting up)
        os.write(2, b"W0000 00:00:1796670444.214546   21448 inference_feedback_manager.cc:114] Feedback manager\n")
        os.write(2, b"\rclips: 100%|##| 1/1\n")
        os.write(2, b"E0000 00:00:1.5   17339 graph.cc:1] a real native error\n")
    os.write(2, b"after\n")
""")


def test_noise_is_dropped_and_real_messages_are_kept():
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, capture_output=True, timeout=120)
    stderr = result.stderr.decode()  # bytes: carriage returns must arrive as written
    assert result.returncode == 0, stderr
    for noise in ("GetPrototype", "float32: []", "TensorFlow Lite", "absl::InitializeLog", "Feedback manager"):
        assert noise not in stderr, stderr
    assert "INFO" not in stderr, stderr
    for kept in ("a real warning", "float32: ['norm']", "\rbar  50%\rbar 100%\n", "\rfaces:  50%|# | 1/2\rclips:",
                 "a real native error", "after", "\rclips:   0%|  | 0/1\rclips: 100%|##| 1/1\n"):
        assert kept in stderr, stderr


ENCODERS_SCRIPT = textwrap.dedent(r"""
    import os, sys
    import av, av.logging, numpy as np
    from latentsync.data_processing.shots import detect_shots
    from latentsync.io.video_writer import VideoWriter
    from latentsync.utils.quiet_logs import quiet_library_logs

    def clip(name):  # H.264 + AAC, as every clip of the project
        with VideoWriter(name, audio=np.zeros(16000, np.float32)) as writer:
            for _ in range(25):
                writer.write(np.zeros((64, 64, 3), np.uint8))

    clip("first.mp4")
    assert detect_shots("first.mp4") == [(0, 25)]
    clip("after_shot_detection.mp4")  # the library alone: scene detection leaves FFmpeg's log off
    quiet_library_logs()
    av.logging.restore_default_callback()  # as scenedetect.detect(..., backend="pyav") does
    clip("after_the_terminal_log_is_on.mp4")
    os.write(2, b"encoded\n")
    open("broken.mp4", "wb").write(bytes(1000))
    try:
        av.open("broken.mp4")
    except av.FFmpegError:
        pass
""")


@pytest.mark.slow
def test_encoders_print_no_statistics_but_ffmpeg_errors_show(tmp_path):
    """libx264 and aac print a dozen lines each when they close (data processing printed 161 such lines of 171):
    neither the shot stage nor a library that hands FFmpeg's log to the terminal brings them back."""
    result = subprocess.run([sys.executable, "-c", ENCODERS_SCRIPT], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 0, result.stderr
    assert "[libx264 @" not in result.stderr and "[aac @" not in result.stderr, result.stderr
    assert result.stderr.startswith("encoded\n") and "moov atom not found" in result.stderr, result.stderr


class FakeDemo:
    """Serves until ``close``; ``is_running`` raises ``stop_with`` (a signal arriving while the demo serves)."""

    local_url, share_url = "http://127.0.0.1:7860/", None

    def __init__(self, stop_with: BaseException | None = None):
        self.stop_with, self.closed = stop_with, None

    def launch(self, **options):
        self.options = options

    @property
    def is_running(self) -> bool:
        if self.stop_with is not None:
            raise self.stop_with
        return self.closed is None

    def close(self, verbose: bool = True):
        self.closed = {"verbose": verbose}


def test_gradio_launch_is_quiet_but_prints_the_address(capsys):
    demo = FakeDemo()
    demo.closed = {"verbose": "stopped by Gradio"}  # e.g. demo.close() from a request handler
    launch_gradio(demo, server_port=7860, share=False)
    assert demo.options == dict(quiet=True, prevent_thread_lock=True, server_port=7860, share=False)
    assert capsys.readouterr().out == "serving on http://127.0.0.1:7860/\n"


def test_an_interrupted_demo_closes_its_server_silently_and_passes_the_interrupt_on(capsys):
    demo = FakeDemo(stop_with=Terminated(15))
    with pytest.raises(Terminated):
        launch_gradio(demo, server_port=7860)
    assert demo.closed == {"verbose": False}
    assert capsys.readouterr().out == "serving on http://127.0.0.1:7860/\n"


def _batch_lipsync_with_unpaired_lists(tmp_path: Path) -> int:
    from latentsync.cli import inference_videos

    (tmp_path / "videos.txt").write_text("a.mp4\nb.mp4\n")
    (tmp_path / "audios.txt").write_text("a.wav\n")
    return inference_videos.main(["--video_fileslist", str(tmp_path / "videos.txt"), "--audio_fileslist",
                                  str(tmp_path / "audios.txt"), "--output_dir", str(tmp_path / "out")])


def _inference_benchmark_without_inputs(tmp_path: Path) -> int:
    from tests.helpers.bench_loader import load_benchmark

    return load_benchmark("bench_inference").main(["--tiny", "--video", str(tmp_path / "none.mp4")])


def _training_without_its_config(tmp_path: Path) -> int:
    from latentsync.cli import train_syncnet

    return train_syncnet.main(["--config_path", str(tmp_path / "none.yaml")])


@pytest.mark.parametrize("entry_point", [_batch_lipsync_with_unpaired_lists, _inference_benchmark_without_inputs,
                                         _training_without_its_config],
                         ids=["batch_lipsync", "bench_inference", "training"])
def test_other_entry_points_filter_the_same_noise(tmp_path, capsys, entry_point):
    modeling = logging.getLogger("diffusers.models.modeling_utils")
    saved_filters = list(modeling.filters)
    modeling.filters.clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.resetwarnings()
            assert entry_point(tmp_path) == 2  # the filters are in place before the first check
            warnings.warn("SymbolDatabase.GetPrototype() is deprecated. Please use ...", UserWarning)
            warnings.warn("a real warning", UserWarning)
        assert [str(warning.message) for warning in caught] == ["a real warning"]
        record = logging.LogRecord(modeling.name, logging.WARNING, __file__, 0,
                                   "There are modules in UNet that should be kept in float32: []. Casting", None, None)
        assert not modeling.filter(record)
    finally:
        modeling.filters[:] = saved_filters
    assert capsys.readouterr().err.startswith("error: ")
