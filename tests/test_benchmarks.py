"""The benchmarks run on the CPU (tiny models, a few frames) and print their figures (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest

from tests.paths import shared_path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str = "bench_inference"):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("frames, switches, header", [
    (8, [], "1 window(s) per U-Net call, standard encoding"),
    (32, ["--windows-per-call", "2", "--encoding", "fast"], "2 window(s) per U-Net call, fast encoding"),
])
def test_tiny_cpu_run_prints_the_stage_table(capsys, frames, switches, header):
    video, audio = shared_path("media", "demo1_video.mp4"), shared_path("media", "demo1_audio.wav")
    bench = load_benchmark()
    assert bench.main(["--tiny", "--device", "cpu", "--video", str(video), "--audio", str(audio), "--frames",
                       str(frames), "--scale", "0.5", "--steps", "1", "--no-guidance", *switches]) == 0
    out = capsys.readouterr().out
    assert header in out
    table = out[out.index("stage "):]
    for stage in bench.STAGES:
        row = next(line for line in table.splitlines() if line.startswith(stage + " "))
        assert float(row.split()[-3]) > 0, row  # every stage ran and was timed
    assert "end to end" in table and "peak host memory" in table
    assert f"{frames} output frames" in out and "540x960" in out
    assert [t.name for t in threading.enumerate() if t.name in ("prefetch", "video-encode")] == []


def test_missing_input_is_a_one_line_error(tmp_path, capsys):
    bench = load_benchmark()
    assert bench.main(["--tiny", "--video", str(tmp_path / "none.mp4")]) == 2
    assert capsys.readouterr().out.startswith("error: missing input")


def test_paste_back_benchmark_prints_each_encoding(capsys):
    video = shared_path("media", "demo1_video.mp4")
    bench = load_benchmark("bench_paste_back")
    assert bench.main(["--video", str(video), "--frames", "16", "--scale", "0.25", "--encodings", "fast"]) == 0
    out = capsys.readouterr().out
    rates = {line[:72].strip(): float(line[72:].split()[0]) for line in out.splitlines() if line.endswith("frames/s")}
    fast = "paste-back + encode fast (CRF 16 veryfast)"
    assert list(rates) == ["align (warp + Lanczos resize)", "paste-back", f"{fast}, VideoWriter", f"{fast}, BackgroundVideoWriter"]
    assert all(rate > 0 for rate in rates.values()) and "270x480, 16 frames" in out
