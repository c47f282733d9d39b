"""Batch lip-sync (eval/inference_videos.py): the original's pairing, one model load for a list of pairs, bad pairs
reported, torchrun and Ray from the command line; tiny models."""

from __future__ import annotations

import base64
import itertools
import os
import pickle
import random
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest
import torch

from latentsync.cli import inference_videos, lipsync_arguments
from latentsync.errors import InputError
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from latentsync.pipelines import loading
from latentsync.pipelines.batch_lipsync import BatchReport, lipsync_batch, share_of_jobs
from latentsync.pipelines.batch_pairing import pair_lists, read_list_lines
from latentsync.pipelines.lipsync_report import LipsyncReport
from latentsync.pipelines.settings import LipsyncSettings
from tests.helpers.demo_clips import decode_rgb
from tests.helpers.paths import REPO_ROOT, shared_path
from tests.helpers.synthetic_video import write_audio, write_constant_rate_video
from tests.helpers.tiny_models import write_tiny_release
from tests.helpers.train_launch import TORCHRUN_TIMEOUT
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


def original_script_pairs(videos: list[str], audios: list[str], output_dir: str, seed: int) -> list[tuple[str, ...]]:
    """The pairs, in order, and outputs of the original's eval/inference_videos.py, step by step as it runs them:
    the global ``random`` seeded, both lists shuffled, cut to the shorter, shuffled again."""
    state = random.getstate()
    try:
        random.seed(seed)
        videos, audios = list(videos), list(audios)
        random.shuffle(videos)
        random.shuffle(audios)
        length = min(len(videos), len(audios))
        videos, audios = videos[:length], audios[:length]
        random.shuffle(videos)
        random.shuffle(audios)
    finally:
        random.setstate(state)
    folder = f"{output_dir}__{seed}"
    return [(video, audio, os.path.join(folder, f"{os.path.basename(video)[:-4]}__{os.path.basename(audio)[:-4]}.mp4"))
            for video, audio in zip(videos, audios)]


@pytest.mark.parametrize("seed", [42, 7])
def test_dry_run_pairs_names_and_folder_are_the_original_scripts(tmp_path, capsys, seed):
    videos = [f"videos/speaker{index}.mp4" for index in range(9)] + ["more/clip.mov", "more/talk.webm"]
    audios = [f"audios/line{index}.wav" for index in range(6)] + ["audios/dub.m4a"]
    (tmp_path / "videos.txt").write_text("\n".join(videos) + "\n")
    (tmp_path / "audios.txt").write_text("\n".join(audios) + "\n")
    arguments = ["--video_fileslist", str(tmp_path / "videos.txt"), "--audio_fileslist", str(tmp_path / "audios.txt"),
                 "--output_dir", str(tmp_path / "results"), "--checkpoints_dir", str(tmp_path / "no weights"),
                 "--dry_run"]
    if seed != 42:
        arguments += ["--shuffle_seed", str(seed)]
    assert inference_videos.main(arguments) == 0  # no model: there are no weights to load
    printed = [tuple(line.split("\t")) for line in capsys.readouterr().out.splitlines()]
    assert printed == original_script_pairs(videos, audios, str(tmp_path / "results"), seed)
    assert len(printed) == len(audios) and len({video for video, _, _ in printed}) == len(audios)
    assert not (tmp_path / f"results__{seed}").exists()
    # Another seed, another pairing; a blank line is shuffled like a path (the original's), its pair is not run.
    other = original_script_pairs(videos, audios, str(tmp_path / "results"), seed + 1)
    assert [pair[:2] for pair in other] != [pair[:2] for pair in printed]
    with_blank = pair_lists([*videos, ""], audios, tmp_path / "results", "original", seed)
    expected = original_script_pairs([*videos, ""], audios, str(tmp_path / "results"), seed)
    assert [(str(job.video_path), str(job.audio_path), str(job.output_path)) for job in with_blank.jobs] == [
        pair for pair in expected if pair[0]]
    assert with_blank.blank == [(video, audio) for video, audio, _ in expected if not video]


def test_each_pair_runs_with_the_original_inference_seed_and_deepcache():
    arguments = ["--video_fileslist", "v.txt", "--audio_fileslist", "a.txt", "--output_dir", "out"]
    settings = lipsync_arguments.settings_from_args(inference_videos.parse_args(arguments))
    assert (settings.seed, settings.enable_deepcache, settings.deepcache_interval) == (1247, True, 3)
    assert not lipsync_arguments.settings_from_args(
        inference_videos.parse_args([*arguments, "--no-enable_deepcache", "--seed", "42"])).enable_deepcache


