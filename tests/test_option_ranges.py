"""Numeric options outside their range end in one line and exit 2 before any work; help texts say the range."""

from __future__ import annotations

import pytest

from latentsync.cli import data_processing as data_pipeline
from latentsync.cli import eval_sync_conf, eval_syncnet_acc
from latentsync.cli import inference

IO = ["--video_path", "v.mp4", "--audio_path", "a.wav", "--video_out_path", "o.mp4"]


@pytest.mark.parametrize("parse, flags, message", [
    (inference.parse_args, [*IO, "--inference_steps", "-5"], "argument --inference_steps: must be between 1 and 1000"),
    (inference.parse_args, [*IO, "--inference_steps", "2.5"], "argument --inference_steps: must be a whole number"),
    (inference.parse_args, [*IO, "--guidance_scale", "0.5"], "argument --guidance_scale: must be at least 1, got 0.5"),
    (inference.parse_args, [*IO, "--guidance_scale", "nan"], "argument --guidance_scale: must be at least 1, got nan"),
    (inference.parse_args, [*IO, "--windows_per_call", "0"], "argument --windows_per_call: must be at least 1"),
    (inference.parse_args, [*IO, "--face_enhance_strength", "-0.1"], "must be between 0 and 1, got -0.1"),
    (data_pipeline.parse_args, ["--input_dir", "raw", "--total_num_workers", "0"],
     "argument --total_num_workers: must be at least 1, got 0"),
    (data_pipeline.parse_args, ["--input_dir", "raw", "--per_gpu_num_workers", "-2"],
     "argument --per_gpu_num_workers: must be at least 1, got -2"),
    (data_pipeline.parse_args, ["--input_dir", "raw", "--quality_threshold", "120"], "must be between 0 and 100"),
    (eval_syncnet_acc.parse_args, ["--num_workers", "-1"], "argument --num_workers: must be at least 0, got -1"),
    (eval_syncnet_acc.parse_args, ["--batch_size", "0"], "argument --batch_size: must be at least 1, got 0"),
    (eval_sync_conf.main, ["--video_path", "v.mp4", "--min_track", "0"], "argument --min_track: must be at least 1"),
])
def test_out_of_range_is_one_line_and_exit_2(capsys, parse, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        parse(flags)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert len(err.splitlines()) == 1 and message in err and err.rstrip().endswith("(see --help)"), err


def test_help_says_the_range_and_the_advice_apart(capsys):
    with pytest.raises(SystemExit):
        inference.parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "DDIM steps, 1 to 1000; 20-50 give good results" in help_text
    assert "classifier-free audio guidance, at least 1.0" in help_text
    assert "16-frame windows per U-Net call, at least 1" in help_text


@pytest.mark.parametrize("argv0, prog", [("/venv/bin/latentsync-train-unet", "latentsync-train-unet"),
                                         ("/checkout/scripts/train_unet.py", "python -m scripts.train_unet")])
def test_usage_names_the_command_as_it_was_run(capsys, monkeypatch, argv0, prog):
    """An installed console command's usage and errors name it; ``python -m scripts.train_unet`` keeps the
    README's form (tests/test_package_install.py runs every console command's --help)."""
    from latentsync.cli import train_unet

    monkeypatch.setattr("sys.argv", [argv0])
    with pytest.raises(SystemExit):
        train_unet.parse_args(["--report_to", "wandb"])
    assert capsys.readouterr().err.startswith(f"{prog}: error: argument --report_to: invalid choice")
