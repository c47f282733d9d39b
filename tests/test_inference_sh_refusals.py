"""./inference.sh as the README shows it, with what a new user gets wrong: each is one ``error:`` line (exit 2) before
any model loads, naming what to change; flags that would be ignored are warned about. The models never load here."""

from __future__ import annotations

import subprocess

import pytest

from latentsync.cli import inference
from latentsync.cli.inference import parse_args
from latentsync.locations import ASSETS_DIR
from tests.helpers.demo_clips import demo_frames, write_demo_speech, write_h264
from tests.helpers.entry_points import error_line, run_entry_point
from tests.helpers.paths import REPO_ROOT
from tests.helpers.shell_env import environment_without_python

pytestmark = pytest.mark.slow  # each starts the command: torch, and mediapipe when the inputs are fine


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A folder with talk.mp4 (8 frames of demo1 at 270x480, a face in each) and speech.wav (8 frames' worth)."""
    folder = tmp_path_factory.mktemp("refusals")
    write_h264(folder / "talk.mp4", demo_frames(8, step=4))
    write_demo_speech(folder / "speech.wav", 8)
    return folder


def inference_sh(folder, *flags: str) -> subprocess.CompletedProcess:
    return run_entry_point("./inference.sh", "--video_path", "talk.mp4", "--audio_path", "speech.wav",
                           "--video_out_path", "synced.mp4", "--device", "cpu", *flags, cwd=folder)


def test_checkpoints_dir_is_where_the_unet_is_looked_for(clip, tmp_path):
    """inference.sh no longer pins the U-Net to the checkout's checkpoints/: --checkpoints_dir holds it too."""
    line = error_line(inference_sh(clip, "--checkpoints_dir", str(tmp_path)))
    assert f"U-Net checkpoint {tmp_path / 'latentsync_unet.pt'} not found" in line


def test_the_1_5_checkpoint_names_its_setup_option(clip, tmp_path, capsys):
    """In this process (the command's path to this check is the one above)."""
    assert inference.main(["--video_path", str(clip / "talk.mp4"), "--audio_path", str(clip / "speech.wav"),
                           "--video_out_path", str(tmp_path / "synced.mp4"), "--device", "cpu",
                           "--unet_config_path", str(REPO_ROOT / "configs/unet/stage2.yaml"),
                           "--inference_ckpt_path", str(tmp_path / "latentsync-1.5/latentsync_unet.pt")]) == 2
    assert "run ./setup_env.sh --with-1.5 to download it" in capsys.readouterr().err


def test_unwritable_output_is_refused_before_any_work(clip):
    line = error_line(inference_sh(clip, "--video_out_path", "/proc/synced.mp4"))  # os.access says yes there
    assert "output folder '/proc' cannot be written" in line


def test_audio_cache_dir_naming_a_file(clip):
    (clip / "cache").write_text("")
    line = error_line(inference_sh(clip, "--audio_cache_dir", "cache"))
    assert line == "error: --audio_cache_dir 'cache' is a file, not a folder; choose a folder (new or existing)"


def test_missing_mask_image_is_one_line_without_opencv_s_warning(clip):
    line = error_line(inference_sh(clip, "--mask_image_path", "mask.png"))  # error_line: no "[ WARN:" either
    assert line == "error: mask image 'mask.png' does not exist; pass the path of a PNG/JPEG file"


def test_speaker_point_outside_the_frame_and_ignored_flags(clip):
    result = inference_sh(clip, "--speaker", "point:5000,5000", "--face_enhance_method", "codeformer",
                          "--codeformer_fidelity", "0.3", "--deepcache_interval", "2", "--no_deepcache")
    line = error_line(result)
    assert line.startswith("error: speaker point:5000,5000 is outside the 270x480 frame of 'talk.mp4'")
    assert "WARNING ignored (no effect): --face_enhance_method, --codeformer_fidelity without --face_enhance" \
           in result.stderr
    assert "WARNING ignored (no effect): --deepcache_interval without --enable_deepcache" in result.stderr


def test_a_misspelt_flag_is_named_not_the_demo_clip(clip):
    line = error_line(run_entry_point("./inference.sh", "--video_pth", "talk.mp4", cwd=clip))
    assert "unrecognized arguments: --video_pth talk.mp4" in line and "demo clip" not in line


@pytest.mark.skipif((ASSETS_DIR / "demo1_video.mp4").exists(), reason="the demo clips are here (./setup_env.sh)")
def test_missing_demo_clip_with_other_flags_points_to_setup_env(clip):
    line = error_line(run_entry_point("./inference.sh", "--inference_steps", "10", cwd=clip))
    assert "demo1_video.mp4 is missing; run ./setup_env.sh (it downloads the demo clips), or pass --video_path" in line


@pytest.mark.parametrize("flags, deepcache", [([], True), (["--no_deepcache"], False)])
def test_deepcache_can_be_turned_off(tmp_path, flags, deepcache):
    """The flags inference.sh hands to scripts.inference (a stand-in python prints them) turn DeepCache on, and
    --no_deepcache after them off."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for name in ("inference.sh", "scripts/project_python.sh"):
        (checkout / name).write_bytes((REPO_ROOT / name).read_bytes())
    (checkout / "inference.sh").chmod(0o755)
    python = checkout / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    python.chmod(0o755)
    result = subprocess.run([str(checkout / "inference.sh"), "--video_path", "v.mp4", *flags], capture_output=True,
                            env=environment_without_python(), text=True, timeout=60)
    module, *arguments = result.stdout.splitlines()[1:]
    assert module == "scripts.inference" and parse_args(arguments).enable_deepcache is deepcache