def test_the_launcher_and_ray_are_refused_together(tmp_path, capsys):
    assert inference_videos.main(["--video_fileslist", "v.txt", "--audio_fileslist", "a.txt", "--output_dir",
                                  str(tmp_path), "--nproc_per_node", "2", "--executor", "ray"]) == 2
    assert "use one of them" in capsys.readouterr().err


def test_line_pairing_pairs_line_by_line_and_refuses_what_cannot_be_paired(tmp_path):
    (tmp_path / "videos.txt").write_text("a/one.mp4\n\nb/two.mov\n")
    videos = read_list_lines(tmp_path / "videos.txt")
    jobs = pair_lists(videos, [str(tmp_path / "x.wav"), str(tmp_path / "y.wav")], tmp_path / "out", "lines").jobs
    assert [(job.video_path.name, job.audio_path.name, job.output_path) for job in jobs] == [
        ("one.mp4", "x.wav", tmp_path / "out" / "one_out.mp4"), ("two.mov", "y.wav", tmp_path / "out" / "two_out.mp4")]
    with pytest.raises(InputError, match="2 paths and the audio list 1"):
        pair_lists(videos, ["x.wav"], tmp_path / "out", "lines")
    with pytest.raises(InputError, match="both be written to"):
        pair_lists(["a/clip.mp4", "b/clip.mp4"], ["x.wav", "y.wav"], tmp_path / "out", "lines")
    with pytest.raises(InputError, match="both be written to"):  # the original's names: base names less 4 characters
        pair_lists(["a/clip.mp4", "b/clip.mov"], ["x.wav", "x.wav"], tmp_path / "out", "original")
    with pytest.raises(InputError, match="missing.txt not found"):
        read_list_lines(tmp_path / "missing.txt")


@pytest.mark.slow
def test_batch_loads_the_models_once_skips_faceless_pairs_and_fails_missing_files(tmp_path, monkeypatch, capsys):
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
                 "--encoding", "fast", "--sync_mode", "silence", "--pairing", "lines"]
    assert inference_videos.main(arguments) == 1  # a pair failed: its video is missing
    out = capsys.readouterr().out
    assert loads == [1]
    assert "lip-synced 2 of 4 pairs" in out
    assert f"skipped {no_face} + {speech}: no face was found" in out
    assert f"failed {tmp_path / 'missing.mp4'} + {speech}: " in out
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


def line_jobs(folder):
    return pair_lists([str(folder / "a.mp4"), str(folder / "b.mp4")], [str(folder / "a.wav"), str(folder / "b.wav")],
                      folder, "lines").jobs


def test_skip_existing_resumes_a_batch(tmp_path):
    jobs = line_jobs(tmp_path)
    jobs[0].output_path.write_bytes(b"done before")
    calls = []
    settings = LipsyncSettings(seed=42)
    report = lipsync_batch(lambda *paths, **kwargs: calls.append((paths, kwargs)) or "report", jobs, settings,
                           skip_existing=True)
    assert calls == [((jobs[1].video_path, jobs[1].audio_path, jobs[1].output_path), dict(settings=settings))]
    assert report.done == ["report"] and report.skipped == [(jobs[0], f"{jobs[0].output_path} exists")]


def test_unequal_lists_paired_by_lines_fail_before_any_model_loads(tmp_path, capsys):
    (tmp_path / "videos.txt").write_text("a.mp4\nb.mp4\n")
    (tmp_path / "audios.txt").write_text("a.wav\n")
    assert inference_videos.main(["--video_fileslist", str(tmp_path / "videos.txt"), "--audio_fileslist",
                                  str(tmp_path / "audios.txt"), "--output_dir", str(tmp_path / "out"),
                                  "--checkpoints_dir", str(tmp_path / "nothing"), "--pairing", "lines"]) == 2
    assert capsys.readouterr().err.startswith("error: the video list has 2 paths")
    np.testing.assert_equal((tmp_path / "out").exists(), False)


def test_a_failed_pair_is_reported_and_the_others_go_on(tmp_path):
    jobs = line_jobs(tmp_path)

    def pipeline(video, audio, output, settings):
        if video == jobs[0].video_path:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return "report"

    report = lipsync_batch(pipeline, jobs, LipsyncSettings())
    assert report.done == ["report"] and report.skipped == []
    assert report.failed == [(jobs[0], "RuntimeError: CUDA error: an illegal memory access was encountered")]
    assert [share_of_jobs(list(range(5)), rank, 2) for rank in (0, 1)] == [[0, 2, 4], [1, 3]]


