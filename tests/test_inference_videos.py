"""Batch lip-sync (eval/inference_videos.py): one model load for a list of pairs, bad pairs skipped, tiny models."""

from __future__ import annotations

import itertools

import av
import cv2
import numpy as np
import pytest

from latentsync.cli import inference_videos
from latentsync.errors import InputError
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from latentsync.pipelines import loading
from latentsync.pipelines.batch_lipsync import lipsync_batch, plan_jobs, read_path_list, share_of_jobs
from latentsync.pipelines.settings import LipsyncSettings
from tests.helpers.demo_clips import decode_rgb
from tests.helpers.paths import REPO_ROOT, shared_path
from tests.helpers.synthetic_video import write_audio, write_constant_rate_video
from tests.helpers.tiny_models import write_tiny_release
from tests.helpers.train_launch import torchrun
from tests.helpers.x264 import x264_settings


def write_face_clip(path, num_frames=20):
    """The first frames of demo1 at a quarter of its size (a face mediapipe finds), with its own audio."""
    source = shared_path("media", "demo1_video.mp4")
    frames = [cv2.resize(frame, (270, 480), interpolation=cv2.INTER_AREA)
              for frame in itertools.islice(VideoReader(source).frames(), num_frames)]
    with VideoWriter(path, audio=load_audio(source)[: num_frames * 640], preset="ultrafast") as writer:
        for frame in frames:
            writer.write(frame)
    return path


def test_pairs_line_by_line_and_refuses_what_cannot_be_paired(tmp_path):
    (tmp_path / "videos.txt").write_text("a/one.mp4\n\nb/two.mov\n")
    videos = read_path_list(tmp_path / "videos.txt")
    jobs = plan_jobs(videos, [tmp_path / "x.wav", tmp_path / "y.wav"], tmp_path / "out")
    assert [(job.video_path.name, job.audio_path.name, job.output_path) for job in jobs] == [
        ("one.mp4", "x.wav", tmp_path / "out" / "one_out.mp4"), ("two.mov", "y.wav", tmp_path / "out" / "two_out.mp4")]
    with pytest.raises(InputError, match="2 paths and the audio list 1"):
        plan_jobs(videos, [tmp_path / "x.wav"], tmp_path / "out")
    with pytest.raises(InputError, match="both be written to"):
        plan_jobs([tmp_path / "a/clip.mp4", tmp_path / "b/clip.mp4"], videos, tmp_path / "out")
    with pytest.raises(InputError, match="missing.txt not found"):
        read_path_list(tmp_path / "missing.txt")


@pytest.mark.slow
def test_batch_loads_the_models_once_and_skips_bad_pairs(tmp_path, monkeypatch, capsys):
    models = write_tiny_release(tmp_path / "models")
    face = write_face_clip(tmp_path / "face.mp4")
    other_face = write_face_clip(tmp_path / "face two.mp4", num_frames=12)
    no_face = write_constant_rate_video(tmp_path / "blank.mp4", fps=25, seconds=0.4)
    speech = write_audio(tmp_path / "speech.m4a", seconds=0.3)
    (tmp_path / "videos.txt").write_text("\n".join(map(str, [face, tmp_path / "missing.mp4", no_face, other_face])))
    (tmp_path / "audios.txt").write_text("\n".join(map(str, [face, speech, speech, speech])))
    loads = []
    real_load = loading.load_lipsync_pipeline
    monkeypatch.setattr(loading, "load_lipsync_pipeline", lambda *a, **k: loads.append(1) or real_load(*a, **k))

    arguments = ["--video_fileslist", str(tmp_path / "videos.txt"), "--audio_fileslist", str(tmp_path / "audios.txt"),
                 "--output_dir", str(tmp_path / "out"), "--unet_config_path", str(models["unet_config_path"]),
                 "--inference_ckpt_path", str(models["inference_ckpt_path"]),
                 "--whisper_model_path", str(models["whisper_model_path"]),
                 "--vae_model_path", str(models["vae_model_path"]), "--device", "cpu", "--dtype", "float32",
                 "--face_backend", "mediapipe", "--inference_steps", "1", "--guidance_scale", "1.0",
                 "--encoding", "fast", "--sync_mode", "silence"]
    assert inference_videos.main(arguments) == 0
    out = capsys.readouterr().out
    assert loads == [1]
    assert "lip-synced 2 of 4 pairs" in out and "missing.mp4" in out and "blank.mp4" in out
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["face two_out.mp4", "face_out.mp4"]
    with av.open(str(tmp_path / "out" / "face two_out.mp4")) as container:  # --sync_mode silence: the longer track
        assert sum(1 for _ in container.decode(video=0)) == 12 > round(len(load_audio(speech)) / 640)
    assert "subme=2" in x264_settings(tmp_path / "out" / "face_out.mp4")  # --encoding fast reached every pair


