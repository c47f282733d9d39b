"""S3FD ("Single Shot Scale-invariant Face Detector", Zhang et al. 2017), the face detector of SyncNet evaluation.

LSE-C / LSE-D are only comparable with published numbers when the face tracks come from this detector
(``sfd_face.pth``, the checkpoint of the classic ``syncnet_python`` pipeline that LatentSync's evaluation and
data processing use). Layer indices count the ReLU and pooling layers so checkpoint keys (``vgg.31.weight``)
match the file. Post-processing follows the original: softmax, anchor ("prior") boxes, SSD decoding, NMS 0.3
per class keeping 750 boxes, then a final NMS at 0.1 over all scales in ``detect_faces``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import nms

from latentsync.errors import InputError
from latentsync.locations import AUXILIARY_SETUP_HINT, CheckpointLayout
from latentsync.models.checkpoint_files import require_checkpoint_file
from latentsync.models.checkpoint_io import load_state_dict_strict, read_checkpoint

RGB_MEAN = (123.0, 117.0, 104.0)  # the original subtracts the BGR means (104, 117, 123) from BGR-ordered channels
ANCHOR_SIZES = (16, 32, 64, 128, 256, 512)
ANCHOR_STRIDES = (4, 8, 16, 32, 64, 128)
VARIANCES = (0.1, 0.2)
# Five poolings must leave fc7 at least 1x1; smaller inputs make the original crash, here they find no face.
MIN_INPUT_SIZE = 28


class L2Norm(nn.Module):
    """Per-position L2 normalisation with a learned per-channel scale (keeps conv3_3..conv5_3 comparable)."""

    def __init__(self, channels: int, scale: float):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10
        return x / norm * self.weight.view(1, -1, 1, 1)


def _vgg16_trunk() -> nn.ModuleList:
    """VGG-16 conv1_1..conv5_3 plus the dilated fc6 / fc7 convolutions; pool3 rounds up (``ceil_mode``)."""
    layers: list[nn.Module] = []
    in_channels = 3
    for stage, (channels, repeats) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))):
        for _ in range(repeats):
            layers += [nn.Conv2d(in_channels, channels, 3, 1, padding=1), nn.ReLU(inplace=True)]
            in_channels = channels
        layers.append(nn.MaxPool2d(2, 2, ceil_mode=stage == 2))
    layers += [nn.Conv2d(512, 1024, 3, 1, padding=6, dilation=6), nn.ReLU(inplace=True),
               nn.Conv2d(1024, 1024, 1, 1), nn.ReLU(inplace=True)]
    return nn.ModuleList(layers)


# vgg[:16] ends at conv3_3 + ReLU, vgg[16:23] at conv4_3, vgg[23:30] at conv5_3, vgg[30:] at fc7.
_TRUNK_SOURCES = ((0, 16), (16, 23), (23, 30), (30, 35))


class S3FDNet(nn.Module):
    """``forward(x) -> detections (B, 2, top_k, 5)``: per class, rows of (score, x1, y1, x2, y2) in [0, 1]
    image coordinates, score-descending, zero-padded. ``x`` is the mean-subtracted RGB image (see ``preprocess``).
    """

    def __init__(self, top_k: int = 750, nms_threshold: float = 0.3, conf_threshold: float = 0.05,
                 nms_top_k: int = 5000):
        super().__init__()
        self.top_k = top_k
        self.nms_threshold = nms_threshold
        self.conf_threshold = conf_threshold
        self.nms_top_k = nms_top_k
        self.vgg = _vgg16_trunk()
        self.L2Norm3_3 = L2Norm(256, 10)
        self.L2Norm4_3 = L2Norm(512, 8)
        self.L2Norm5_3 = L2Norm(512, 5)
        self.extras = nn.ModuleList([
            nn.Conv2d(1024, 256, 1, 1), nn.Conv2d(256, 512, 3, 2, padding=1),
            nn.Conv2d(512, 128, 1, 1), nn.Conv2d(128, 256, 3, 2, padding=1),
        ])
        source_channels = (256, 512, 512, 1024, 512, 256)
        self.loc = nn.ModuleList([nn.Conv2d(channels, 4, 3, 1, padding=1) for channels in source_channels])
        # conv3_3 predicts 3 background scores and keeps their maximum ("max-out" background label).
        self.conf = nn.ModuleList([nn.Conv2d(channels, 4 if index == 0 else 2, 3, 1, padding=1)
                                   for index, channels in enumerate(source_channels)])

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
        """Box offsets (B, P, 4), class logits (B, P, 2) and the (h, w) of the six source feature maps."""
        norms = (self.L2Norm3_3, self.L2Norm4_3, self.L2Norm5_3, None)
        sources = []
        for (start, end), norm in zip(_TRUNK_SOURCES, norms, strict=True):
            for layer in self.vgg[start:end]:
                x = layer(x)
            sources.append(x if norm is None else norm(x))
        for index, layer in enumerate(self.extras):
            x = F.relu(layer(x), inplace=True)
            if index % 2 == 1:
                sources.append(x)

        first_conf = self.conf[0](sources[0])
        background = first_conf[:, 0:3].max(dim=1, keepdim=True).values
        confs = [torch.cat((background, first_conf[:, 3:]), dim=1)]
        confs += [head(source) for head, source in zip(self.conf[1:], sources[1:], strict=True)]
        locs = [head(source) for head, source in zip(self.loc, sources, strict=True)]
        batch = x.shape[0]
        loc = torch.cat([o.permute(0, 2, 3, 1).reshape(batch, -1) for o in locs], 1).view(batch, -1, 4)
        conf = torch.cat([o.permute(0, 2, 3, 1).reshape(batch, -1) for o in confs], 1).view(batch, -1, 2)
        return loc, conf, [tuple(source.shape[2:]) for source in sources]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        loc, conf, feature_maps = self.heads(x)
        priors = prior_boxes(tuple(x.shape[2:]), feature_maps).to(x.device)
        return self.detect(loc, conf.softmax(dim=-1), priors)

    def detect(self, loc: torch.Tensor, probabilities: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
        """Decode every image's boxes and keep, per face class, the NMS survivors above ``conf_threshold``."""
        batch, _, num_classes = probabilities.shape
        output = torch.zeros(batch, num_classes, self.top_k, 5, device=loc.device)
        for index in range(batch):
            boxes = decode_boxes(loc[index], priors)
            for cls in range(1, num_classes):
                scores = probabilities[index, :, cls]
                above = scores > self.conf_threshold
                kept_scores, kept_boxes = scores[above], boxes[above]
                if kept_scores.numel() > self.nms_top_k:
                    kept_scores, order = kept_scores.topk(self.nms_top_k)
                    kept_boxes = kept_boxes[order]
                keep = nms(kept_boxes, kept_scores, self.nms_threshold)[: self.top_k]
                output[index, cls, : len(keep)] = torch.cat((kept_scores[keep, None], kept_boxes[keep]), 1)
        return output


