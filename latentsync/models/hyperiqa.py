"""HyperIQA (Su et al., CVPR 2020), the blind image-quality model of the data pipeline's visual-quality filter.

A ResNet-50 backbone feeds two paths: multi-scale "local distortion aware" pooled features become the input
vector of a small target network, and the last feature map drives a hyper network that *generates* that target
network's weights per image. The target network's output is the quality score (0-100 with
``koniq_pretrained.pkl``, trained on KonIQ-10k); LatentSync keeps a clip when the mean over its first, middle
and last frames is at least 40. Module names match the checkpoint (``res.layer1.0.conv1.weight``, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as TF
from torch import nn

from latentsync.errors import InputError
from latentsync.locations import AUXILIARY_SETUP_HINT, CheckpointLayout
from latentsync.models.checkpoint_files import require_checkpoint_file
from latentsync.models.checkpoint_io import load_state_dict_strict, read_checkpoint

CROP_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ResNetBackbone(nn.Module):
    """torchvision's ResNet-50 trunk plus the four local-distortion-aware (LDA) poolings of the target input."""

    def __init__(self, lda_out_channels: int, target_in_size: int):
        super().__init__()
        resnet = torchvision.models.resnet50(weights=None)
        self.conv1, self.bn1, self.relu, self.maxpool = resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4
        # Pooling 7x7 after a 1x1 channel reduction: cheaper than the paper's LDA, same effect (original comment).
        self.lda1_pool = nn.Sequential(nn.Conv2d(256, 16, 1, bias=False), nn.AvgPool2d(7, stride=7))
        self.lda1_fc = nn.Linear(16 * 64, lda_out_channels)
        self.lda2_pool = nn.Sequential(nn.Conv2d(512, 32, 1, bias=False), nn.AvgPool2d(7, stride=7))
        self.lda2_fc = nn.Linear(32 * 16, lda_out_channels)
        self.lda3_pool = nn.Sequential(nn.Conv2d(1024, 64, 1, bias=False), nn.AvgPool2d(7, stride=7))
        self.lda3_fc = nn.Linear(64 * 4, lda_out_channels)
        self.lda4_pool = nn.AvgPool2d(7, stride=7)
        self.lda4_fc = nn.Linear(2048, target_in_size - lda_out_channels * 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, 224, 224) -> (last feature map (B, 2048, 7, 7), target input vector (B, target_in_size))."""
        x = self.layer1(self.maxpool(self.relu(self.bn1(self.conv1(x)))))
        lda_1 = self.lda1_fc(self.lda1_pool(x).flatten(1))
        x = self.layer2(x)
        lda_2 = self.lda2_fc(self.lda2_pool(x).flatten(1))
        x = self.layer3(x)
        lda_3 = self.lda3_fc(self.lda3_pool(x).flatten(1))
        x = self.layer4(x)
        lda_4 = self.lda4_fc(self.lda4_pool(x).flatten(1))
        return x, torch.cat((lda_1, lda_2, lda_3, lda_4), 1)


class HyperNet(nn.Module):
    """``forward(images) -> paras``: the target network's input vector and generated weights/biases per image.

    Defaults are the released configuration ``HyperNet(16, 112, 224, 112, 56, 28, 14, 7)``.
    """

    def __init__(self, lda_out_channels: int = 16, hyper_in_channels: int = 112, target_in_size: int = 224,
                 target_fc1_size: int = 112, target_fc2_size: int = 56, target_fc3_size: int = 28,
                 target_fc4_size: int = 14, feature_size: int = 7):
        super().__init__()
        self.hyper_in_channels = hyper_in_channels
        self.feature_size = feature_size
        # (out, in) of the five target layers; the last maps to the single score
        self.target_sizes = ((target_fc1_size, target_in_size), (target_fc2_size, target_fc1_size),
                             (target_fc3_size, target_fc2_size), (target_fc4_size, target_fc3_size),
                             (1, target_fc4_size))
        self.res = ResNetBackbone(lda_out_channels, target_in_size)
        self.conv1 = nn.Sequential(
            nn.Conv2d(2048, 1024, 1), nn.ReLU(inplace=True),
            nn.Conv2d(1024, 512, 1), nn.ReLU(inplace=True),
            nn.Conv2d(512, hyper_in_channels, 1), nn.ReLU(inplace=True),
        )
        cells = feature_size**2  # each weight-generating conv spreads one layer's weights over the 7x7 map
        for index, (out_size, in_size) in enumerate(self.target_sizes[:4], start=1):
            setattr(self, f"fc{index}w_conv", nn.Conv2d(hyper_in_channels, out_size * in_size // cells, 3, padding=1))
            setattr(self, f"fc{index}b_fc", nn.Linear(hyper_in_channels, out_size))
        self.fc5w_fc = nn.Linear(hyper_in_channels, target_fc4_size)
        self.fc5b_fc = nn.Linear(hyper_in_channels, 1)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Normalised (B, 3, 224, 224) images -> ``target_in_vec`` (B, in, 1, 1), ``target_fc{i}w`` (B, out, in, 1, 1)
        and ``target_fc{i}b`` (B, out), i = 1..5 (the original's names and shapes)."""
        features, target_in_vec = self.res(images)
        hyper_features = self.conv1(features).view(-1, self.hyper_in_channels, self.feature_size, self.feature_size)
        pooled = nn.functional.adaptive_avg_pool2d(hyper_features, 1).flatten(1)
        paras = {"target_in_vec": target_in_vec.view(-1, self.target_sizes[0][1], 1, 1)}
        for index, (out_size, in_size) in enumerate(self.target_sizes, start=1):
            weights = self.fc5w_fc(pooled) if index == 5 else getattr(self, f"fc{index}w_conv")(hyper_features)
            paras[f"target_fc{index}w"] = weights.reshape(-1, out_size, in_size, 1, 1)
            paras[f"target_fc{index}b"] = getattr(self, f"fc{index}b_fc")(pooled).view(-1, out_size)
        return paras