def run_batch_command(*arguments: str) -> subprocess.CompletedProcess:
    """``python -m eval.inference_videos ARGUMENTS --device cpu`` from the checkout, as a user runs it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "eval.inference_videos", *arguments, "--device", "cpu"], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=TORCHRUN_TIMEOUT)


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


def expected_names(work) -> list[str]:
    """The outputs' names as the original's script gives them to this batch's lists."""
    videos, audios = read_list_lines(work / "videos.txt"), read_list_lines(work / "audios.txt")
    return sorted(os.path.basename(output) for _, _, output in original_script_pairs(videos, audios, "out", 42))


@pytest.fixture(scope="module")
def one_process(batch_inputs):
    """The outputs of this process, on one CPU thread as the launched workers (float sums then match)."""
    work, arguments = batch_inputs
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert inference_videos.main([*arguments, "--output_dir", str(work / "one"), "--device", "cpu"]) == 0
    finally:
        torch.set_num_threads(threads)
    outputs = {path.name: decode_rgb(path) for path in (work / "one__42").iterdir()}
    assert sorted(outputs) == expected_names(work)
    return outputs


def assert_same_outputs(folder, expected):
    assert sorted(path.name for path in folder.iterdir()) == sorted(expected)
    for name, frames in expected.items():
        np.testing.assert_array_equal(np.stack(decode_rgb(folder / name)), np.stack(frames), err_msg=name)


@pytest.mark.distributed
def test_the_launcher_reports_bad_input_once_and_runs_the_pairs_on_its_workers(batch_inputs, one_process, tmp_path,
                                                                              capsys):
    """--nproc_per_node runs the workers under torchrun (as a several-node torchrun command does): they share the
    pairs and write what one process writes."""
    work, arguments = batch_inputs
    missing_list = run_batch_command(*arguments, "--output_dir", str(tmp_path / "a"), "--nproc_per_node", "2",
                                     "--video_fileslist", str(tmp_path / "missing.txt"))
    assert missing_list.returncode == 2 and missing_list.stderr.count("error:") == 1
    assert "missing.txt not found" in missing_list.stderr and "torchrun" not in missing_list.stderr
    # A failure inside the workers is reported once by the trainers' torchrun runner this launcher shares
    # (test_shell_entry_points: ./train_syncnet.sh).
    launched = run_batch_command(*arguments, "--output_dir", str(tmp_path / "c"), "--nproc_per_node", "2")
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert launched.stdout.count("lip-synced 2 of 2 pairs") == 1  # rank 0 reports for both ranks
    assert_same_outputs(tmp_path / "c__42", one_process)
    # A re-run skips every finished pair without loading a model.
    assert inference_videos.main([*arguments, "--output_dir", str(tmp_path / "c"), "--device", "cpu",
                                  "--checkpoints_dir", str(tmp_path / "nothing")]) == 0
    assert capsys.readouterr().out.count(" exists") == 2


# The Ray driver's side of a batch: the command's ray path, with the cluster's answer (a pickled report) stubbed.
RAY_DRIVER_PROBE = """
import base64, pickle, sys
from latentsync.cli import inference_videos
from latentsync.pipelines import batch_lipsync
batch_lipsync.lipsync_batch_on_ray = lambda *arguments: pickle.loads(base64.b64decode(sys.argv[1]))
args = inference_videos.parse_args(["--video_fileslist", "v", "--audio_fileslist", "a", "--output_dir", "o",
                                    "--executor", "ray"])
report = inference_videos.run_batch(args, [])
print(type(report.done[0]).__name__, [name for name in ("torch", "diffusers") if name in sys.modules])
"""


def test_the_ray_driver_loads_no_model_code(tmp_path):
    """The command only hands the pairs to Ray and reads the reports back: neither needs torch or diffusers (about
    10 s of imports before the first task starts, and again to read the results)."""
    report = BatchReport(done=[LipsyncReport(tmp_path / "out.mp4", 8, 8, 0, 1.0, seed=1247)])
    encoded = base64.b64encode(pickle.dumps(report)).decode()
    result = subprocess.run([sys.executable, "-c", RAY_DRIVER_PROBE, encoded], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["LipsyncReport", "[]"]


@pytest.mark.distributed
def test_ray_tasks_from_the_command_line_write_what_one_process_writes(batch_inputs, one_process):
    import ray

    work, arguments = batch_inputs
    cluster = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:  # the command joins the cluster as its own driver; its tasks unpickle the function that loads the models
        result = run_batch_command(*arguments, "--output_dir", str(work / "ray"), "--executor", "ray",
                                   "--ray_address", cluster.address_info["gcs_address"])
    finally:
        ray.shutdown()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "lip-synced 2 of 2 pairs" in result.stdout
    assert_same_outputs(work / "ray__42", one_process)
