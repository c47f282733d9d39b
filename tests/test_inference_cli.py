"""`scripts.inference` rejects bad input with one line that names the file, exits non-zero and writes nothing."""

import wave
from pathlib import Path

import av
import numpy as np
import pytest

import cv2

from latentsync.cli.inference import main
from latentsync.cli.lipsync_arguments import enhancers_dir, settings_from_args
from latentsync.face.mask_image import fixed_mask_image
from latentsync.pipelines import loading
from latentsync.pipelines.settings import LipsyncSettings
from tests.helpers.synthetic_video import write_constant_rate_video
from tests.helpers.tiny_models import tiny_pipeline


def _wav(path: Path, samples: int) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(np.zeros(samples, np.int16).tobytes())
    return path


@pytest.fixture
def media(tmp_path):
    video = tmp_path / "clip.mp4"
    write_constant_rate_video(video, fps=25, seconds=0.4)
    return dict(video=video, audio=_wav(tmp_path / "speech.wav", 16000), dir=tmp_path)


def _run(capsys, video, audio, out) -> tuple[int, str]:
    code = main(["--video_path", str(video), "--audio_path", str(audio), "--video_out_path", str(out),
                 "--inference_ckpt_path", "/nonexistent/never-loaded.pt"])
    return code, capsys.readouterr().err.strip()


def _assert_rejected(code: int, err: str, *must_contain: str, out: Path) -> None:
    assert code == 2
    assert len(err.splitlines()) == 1, err
    for text in must_contain:
        assert text in err, err
    assert not out.exists()
    assert not list(out.parent.glob(".*partial*"))


def test_missing_video(capsys, media):
    out = media["dir"] / "out.mp4"
    code, err = _run(capsys, media["dir"] / "missing.mp4", media["audio"], out)
    _assert_rejected(code, err, "missing.mp4", out=out)


def test_not_a_video(capsys, media):
    text = media["dir"] / "notes.mp4"
    text.write_text("this is not a video")
    out = media["dir"] / "out.mp4"
    _assert_rejected(*_run(capsys, text, media["audio"], out), "notes.mp4", out=out)


def test_video_without_frames(capsys, media):
    empty = media["dir"] / "empty.mp4"
    with av.open(str(empty), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = 64, 48
    out = media["dir"] / "out.mp4"
    _assert_rejected(*_run(capsys, empty, media["audio"], out), "empty.mp4", out=out)


def test_audio_file_without_audio_stream(capsys, media):
    out = media["dir"] / "out.mp4"
    _assert_rejected(*_run(capsys, media["video"], media["video"], out), "clip.mp4", "no audio stream", out=out)


def test_empty_audio(capsys, media):
    silent = _wav(media["dir"] / "empty.wav", 0)
    out = media["dir"] / "out.mp4"
    code, err = _run(capsys, media["video"], silent, out)
    assert code == 2 and "empty.wav" in err and not out.exists()


@pytest.mark.parametrize("which", ["video", "audio"])
def test_output_equal_to_an_input(capsys, media, which):
    target = media[which]
    before = target.read_bytes()
    code, err = _run(capsys, media["video"], media["audio"], target)
    assert code == 2 and target.name in err and len(err.splitlines()) == 1
    assert target.read_bytes() == before


def test_unwritable_output_directory(capsys, media):
    out = media["dir"] / "no such folder" / "out.mp4"
    _assert_rejected(*_run(capsys, media["video"], media["audio"], out), "no such folder", out=out)


def test_paths_with_shell_characters_reach_the_checks_intact(capsys, media):
    odd = media["dir"] / "a b 'c' \"d\"; $(rm -rf x).mp4"
    media["video"].rename(odd)
    out = media["dir"] / "out; echo.mp4"
    code, err = _run(capsys, odd, media["audio"], out)
    # The inputs are readable, so the run gets as far as looking for a face in the (flat colour) video.
    assert code == 2 and "no face was found" in err and repr(str(odd)) in err
    assert odd.exists() and not out.exists()


def test_video_without_a_face_is_refused_before_any_model_loads(capsys, media, monkeypatch):
    def load_models(*args, **kwargs):
        raise AssertionError("models were loaded for a video without a face")

    monkeypatch.setattr(loading, "load_lipsync_pipeline", load_models)
    out = media["dir"] / "out.mp4"
    _assert_rejected(*_run(capsys, media["video"], media["audio"], out), "no face was found", "clip.mp4", out=out)


def test_face_enhance_options_are_parsed(media):
    from latentsync.cli.inference import parse_args

    common = ["--video_path", "v.mp4", "--audio_path", "a.wav", "--video_out_path", "o.mp4"]
    args = parse_args(common)
    assert (args.face_enhance, args.encoding, args.face_enhance_method) == (False, "standard", "gfpgan")
    args = parse_args([*common, "--face_enhance", "--face_enhance_method", "codeformer", "--face_enhance_strength",
                       "0.3", "--face_enhance_mouth_protection", "1", "--codeformer_fidelity", "0.7", "--high_quality"])
    assert (args.face_enhance, args.face_enhance_method, args.face_enhance_strength, args.encoding) == \
        (True, "codeformer", 0.3, "high_quality")
    assert (args.face_enhance_mouth_protection, args.codeformer_fidelity) == (1.0, 0.7)


def test_speed_options_are_parsed_and_checked(capsys):
    from latentsync.cli.inference import parse_args

    common = ["--video_path", "v.mp4", "--audio_path", "a.wav", "--video_out_path", "o.mp4"]
    args = parse_args([*common, "--encoding", "fast", "--windows_per_call", "4"])
    assert args.encoding == "fast" and settings_from_args(args).windows_per_call == 4
    assert settings_from_args(parse_args(common)).windows_per_call == 1
    for bad in (["--windows_per_call", "0"], ["--encoding", "lossless"]):
        with pytest.raises(SystemExit):
            parse_args([*common, *bad])
        assert bad[0] in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--face_enhance_strength", "1.5"], "--face_enhance_strength: must be between 0 and 1, got 1.5"),
    (["--face_enhance_method", "esrgan"], "--face_enhance_method: invalid choice: 'esrgan'"),
])
def test_bad_face_enhance_options_exit_2(capsys, flags, message):
    from latentsync.cli.inference import parse_args

    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--video_path", "v.mp4", "--audio_path", "a.wav", "--video_out_path", "o.mp4", *flags])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_missing_enhancer_fails_with_its_fetch_command_before_loading_the_models(capsys, media):
    out = media["dir"] / "out.mp4"
    code = main(["--video_path", str(media["video"]), "--audio_path", str(media["audio"]), "--video_out_path",
                 str(out), "--inference_ckpt_path", "/nonexistent/never-loaded.pt", "--face_enhance",
                 "--face_enhance_method", "gpen", "--enhancers_dir", str(media["dir"] / "enhancers")])
    err = capsys.readouterr().err.strip()
    _assert_rejected(code, err, "gpen_bfr_512.onnx not found",
                     "fetch it with: python -m scripts.download_checkpoints --enhancers gpen --enhancers_dir", out=out)
    assert "never-loaded" not in err  # the U-Net was not loaded first


