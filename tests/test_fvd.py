"""FVD with a tiny TorchScript stand-in for I3D: zero for a set against itself, positive against another set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from eval import eval_fvd
from latentsync.evaluation.fvd import frechet_distance
from latentsync.errors import CheckpointError, InputError
from latentsync.io.video_writer import VideoWriter


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


def test_fvd_of_a_set_with_itself_is_zero_and_positive_against_another(i3d_path, tmp_path):
    real = _write_videos(tmp_path / "real", seed=1, brightness=0)
    other = _write_videos(tmp_path / "other", seed=2, brightness=96)
    common = ["--i3d_path", str(i3d_path), "--device", "cpu", "--batch_size", "5"]

    same = eval_fvd.main(["--real_videos_dir", str(real), "--fake_videos_dir", str(real), *common])
    different = eval_fvd.main(["--real_videos_dir", str(real), "--fake_videos_dir", str(other), *common])

    assert abs(same) < 1e-6
    assert different > 1e-2


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    features = np.random.default_rng(0).standard_normal((50, 4))
    assert frechet_distance(features, features + [3.0, 0, 0, 0]) == pytest.approx(9.0, abs=1e-8)
    with pytest.raises(InputError, match="at least 2 clips"):
        frechet_distance(features[:1], features)


def test_missing_i3d_checkpoint_names_it(tmp_path):
    missing = tmp_path / "auxiliary" / "i3d_torchscript.pt"
    with pytest.raises(CheckpointError, match="i3d_torchscript.pt.*setup_env.sh"):
        eval_fvd.main(["--real_videos_dir", str(tmp_path), "--fake_videos_dir", str(tmp_path),
                       "--i3d_path", str(missing)])
