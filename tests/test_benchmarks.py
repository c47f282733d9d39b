"""The benchmarks run on the CPU (tiny models, a few frames) and print their figures: no speed is asserted, but the
printed table must add up (rates, shares and sums agree with each other and with the frame count)."""

from __future__ import annotations

import ast
import threading
from types import SimpleNamespace

import pytest

from benchmarks import demo_inputs
from tests.helpers import tiny_models
from tests.helpers.bench_loader import load_benchmark
from tests.helpers.paths import REPO_ROOT, shared_path


@pytest.mark.parametrize("frames, switches, header", [
    (8, [], "1 window(s) per U-Net call, standard encoding"),
    (32, ["--windows_per_call", "2", "--encoding", "fast"], "2 window(s) per U-Net call, fast encoding"),
])
@pytest.mark.slow
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
                       "--no_guidance", *switches]) == 0
    out, err = capsys.readouterr()
    assert header in out
    phases = [line.split("] ", 1)[1] for line in err.splitlines() if line.startswith("[")]
    assert phases == ["building the models", "warming up: one call of 1 window(s) on random faces" if "1 window" in
                      header else "warming up: one call of 2 window(s) on random faces",
                      "timed run 1 of 2: end to end (background decode and encode)",
                      "timed run 2 of 2: sequential, every stage timed", "done"], err
    assert "note:" not in err  # tiny models: no cost to announce
    table = out[out.index("stage "):]
    for stage in bench.STAGES:
        row = next(line for line in table.splitlines() if line.startswith(stage + " "))
        assert float(row.split()[-3]) > 0, row  # every stage ran and was timed
    assert "end to end" in table and "peak host memory" in table
    assert_consistent_stage_table(table, bench.STAGES, frames)
    assert f"{frames} output frames" in out and "540x960" in out
    assert [t.name for t in threading.enumerate() if t.name in ("prefetch", "video-encode")] == []


def rate_fits(frames: int, seconds: float, rate: float) -> bool:
    """Some time that prints as ``seconds`` (2 decimals) gives ``frames / time`` that prints as ``rate`` (1 decimal)."""
    shortest, longest = frames / (rate + 0.05), frames / max(rate - 0.05, 1e-9)
    return shortest <= seconds + 0.005 + 1e-9 and seconds - 0.005 - 1e-9 <= longest


def assert_consistent_stage_table(table: str, stages: tuple[str, ...], frames: int) -> None:
    """The rows agree with each other and with the frame count: each stage's frames/s is frames over its seconds,
    the shares are seconds over the sum and add up to 100 %, the sum row is the sum of the stages, and the
    instrumented end-to-end run, which spends at least the stages' time, is no faster than the sum row says."""
    lines = table.splitlines()
    rows = {}
    for stage in stages:
        seconds, rate, share = next(line for line in lines if line.startswith(stage + " "))[len(stage):].split()
        rows[stage] = float(seconds), float(rate), float(share.removesuffix("%"))
    total, total_rate = map(float, next(line for line in lines if line.startswith("sum of stages ")).split()[-2:])
    (sequential,) = [float(line.split()[3]) for line in lines if line.startswith("end to end") and "sequential" in line]
    assert abs(sum(seconds for seconds, _, _ in rows.values()) - total) <= 0.005 * (len(rows) + 1) + 1e-9, rows
    assert rate_fits(frames, total, total_rate), (total, total_rate)
    for stage, (seconds, rate, share) in rows.items():
        assert rate_fits(frames, seconds, rate), (stage, seconds, rate)
        assert abs(share / 100 * total - seconds) <= 0.01 + 0.0005 * total, (stage, seconds, share, total)
    assert abs(sum(share for _, _, share in rows.values()) - 100) <= 0.05 * len(rows) + 1e-9, rows
    assert sequential <= total_rate + 0.1, (sequential, total_rate)


def test_missing_input_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(demo_inputs, "MEDIA_DIRS", (tmp_path / "no_shared", tmp_path / "assets"))
    assert demo_inputs.demo_clip("demo1_video.mp4") == tmp_path / "assets" / "demo1_video.mp4"
    bench = load_benchmark()
    assert bench.main(["--tiny", "--audio", str(tmp_path / "none.wav")]) == 2
    error = capsys.readouterr().err
    assert error == (f"error: missing input {tmp_path / 'assets' / 'demo1_video.mp4'}, {tmp_path / 'none.wav'}; run "
                     "./setup_env.sh (it downloads the demo clips into assets/) or pass --video/--audio\n")


