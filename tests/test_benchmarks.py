"""The benchmarks run on the CPU (tiny models, a few frames) and print their figures (no timing is asserted)."""

from __future__ import annotations

import threading

import pytest

from benchmarks import demo_inputs
from tests.helpers import tiny_models
from tests.helpers.bench_loader import load_benchmark
from tests.helpers.paths import shared_path


@pytest.mark.parametrize("frames, switches, header", [
    (8, [], "1 window(s) per U-Net call, standard encoding"),
    (32, ["--windows-per-call", "2", "--encoding", "fast"], "2 window(s) per U-Net call, fast encoding"),
])
def test_tiny_cpu_run_prints_the_stage_table(capsys, monkeypatch, tmp_path, frames, switches, header):
    """Without ../shared, the default clips are the demo clips that ./setup_env.sh puts in assets/."""
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("demo1_video.mp4", "demo1_audio.wav"):
        (assets / name).symlink_to(shared_path("media", name))
    monkeypatch.setattr(demo_inputs, "MEDIA_DIRS", (tmp_path / "no_shared", assets))
    monkeypatch.setattr(tiny_models, "shared_path", lambda *parts: pytest.fail(f"read ../shared/{parts}"))
    bench = load_benchmark()
    assert (bench.DEFAULT_VIDEO, bench.DEFAULT_AUDIO) == (assets / "demo1_video.mp4", assets / "demo1_audio.wav")
    assert bench.main(["--tiny", "--device", "cpu", "--frames", str(frames), "--scale", "0.5", "--steps", "1",
                       "--no-guidance", *switches]) == 0
    out = capsys.readouterr().out
    assert header in out
    table = out[out.index("stage "):]
    for stage in bench.STAGES:
        row = next(line for line in table.splitlines() if line.startswith(stage + " "))
        assert float(row.split()[-3]) > 0, row  # every stage ran and was timed
    assert "end to end" in table and "peak host memory" in table
    assert f"{frames} output frames" in out and "540x960" in out
    assert [t.name for t in threading.enumerate() if t.name in ("prefetch", "video-encode")] == []


def test_missing_input_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(demo_inputs, "MEDIA_DIRS", (tmp_path / "no_shared", tmp_path / "assets"))
    assert demo_inputs.demo_clip("demo1_video.mp4") == tmp_path / "assets" / "demo1_video.mp4"
    bench = load_benchmark()
    assert bench.main(["--tiny", "--audio", str(tmp_path / "none.wav")]) == 2
    error = capsys.readouterr().err
    assert error == (f"error: missing input {tmp_path / 'assets' / 'demo1_video.mp4'}, {tmp_path / 'none.wav'}; run "
                     "./setup_env.sh (it downloads the demo clips into assets/) or pass --video/--audio\n")


def test_paste_back_benchmark_prints_each_encoding(capsys):
    video = shared_path("media", "demo1_video.mp4")
    bench = load_benchmark("bench_paste_back")
    assert bench.main(["--video", str(video), "--frames", "16", "--scale", "0.25", "--encodings", "fast"]) == 0
    out = capsys.readouterr().out
    rates = {line[:72].strip(): float(line[72:].split()[0]) for line in out.splitlines() if line.endswith("frames/s")}
    fast = "paste-back + encode fast (CRF 16 veryfast)"
    assert list(rates) == ["align (warp + Lanczos resize)", "paste-back", f"{fast}, VideoWriter", f"{fast}, BackgroundVideoWriter"]
    assert all(rate > 0 for rate in rates.values()) and "270x480, 16 frames" in out