def test_face_enhance_without_its_model_fails_before_the_batch(tmp_path, capsys):
    (tmp_path / "videos.txt").write_text("a.mp4\n")
    (tmp_path / "audios.txt").write_text("a.wav\n")
    assert inference_videos.main(["--video_fileslist", str(tmp_path / "videos.txt"), "--audio_fileslist",
                                  str(tmp_path / "audios.txt"), "--output_dir", str(tmp_path / "out"),
                                  "--checkpoints_dir", str(tmp_path / "nothing"), "--face_enhance"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and str(tmp_path / "nothing" / "enhancers") in error


def test_skip_existing_resumes_a_batch(tmp_path):
    jobs = plan_jobs([tmp_path / "a.mp4", tmp_path / "b.mp4"], [tmp_path / "a.wav", tmp_path / "b.wav"], tmp_path)
    jobs[0].output_path.write_bytes(b"done before")
    calls = []
    settings = LipsyncSettings(seed=42)
    report = lipsync_batch(lambda *paths, **kwargs: calls.append((paths, kwargs)) or "report", jobs, settings,
                           skip_existing=True)
    assert calls == [((jobs[1].video_path, jobs[1].audio_path, jobs[1].output_path), dict(settings=settings))]
    assert report.done == ["report"] and report.skipped == [(jobs[0], f"{jobs[0].output_path} exists")]


def test_unpaired_lists_fail_before_any_model_loads(tmp_path, capsys):
    (tmp_path / "videos.txt").write_text("a.mp4\nb.mp4\n")
    (tmp_path / "audios.txt").write_text("a.wav\n")
    assert inference_videos.main(["--video_fileslist", str(tmp_path / "videos.txt"), "--audio_fileslist",
                                  str(tmp_path / "audios.txt"), "--output_dir", str(tmp_path / "out"),
                                  "--checkpoints_dir", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.startswith("error: the video list has 2 paths")
    np.testing.assert_equal((tmp_path / "out").exists(), False)


def test_a_failed_pair_is_reported_and_the_others_go_on(tmp_path):
    jobs = plan_jobs([tmp_path / "a.mp4", tmp_path / "b.mp4"], [tmp_path / "a.wav", tmp_path / "b.wav"], tmp_path)

    def pipeline(video, audio, output, settings):
        if video == jobs[0].video_path:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return "report"

    report = lipsync_batch(pipeline, jobs, LipsyncSettings())
    assert report.done == ["report"] and report.skipped == []
    assert report.failed == [(jobs[0], "RuntimeError: CUDA error: an illegal memory access was encountered")]
    assert [share_of_jobs(list(range(5)), rank, 2) for rank in (0, 1)] == [[0, 2, 4], [1, 3]]


@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory):
    """(work folder, arguments of a 2-pair batch of short clips with tiny models, minus --output_dir)."""
    work = tmp_path_factory.mktemp("batch")
    models = write_tiny_release(work / "models")
    clips = [write_face_clip(work / f"clip{index}.mp4", num_frames=4 + index) for index in range(2)]
    (work / "videos.txt").write_text("\n".join(map(str, clips)))
    (work / "audios.txt").write_text("\n".join(map(str, reversed(clips))))
    arguments = ["--video_fileslist", str(work / "videos.txt"), "--audio_fileslist", str(work / "audios.txt"),
                 "--unet_config_path", str(models["unet_config_path"]),
                 "--inference_ckpt_path", str(models["inference_ckpt_path"]),
                 "--whisper_model_path", str(models["whisper_model_path"]),
                 "--vae_model_path", str(models["vae_model_path"]), "--dtype", "float32",
                 "--face_backend", "mediapipe", "--inference_steps", "1", "--encoding", "fast", "--skip_existing"]
    return work, arguments


@pytest.fixture(scope="module")
def one_process(batch_inputs):
    """The outputs of one process, started as the others are (one CPU thread: float sums then match)."""
    work, arguments = batch_inputs
    torchrun("eval.inference_videos", *arguments, "--output_dir", str(work / "one"), nproc=1)
    return {path.name: decode_rgb(path) for path in (work / "one").iterdir()}


def assert_same_outputs(folder, expected):
    assert sorted(path.name for path in folder.iterdir()) == sorted(expected) == [f"clip{i}_out.mp4" for i in range(2)]
    for name, frames in expected.items():
        np.testing.assert_array_equal(np.stack(decode_rgb(folder / name)), np.stack(frames), err_msg=name)


@pytest.mark.distributed
def test_torchrun_processes_share_the_pairs_and_write_what_one_process_writes(batch_inputs, one_process, capsys):
    work, arguments = batch_inputs
    result = torchrun("eval.inference_videos", *arguments, "--output_dir", str(work / "torchrun"))
    assert result.stdout.count("lip-synced 2 of 2 pairs") == 1  # rank 0 reports for both ranks
    assert_same_outputs(work / "torchrun", one_process)
    # A re-run skips every finished pair without loading a model.
    assert inference_videos.main([*arguments, "--output_dir", str(work / "torchrun"), "--device", "cpu",
                                  "--checkpoints_dir", str(work / "nothing")]) == 0
    assert capsys.readouterr().out.count(" exists") == 2


@pytest.mark.distributed
def test_ray_tasks_write_what_one_process_writes(batch_inputs, one_process):
    import ray

    work, arguments = batch_inputs
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}})
    try:
        assert inference_videos.main([*arguments, "--output_dir", str(work / "ray"), "--device", "cpu",
                                      "--executor", "ray"]) == 0
    finally:
        ray.shutdown()
    assert_same_outputs(work / "ray", one_process)
