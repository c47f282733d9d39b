"""Seconds per frame of face enhancement: the restorer's own time, and next to it what enhancing from the frame adds
(the warp into the restorer's template and back, the face mask, the mouth protection in frame coordinates, the
blend).

``python benchmarks/bench_face_enhance.py [--device cpu|cuda] [--frames 4] [--scale 1] [--enhancers_dir DIR]``

Real demo frames (``--scale`` of 1080x1920) with real landmarks (mediapipe), enhanced a window at a time as
``pipe(...)`` does. Uses the real ONNX models when ``--enhancers_dir`` holds them. Otherwise each method runs a
STAND-IN graph with its input contract (512x512 face in, face out; CodeFormer's fidelity input) and a realistic
amount of work: an encoder-decoder of 3x3 convolutions from 512x512 down to 4x4 and back with the channel widths of
a StyleGAN2 decoder at channel multiplier 2 (GFPGAN's layout), whose parameter count and GFLOPs are printed.
Stand-in figures show the cost of the plumbing and of a network of that size, not of the real models.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_paste_back import DEFAULT_VIDEO, WINDOW, tracked_demo_frames  # noqa: E402
from latentsync.face.enhancement import (DEFAULT_ENHANCERS_DIR, FaceEnhancement, FaceEnhancer,  # noqa: E402
                                         OnnxFaceEnhancer, enhancer_specs)
from latentsync.face.framed_faces import FramedFaces  # noqa: E402
from latentsync.utils.device import resolve_device  # noqa: E402

# Channels at 512, 256, ..., 4 pixels: StyleGAN2's widths at channel multiplier 2.
CHANNELS = (64, 128, 256, 512, 512, 512, 512, 512)


class StandInRestorer(nn.Module):
    """A U-Net-shaped stack of 3x3 convolutions: the work of a 512 face restorer, not its function.

    Encoder: one stride-2 convolution per level; decoder: upsample and two convolutions per level.
    """

    def __init__(self, with_weight: bool):
        super().__init__()
        self.with_weight = with_weight
        self.stem = nn.Conv2d(3, CHANNELS[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in zip(CHANNELS, CHANNELS[1:]))
        self.up = nn.ModuleList(nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(b, a, 3, padding=1),
                                              nn.LeakyReLU(0.2), nn.Conv2d(a, a, 3, padding=1), nn.LeakyReLU(0.2))
                                for a, b in zip(CHANNELS, CHANNELS[1:]))
        self.out = nn.Conv2d(CHANNELS[0], 3, 3, padding=1)

    def forward(self, face: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        x = nn.functional.leaky_relu(self.stem(face), 0.2)
        for conv in self.down:
            x = nn.functional.leaky_relu(conv(x), 0.2)
        for block in reversed(self.up):
            x = block(x)
        x = torch.tanh(self.out(x))
        return x * weight.float() if self.with_weight else x


def conv_gflops(model: nn.Module, size: int) -> float:
    """Multiply-adds x 2 of the convolutions for one face, counted with forward hooks."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        total += 2 * output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size), torch.ones(1, dtype=torch.float64))
    for hook in hooks:
        hook.remove()
    return total / 1e9


def export_stand_in(path: Path, size: int, fidelity_input: str | None) -> str:
    model = StandInRestorer(with_weight=fidelity_input is not None).eval()
    names, args = ["input"], (torch.zeros(1, 3, size, size),)
    if fidelity_input is not None:
        names.append(fidelity_input)
        args += (torch.ones(1, dtype=torch.float64),)
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, args, str(path), input_names=names, output_names=["output"], opset_version=17,
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, dynamo=False)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return f"stand-in: {params:.0f} M parameters, {conv_gflops(model, size):.0f} GFLOPs per face"


class TimedRestorer(FaceEnhancer):
    """Runs another restorer and adds up the seconds it took (synchronised on CUDA)."""

    def __init__(self, enhancer: FaceEnhancer):
        self.enhancer = enhancer
        self.title, self.input_size, self.template = enhancer.title, enhancer.input_size, enhancer.template
        self.seconds = 0.0

    def restore(self, faces: torch.Tensor) -> torch.Tensor:
        synchronize(faces.device)
        started = time.perf_counter()
        restored = self.enhancer.restore(faces)
        synchronize(faces.device)
        self.seconds += time.perf_counter() - started
        return restored


