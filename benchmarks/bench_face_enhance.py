"""Frames per second of face enhancement (restore + mouth-protected blend) per method, at 256 and 512 face crops.

``python benchmarks/bench_face_enhance.py [--device cpu|cuda] [--faces 8] [--enhancers_dir checkpoints/enhancers]``

Uses the real ONNX models when ``--enhancers_dir`` holds them. Otherwise each method runs a STAND-IN graph with
its input contract (512x512 face in, face out; CodeFormer's fidelity input) and a realistic amount of work: an
encoder-decoder of 3x3 convolutions from 512x512 down to 4x4 and back with the channel widths of a StyleGAN2
decoder at channel multiplier 2 (GFPGAN's layout), whose parameter count and GFLOPs are printed. Stand-in figures
show the cost of the plumbing and of a network of that size, not of the real models.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentsync.face.enhancement import (DEFAULT_ENHANCERS_DIR, FaceEnhancement, OnnxFaceEnhancer,  # noqa: E402
                                         enhancer_specs)

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


def frames_per_second(enhancement: FaceEnhancement, faces: torch.Tensor, repeats: int) -> float:
    enhancement(faces[:1])  # warm-up: session, kernels, protection map
    if faces.device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        enhancement(faces)
    if faces.device.type == "cuda":
        torch.cuda.synchronize()
    return repeats * len(faces) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--faces", type=int, default=4, help="faces per batch (a window holds up to 16)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--crops", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--methods", nargs="+", default=list(enhancer_specs()), choices=list(enhancer_specs()))
    parser.add_argument("--enhancers_dir", type=Path, default=DEFAULT_ENHANCERS_DIR)
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"device {device}, {torch.get_num_threads()} CPU threads, {args.faces} faces per batch")
    with tempfile.TemporaryDirectory() as scratch:
        for method in args.methods:
            spec = enhancer_specs()[method]
            path = spec.path(args.enhancers_dir)
            if path.is_file():
                origin = f"real model {path}"
            else:
                path = Path(scratch) / spec.filename
                origin = f"{spec.filename} absent -> " + export_stand_in(path, spec.input_size, spec.fidelity_input)
            enhancement = FaceEnhancement(OnnxFaceEnhancer(spec, path, device), strength=0.8)
            print(f"{spec.title}: {origin}")
            for crop in args.crops:
                faces = torch.rand(args.faces, 3, crop, crop, device=device) * 2 - 1
                fps = frames_per_second(enhancement, faces, args.repeats)
                print(f"  {crop}x{crop} crops -> {spec.input_size} network: {fps:.2f} frames/s")


if __name__ == "__main__":
    main()