def prior_boxes(image_size: tuple[int, int], feature_maps: Sequence[tuple[int, int]]) -> torch.Tensor:
    """(P, 4) anchors (cx, cy, w, h) relative to the image, row-major per feature map; computed in float64
    and rounded once to float32, as the original's Python-float loop does."""
    height, width = image_size
    anchors = []
    for (map_h, map_w), stride, size in zip(feature_maps, ANCHOR_STRIDES, ANCHOR_SIZES, strict=True):
        rows, cols = np.meshgrid(np.arange(map_h), np.arange(map_w), indexing="ij")
        cx = (cols.ravel() + 0.5) / (width / stride)
        cy = (rows.ravel() + 0.5) / (height / stride)
        anchors.append(np.stack([cx, cy, np.full_like(cx, size / width), np.full_like(cy, size / height)], 1))
    return torch.from_numpy(np.concatenate(anchors).astype(np.float32))


def decode_boxes(loc: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    """SSD decoding of (P, 4) offsets against (cx, cy, w, h) anchors into (x1, y1, x2, y2)."""
    centers = priors[:, :2] + loc[:, :2] * VARIANCES[0] * priors[:, 2:]
    sizes = priors[:, 2:] * torch.exp(loc[:, 2:] * VARIANCES[1])
    top_left = centers - sizes / 2
    return torch.cat((top_left, sizes + top_left), 1)


def preprocess(image_rgb: np.ndarray, scale: float) -> torch.Tensor:
    """(1, 3, h, w) float32 network input: bilinear resize by ``scale``, channels first, minus the mean colour."""
    resized = cv2.resize(image_rgb, dsize=(0, 0), fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    chw = torch.from_numpy(np.ascontiguousarray(resized.transpose(2, 0, 1))).float()
    return (chw - torch.tensor(RGB_MEAN).view(3, 1, 1))[None]


class S3FD:
    """Face boxes of RGB frames: ``detect_faces(image) -> (N, 5)`` rows of (x1, y1, x2, y2, score) in pixels."""

    def __init__(self, net: S3FDNet, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.net = net.to(self.device).eval().requires_grad_(False)

    @staticmethod
    def check_weights(path: str | Path = CheckpointLayout().s3fd) -> None:
        """Fail early (before any work) when the checkpoint file is absent."""
        require_checkpoint_file(path, "S3FD weights", AUXILIARY_SETUP_HINT)

    @classmethod
    def from_checkpoint(cls, path: str | Path = CheckpointLayout().s3fd, device: torch.device | str = "cpu") -> S3FD:
        """Load ``sfd_face.pth`` (a plain state dict) strictly: every key present, none unexpected."""
        cls.check_weights(path)
        net = S3FDNet()
        state_dict, _ = read_checkpoint(path, setup_hint=AUXILIARY_SETUP_HINT)
        load_state_dict_strict(net, state_dict, str(path), hint="Expected the S3FD face detector sfd_face.pth.")
        return cls(net, device)

    @torch.no_grad()
    def detect_faces(self, image_rgb: np.ndarray, conf_th: float = 0.9,
                     scales: Sequence[float] = (0.25,)) -> np.ndarray:
        """Boxes scoring above ``conf_th`` at every scale, merged by NMS at 0.1 (the sync-evaluation defaults)."""
        if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
            raise InputError(f"S3FD detects faces in uint8 RGB images of shape (H, W, 3), got {image_rgb.dtype} "
                             f"{image_rgb.shape}")
        height, width = image_rgb.shape[:2]
        to_pixels = torch.tensor([width, height, width, height], dtype=torch.float32)
        found = [np.empty((0, 5))]
        for scale in scales:
            net_input = preprocess(image_rgb, scale)
            if min(net_input.shape[2:]) < MIN_INPUT_SIZE:
                continue
            detections = self.net(net_input.to(self.device))[0].cpu()
            for rows in detections:  # per class; the background row is all zeros
                # the original walks each score-sorted list while the score exceeds conf_th
                taken = rows[torch.cumprod(rows[:, 0] > conf_th, 0).bool()]
                found.append(np.concatenate([(taken[:, 1:] * to_pixels).numpy(), taken[:, :1].numpy()], 1))
        boxes = np.concatenate(found).astype(np.float64)
        keep = nms(torch.from_numpy(boxes[:, :4]), torch.from_numpy(boxes[:, 4]), 0.1).numpy()
        return boxes[keep]