class PassThroughRestorer(FaceEnhancer):
    """Gives the faces back: what is left of the time is the warps, masks and blend alone."""

    title, input_size = "pass-through", 512
    template = enhancer_specs()["gfpgan"].template

    def restore(self, faces: torch.Tensor) -> torch.Tensor:
        return faces


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tracked_windows(args: argparse.Namespace, device: torch.device) -> list[FramedFaces]:
    """The demo frames with their tracked faces, a window of ``WINDOW`` frames at a time."""
    frames, aligner, track = tracked_demo_frames(args.video, args.frames, args.scale, args.resolution, device)
    frames_on_device = torch.from_numpy(np.stack(frames)).to(device)
    return [FramedFaces(frames_on_device[start:start + WINDOW], track.five_points[start:start + WINDOW],
                        track.affine_matrices[start:start + WINDOW].to(device), aligner.crop_size, args.resolution)
            for start in range(0, len(frames), WINDOW)]


def seconds_per_frame(enhancement: FaceEnhancement, windows: list[FramedFaces]) -> tuple[float, float]:
    """(whole enhancement, restorer alone) seconds per frame."""
    first = windows[0]
    enhancement(FramedFaces(first.frames[:1], first.five_points[:1], first.affine_matrices[:1], first.crop_size,
                            first.resolution))  # warm-up: session, kernels, protection map
    restorer = enhancement.enhancer
    restorer.seconds = 0.0
    synchronize(first.frames.device)
    started = time.perf_counter()
    for window in windows:
        enhancement(window)
    synchronize(first.frames.device)
    num_frames = sum(len(window) for window in windows)
    return (time.perf_counter() - started) / num_frames, restorer.seconds / num_frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--frames", type=int, default=4, help="frames enhanced (a window holds up to 16)")
    parser.add_argument("--scale", type=float, default=1.0, help="scale the video first (1: 1080x1920)")
    parser.add_argument("--resolution", type=int, default=512, help="the generated faces' size (1.5: 256)")
    parser.add_argument("--methods", nargs="+", default=list(enhancer_specs()), choices=list(enhancer_specs()))
    parser.add_argument("--enhancers_dir", type=Path, default=DEFAULT_ENHANCERS_DIR)
    args = parser.parse_args(argv)
    if not args.video.is_file():
        print(f"error: missing input {args.video}; pass --video (default: ../shared/media/demo1_video.mp4)")
        return 2
    device = resolve_device(args.device)
    windows = tracked_windows(args, device)
    height, width = windows[0].frames.shape[1:3]
    print(f"device {device}, {torch.get_num_threads()} CPU threads, {width}x{height} frames, "
          f"{sum(len(w) for w in windows)} enhanced in windows of up to {WINDOW}")
    total, _ = seconds_per_frame(FaceEnhancement(TimedRestorer(PassThroughRestorer())), windows)
    print(f"pass-through restorer: warps to the template and back, masks, blend {total:.4f} s/frame")
    with tempfile.TemporaryDirectory() as scratch:
        for method in args.methods:
            spec = enhancer_specs()[method]
            path = spec.path(args.enhancers_dir)
            if path.is_file():
                origin = f"real model {path}"
            else:
                path = Path(scratch) / spec.filename
                origin = f"{spec.filename} absent -> " + export_stand_in(path, spec.input_size, spec.fidelity_input)
            enhancement = FaceEnhancement(TimedRestorer(OnnxFaceEnhancer(spec, path, device)), strength=0.8)
            total, restorer = seconds_per_frame(enhancement, windows)
            print(f"{spec.title}: {origin}\n  restorer {restorer:.3f} s/frame; from the frame (warps to the "
                  f"{spec.template.name} template and back, masks, blend) +{total - restorer:.4f} s/frame "
                  f"({(total - restorer) / total:.1%} of {total:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