def target_network(paras: dict[str, torch.Tensor]) -> torch.Tensor:
    """Run each image's generated 5-layer MLP (sigmoid between layers) on its own input vector: (B,) scores."""
    x = paras["target_in_vec"].flatten(1)
    for index in range(1, 6):
        weights = paras[f"target_fc{index}w"].flatten(2)
        x = torch.baddbmm(paras[f"target_fc{index}b"][:, :, None], weights, x[:, :, None])[:, :, 0]
        if index < 5:
            x = torch.sigmoid(x)
    return x[:, 0]


class HyperIQA:
    """Quality score of video frames: ``score_frames(frames)`` is the mean prediction, 0-100 with real weights."""

    def __init__(self, net: HyperNet, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.net = net.to(self.device).eval().requires_grad_(False)

    @staticmethod
    def frame_indices(num_frames: int) -> tuple[int, int, int]:
        """The frames the original scores: first, middle and last."""
        if num_frames < 1:
            raise InputError("a clip without frames has no visual quality to score")
        return 0, num_frames // 2, num_frames - 1

    @staticmethod
    def check_weights(path: str | Path = CheckpointLayout().hyperiqa) -> None:
        """Fail early (before any work) when the checkpoint file is absent."""
        require_checkpoint_file(path, "HyperIQA weights", AUXILIARY_SETUP_HINT)

    @classmethod
    def from_checkpoint(cls, path: str | Path = CheckpointLayout().hyperiqa,
                        device: torch.device | str = "cpu") -> HyperIQA:
        """Load ``koniq_pretrained.pkl`` (a plain state dict) strictly: every key present, none unexpected."""
        cls.check_weights(path)
        net = HyperNet()
        state_dict, _ = read_checkpoint(path, setup_hint=AUXILIARY_SETUP_HINT)
        load_state_dict_strict(net, state_dict, str(path), hint="Expected HyperIQA's koniq_pretrained.pkl "
                                                                "(HyperNet(16, 112, 224, 112, 56, 28, 14, 7)).")
        return cls(net, device)

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (N, H, W, 3) RGB -> /255, centre crop 224, ImageNet normalisation: (N, 3, 224, 224) float32.

        Frames smaller than 224 are zero-padded by the crop, as the original's ``CenterCrop`` does.
        """
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise InputError(f"HyperIQA scores uint8 RGB frames of shape (N, H, W, 3), got {frames.dtype} "
                             f"{frames.shape}")
        if len(frames) == 0:
            raise InputError("HyperIQA needs at least one frame to score, got none")
        images = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2) / 255.0
        return TF.normalize(TF.center_crop(images, [CROP_SIZE, CROP_SIZE]), IMAGENET_MEAN, IMAGENET_STD)

    @torch.no_grad()
    def predict(self, frames: np.ndarray) -> torch.Tensor:
        """Per-frame quality predictions (N,) on the CPU."""
        return target_network(self.net(self.preprocess(frames).to(self.device))).cpu()

    def score_frames(self, frames: np.ndarray) -> float:
        """Mean prediction over the frames (normally those of ``frame_indices``)."""
        return float(self.predict(frames).mean())