def test_face_enhancement_is_built_from_the_flags(media):
    from latentsync.cli.inference import parse_args
    from tests.helpers.tiny_enhancers import write_tiny_enhancers

    enhancers = write_tiny_enhancers(media["dir"] / "enhancers")
    mask = media["dir"] / "release_mask.png"
    cv2.imwrite(str(mask), fixed_mask_image())
    args = parse_args(["--video_path", "v.mp4", "--audio_path", "a.wav", "--video_out_path", "o.mp4",
                       "--face_enhance", "--face_enhance_method", "codeformer", "--face_enhance_strength", "0.4",
                       "--face_enhance_mouth_protection", "0.9", "--codeformer_fidelity", "0.2",
                       "--enhancers_dir", str(enhancers), "--device", "cpu"])
    pipeline = tiny_pipeline(enhancers_dir=enhancers_dir(args), mask_image_path=str(mask))
    settings = settings_from_args(args)
    enhancement = pipeline.face_enhancement(settings)
    assert (enhancement.strength, enhancement.mouth_protection) == (0.4, 0.9)
    assert enhancement.mask_image_path == str(mask)  # the pipeline's mask: the generated region
    assert enhancement.enhancer.title == "CodeFormer" and enhancement.enhancer.fidelity == 0.2
    assert pipeline.face_enhancement(settings).enhancer is enhancement.enhancer  # loaded once
    assert pipeline.face_enhancement(settings.replace(face_enhance=False)) is None


def test_enhancers_default_to_the_checkpoints_folder(media):
    from latentsync.cli.inference import parse_args
    from tests.helpers.tiny_enhancers import write_tiny_enhancers

    checkpoints = media["dir"] / "checkpoints"
    write_tiny_enhancers(checkpoints / "enhancers")
    args = parse_args(["--video_path", "v.mp4", "--audio_path", "a.wav", "--video_out_path", "o.mp4",
                       "--checkpoints_dir", str(checkpoints), "--face_enhance", "--face_enhance_method", "gpen",
                       "--device", "cpu"])
    assert args.enhancers_dir is None
    pipeline = tiny_pipeline(enhancers_dir=enhancers_dir(args))
    assert pipeline.face_enhancement(settings_from_args(args)).enhancer.title == "GPEN-BFR-512"


def test_timing_options_default_to_the_pipelines_defaults(capsys):
    from latentsync.cli.inference import parse_args

    common = ["--video_path", "v.mp4", "--audio_path", "a.wav", "--video_out_path", "o.mp4"]
    names = ("sync_mode", "audio_context", "silence", "silence_db", "silence_min_seconds")
    defaults = LipsyncSettings()
    settings = settings_from_args(parse_args(common))
    assert {name: getattr(settings, name) for name in names} == {name: getattr(defaults, name) for name in names}
    settings = settings_from_args(parse_args([*common, "--sync_mode", "remap", "--audio_context", "overlap",
                                              "--silence", "keep", "--silence_db", "-50", "--silence_min_seconds",
                                              "0.6"]))
    assert [getattr(settings, name) for name in names] == ["remap", "overlap", "keep", -50.0, 0.6]
    with pytest.raises(SystemExit):
        parse_args([*common, "--sync_mode", "stretch"])
    assert "--sync_mode: invalid choice: 'stretch'" in capsys.readouterr().err
