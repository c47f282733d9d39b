"""FVD with a tiny stand-in for I3D, both protocols: the original's face clips (default) and all whole-frame clips."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from latentsync.cli import eval_fvd
from latentsync.errors import InputError
from latentsync.evaluation.fvd import (crop_relative_box, decoded_frames, face_clip, frechet_distance, i3d_features,
                                       folder_face_clips, video_clips)
from latentsync.io.video_writer import VideoWriter
from tests.helpers.entry_points import error_line, run_entry_point
from tests.helpers.paths import shared_path
from tests.helpers.synthetic_video import index_of_frame, write_constant_rate_video


class TinyI3D(torch.nn.Module):
    """Same call signature as StyleGAN-V's i3d_torchscript.pt, 6-d features from pooled colours."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(12, 6)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        if rescale:
            x = x / 127.5 - 1
        if resize:
            x = F.interpolate(x, size=(x.shape[2], 32, 32), mode="trilinear", align_corners=False)
        features = self.proj(F.adaptive_avg_pool3d(x, (1, 2, 2)).flatten(1))
        return features if return_features else features.softmax(-1)


@pytest.fixture(scope="module")
def i3d_path(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("i3d") / "i3d_torchscript.pt"
    with pytest.warns(FutureWarning):  # TorchScript is deprecated; the real I3D still ships in it
        torch.jit.script(TinyI3D()).save(str(path))
    return path


def _write_videos(folder, seed: int, brightness: int, count: int = 3, clips: int = 4):
    """Videos of random 2x2 colour blocks that change every 16 frames (one I3D clip) and jitter per frame."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for video in range(count):
        with VideoWriter(folder / f"video{video}.mp4", preset="ultrafast") as writer:
            for _ in range(clips):
                blocks = rng.integers(0, 256 - brightness, (2, 2, 3)) + brightness
                for _ in range(16):
                    jitter = rng.integers(-4, 5, (2, 2, 3))
                    frame = np.clip(blocks + jitter, 0, 255).astype(np.uint8)
                    writer.write(np.kron(frame, np.ones((16, 16, 1), dtype=np.uint8)))
    return folder


@pytest.mark.slow
def test_all_clips_fvd_of_a_set_with_itself_is_zero_and_positive_against_another(i3d_path, tmp_path):
    real = _write_videos(tmp_path / "real", seed=1, brightness=0)
    other = _write_videos(tmp_path / "other", seed=2, brightness=96)
    common = ["--i3d_path", str(i3d_path), "--device", "cpu", "--batch_size", "5", "--protocol", "all_clips"]

    same = eval_fvd.evaluate(eval_fvd.parse_args(["--real_videos_dir", str(real), "--fake_videos_dir", str(real),
                                                  *common]))
    different = eval_fvd.evaluate(eval_fvd.parse_args(["--real_videos_dir", str(real), "--fake_videos_dir", str(other),
                                                       *common]))

    assert abs(same) < 1e-6
    assert different > 1e-2


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    features = np.random.default_rng(0).standard_normal((50, 4))
    assert frechet_distance(features, features + [3.0, 0, 0, 0]) == pytest.approx(9.0, abs=1e-8)
    with pytest.raises(InputError, match="at least 2 clips"):
        frechet_distance(features[:1], features)


@pytest.mark.parametrize("content", [None, b"", b"not a TorchScript archive"], ids=["missing", "empty", "text"])
def test_unusable_i3d_checkpoint_is_one_line_and_exit_2(tmp_path, capsys, content):
    path = tmp_path / "auxiliary" / "i3d_torchscript.pt"
    if content is not None:
        path.parent.mkdir()
        path.write_bytes(content)
    code = eval_fvd.main(["--real_videos_dir", str(tmp_path), "--fake_videos_dir", str(tmp_path), "--i3d_path",
                          str(path)])
    assert code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert re.fullmatch(r"error: I3D model .*i3d_torchscript\.pt (not found|cannot be read \(.+\)); .*"
                        r"setup_env\.sh --auxiliary.*\n", error)


def test_face_clip_is_decoded_frames_20_to_35_at_the_native_rate(tmp_path):
    video = write_constant_rate_video(tmp_path / "thirty.mp4", fps=30, seconds=1.5)  # 45 frames, not resampled
    frames = decoded_frames(video)
    assert frames.shape[0] == 16
    assert [index_of_frame(frame) for frame in frames] == list(range(20, 36))
    assert decoded_frames(write_constant_rate_video(tmp_path / "short.mp4", fps=25, seconds=1.4)) is None  # 35 frames


def test_undecodable_video_is_an_input_error(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(InputError, match="broken.mp4"):
        decoded_frames(broken)


def test_crop_truncates_and_clamps_like_the_original():
    image = np.arange(100 * 200).reshape(100, 200)
    assert crop_relative_box(image, (0.1, 0.2, 0.5, 0.3)).shape == (30, 100)
    np.testing.assert_array_equal(crop_relative_box(image, (0.1, 0.2, 0.5, 0.3)), image[20:50, 20:120])
    # Off the top-left: the near edge is clamped to 0 first, and the far edge is measured from the clamped one.
    np.testing.assert_array_equal(crop_relative_box(image, (-0.1, -0.05, 0.5, 0.5)), image[0:50, 0:100])
    np.testing.assert_array_equal(crop_relative_box(image, (0.8, 0.9, 0.5, 0.5)), image[90:100, 160:200])
    assert crop_relative_box(image, (0.1234, 0.1, 0.2, 0.2)).shape == (20, 40)  # int(24.68) = 24, width 40


def test_face_clip_crops_the_box_and_resizes_with_area_interpolation():
    frame = np.zeros((600, 800, 3), dtype=np.uint8)
    checkerboard = (np.indices((448, 448)).sum(axis=0) % 2 * 255).astype(np.uint8)
    frame[100:548, 200:648] = checkerboard[..., None]  # the "face": a 448x448 one-pixel checkerboard
    clip = face_clip(np.stack([frame] * 3), lambda _: (200 / 800, 100 / 600, 448 / 800, 448 / 600))
    assert clip.shape == (3, 224, 224, 3) and clip.dtype == np.uint8
    assert set(np.unique(clip)) <= {127, 128}  # area averages each 2x2 cell; nearest/bilinear would keep 0 and 255
    answers = iter([(0, 0, 1, 1), None, (0, 0, 1, 1)])  # no face in the second frame: the clip is unusable
    assert face_clip(np.stack([frame] * 3), lambda _: next(answers)) is None


class RecordingI3D:
    """Records what reaches I3D; features are the clip's mean colour."""

    def __init__(self):
        self.calls = []

    def __call__(self, videos, **kwargs):
        self.calls.append((videos.min().item(), videos.max().item(), videos.shape, kwargs))
        return videos.mean(dim=(2, 3, 4))


def test_protocols_feed_i3d_as_specified():
    clips = [np.full((16, 224, 224, 3), 255, dtype=np.uint8), np.zeros((16, 224, 224, 3), dtype=np.uint8)]
    i3d = RecordingI3D()
    features = i3d_features(i3d, clips, batch_size=8, protocol="latentsync")
    np.testing.assert_allclose(features, [[1, 1, 1], [0, 0, 0]])
    low, high, shape, kwargs = i3d.calls[0]
    assert (low, high, shape) == (0.0, 1.0, (2, 3, 16, 224, 224))
    assert kwargs == {"rescale": False, "resize": False, "return_features": True}
    i3d_features(i3d, clips, batch_size=8, protocol="all_clips")
    low, high, _, kwargs = i3d.calls[1]
    assert (low, high) == (0.0, 255.0) and kwargs == {"rescale": True, "resize": True, "return_features": True}


@pytest.mark.slow
def test_fvd_of_two_small_sets_both_ways(i3d_path, tmp_path):
    """Same sets give 0 and different sets a positive FVD, with each protocol's clips and I3D call."""
    detector = torch.jit.load(str(i3d_path))
    whole_box = lambda _: (0.0, 0.0, 1.0, 1.0)  # noqa: E731 - the synthetic videos have no face: crop everything
    sets = {name: _write_videos(tmp_path / name, seed=seed, brightness=brightness, count=4, clips=3)
            for name, seed, brightness in (("real", 1, 0), ("other", 2, 96))}
    scores = {}
    for name, folder in sets.items():
        videos = sorted(folder.iterdir())
        face_clips = [face_clip(decoded_frames(path), whole_box) for path in videos]
        whole_clips = [clip for path in videos for clip in video_clips(path)]
        scores[name] = (i3d_features(detector, face_clips, protocol="latentsync"),
                        i3d_features(detector, whole_clips, protocol="all_clips"))
    assert scores["real"][0].shape == (4, 6) and scores["real"][1].shape == (12, 6)  # one clip per video vs all
    for protocol in (0, 1):
        assert abs(frechet_distance(scores["real"][protocol], scores["real"][protocol])) < 1e-6
        assert frechet_distance(scores["real"][protocol], scores["other"][protocol]) > 1e-2


@pytest.mark.slow
def test_default_protocol_end_to_end_on_the_demo_clips(i3d_path, tmp_path):
    """mediapipe finds the face in frames 20-35 of both demo videos; the folders are two sets, not pairs: the real
    folder holds a video without a generated counterpart and the generated names match none of the real ones."""
    real, fake = tmp_path / "real", tmp_path / "fake"
    real.mkdir(), fake.mkdir()
    for index, name in enumerate(("demo1", "demo2")):
        video = shared_path("media", f"{name}_video.mp4")
        (real / f"{name}.mp4").symlink_to(video)
        (fake / f"generated_{index}.mp4").symlink_to(video)
    (real / "only_real.mp4").symlink_to(shared_path("media", "demo1_video.mp4"))
    (fake / "notes.txt").write_text("not a video")
    real_clips, fake_clips = folder_face_clips(real), folder_face_clips(fake)
    assert len(real_clips) == 3 and len(fake_clips) == 2
    assert real_clips[0].shape == (16, 224, 224, 3)
    np.testing.assert_array_equal(real_clips[0], real_clips[2])  # demo1.mp4 and only_real.mp4: the same video
    fvd = eval_fvd.evaluate(eval_fvd.parse_args(["--real_videos_dir", str(real), "--fake_videos_dir", str(fake),
                                                 "--i3d_path", str(i3d_path), "--device", "cpu"]))
    assert fvd > 1e-6  # demo1 counted twice in the real set only: the two distributions differ
    (real / "only_real.mp4").unlink()
    fvd = eval_fvd.evaluate(eval_fvd.parse_args(["--real_videos_dir", str(real), "--fake_videos_dir", str(fake),
                                                 "--i3d_path", str(i3d_path), "--device", "cpu"]))
    assert abs(fvd) < 1e-6


def test_mediapipe_box_holds_the_face():
    from latentsync.face.mediapipe_face_boxes import MediapipeFaceBoxes

    frame = decoded_frames(shared_path("media", "demo1_video.mp4"), first=0, count=1)[0]
    with MediapipeFaceBoxes() as detect_face:
        box = detect_face(frame)
    height, width = frame.shape[:2]
    xmin, ymin, box_width, box_height = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    # Eyebrow centres and nose of frame 0 (../shared/parity/face/README.md, B.1) lie inside the box.
    for x, y in ((554, 649), (659, 663), (597, 714)):
        assert xmin < x < xmin + box_width and ymin < y < ymin + box_height
    assert 100 < box_width < 600 and 100 < box_height < 600


def test_folder_without_mp4_is_an_input_error(tmp_path):
    (tmp_path / "clip.mov").write_bytes(b"")
    with pytest.raises(InputError, match=r"no videos \(\.mp4\)"):
        folder_face_clips(tmp_path)


@pytest.mark.slow
def test_eval_fvd_without_faces_is_one_error_line_without_mediapipe_s_chatter(i3d_path, tmp_path):
    """python -m eval.eval_fvd as the README shows it: mediapipe looks for faces in frames 20-35 and finds none, so
    both videos are left out (warned) and the run ends in one line, with no TensorFlow Lite / absl lines before it."""
    for name in ("real", "fake"):
        (tmp_path / name).mkdir()
        write_constant_rate_video(tmp_path / name / "clip.mp4", fps=25, seconds=1.6)
    result = run_entry_point("-m eval.eval_fvd", "--real_videos_dir", "real", "--fake_videos_dir", "fake",
                             "--i3d_path", str(i3d_path), "--device", "cpu", cwd=tmp_path)
    assert error_line(result) == "error: the first set has 0 clip(s); FVD needs at least 2 clips per set"
    assert "real/clip.mp4 left out of FVD" in result.stderr  # mediapipe ran on its frames