@pytest.mark.slow
def test_paste_back_benchmark_prints_each_encoding(capsys):
    video = shared_path("media", "demo1_video.mp4")
    bench = load_benchmark("bench_paste_back")
    assert bench.main(["--video", str(video), "--frames", "16", "--scale", "0.25", "--encodings", "fast"]) == 0
    out = capsys.readouterr().out
    rates = {line[:72].strip(): float(line[72:].split()[0]) for line in out.splitlines() if line.endswith("frames/s")}
    fast = "paste-back + encode fast (CRF 16 veryfast)"
    assert list(rates) == ["align (warp + Lanczos resize)", "paste-back", f"{fast}, VideoWriter", f"{fast}, BackgroundVideoWriter"]
    assert all(rate > 0 for rate in rates.values()) and "270x480, 16 frames" in out


@pytest.mark.slow
def test_a_negative_frame_count_is_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_benchmark().parse_args(["--tiny", "--frames", "-5"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == ("python benchmarks/bench_inference.py: error: argument --frames: must be at "
                                       "least 1, got -5 (see --help)\n")


def test_a_full_size_model_on_the_cpu_says_what_it_costs_before_it_starts(monkeypatch, capsys):
    bench = load_benchmark()

    class Stopped(Exception):
        """Raised where the models would be built (minutes, gigabytes)."""

    def building(*args):
        raise Stopped

    monkeypatch.setattr(bench, "build_pipeline", building)
    with pytest.raises(Stopped):
        bench.main(["--release", "1.6", "--device", "cpu", "--frames", "40", "--steps", "2"])
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("note: LatentSync 1.6 on the CPU runs full-size models: ") and "16 GB" in lines[0]
    assert "the work of 7 windows (a warm-up window, then two timed runs of 3) at 2 step(s) each" in lines[0]
    assert lines[1].endswith("] building LatentSync 1.6's models")


@pytest.mark.parametrize("release", ["1.5", "1.6"])
def test_a_release_is_timed_with_its_own_weights_or_random_ones(tmp_path, monkeypatch, release):
    """--release 1.5 beside 1.6's latentsync_unet.pt only: random 1.5-sized weights, never 1.6's file as "1.5"."""
    bench = load_benchmark()
    monkeypatch.setattr(bench, "random_pipeline", lambda config, *rest: ("random", config))
    monkeypatch.setattr(bench, "load_lipsync_pipeline", lambda config, unet, **options: ("loaded", config, unet))
    args = SimpleNamespace(tiny=False, release=release, checkpoints_dir=tmp_path, face_backend="auto")
    (tmp_path / "latentsync_unet.pt").touch()  # 1.6's
    built, weights = bench.build_pipeline(args, "cpu", None, tmp_path)
    if release == "1.6":
        assert built == ("loaded", bench.RELEASE_CONFIGS["1.6"], tmp_path / "latentsync_unet.pt")
        assert weights == f"weights {tmp_path / 'latentsync_unet.pt'}"
    else:
        assert (built, weights) == (("random", bench.RELEASE_CONFIGS["1.5"]), "random weights")
        (tmp_path / "latentsync-1.5").mkdir()
        (tmp_path / "latentsync-1.5" / "latentsync_unet.pt").touch()
        built, _ = bench.build_pipeline(args, "cpu", None, tmp_path)
        assert built == ("loaded", bench.RELEASE_CONFIGS["1.5"], tmp_path / "latentsync-1.5" / "latentsync_unet.pt")


def _option_strings(path):
    """Every ``--option`` spelt in an ``add_argument`` call of ``path``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            yield from (arg.value for arg in node.args
                        if isinstance(arg, ast.Constant) and str(arg.value).startswith("--"))


def test_every_option_is_spelt_with_underscores():
    """One convention for every command and benchmark: ``--windows_per_call``, not ``--windows-per-call``."""
    sources = [*(REPO_ROOT / "benchmarks").glob("*.py"), *(REPO_ROOT / "latentsync").rglob("*.py")]
    hyphenated = {f"{path.relative_to(REPO_ROOT)}: {option}" for path in sources for option in _option_strings(path)
                  if "-" in option[2:]}
    assert hyphenated == set()
