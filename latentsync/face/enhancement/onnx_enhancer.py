"""Released restoration networks (GFPGAN v1.4, CodeFormer, GPEN-BFR-512) run as ONNX graphs with onnxruntime.

onnxruntime instead of the ``gfpgan``/``basicsr`` packages: those pin old torchvision APIs and break with the
project's torch, while one small runtime runs all three exports on CPU or CUDA.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from latentsync.errors import CheckpointError
from latentsync.face.enhancement.base import FaceEnhancer
from latentsync.face.enhancement.defaults import DEFAULT_CODEFORMER_FIDELITY
from latentsync.face.enhancement.spec import DEFAULT_ENHANCERS_DIR, EnhancerSpec, check_face_enhancer, enhancer_spec

logger = logging.getLogger(__name__)

ONNX_ELEMENT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}


def onnx_providers(device: torch.device | str) -> list[str | tuple[str, dict]]:
    """Execution providers for ``device``: CUDA (on that GPU) then CPU, or CPU alone.

    A CUDA device without onnxruntime's CUDA provider (the CPU-only ``onnxruntime`` wheel) falls back to CPU
    with a warning that names the wheel to install.
    """
    import onnxruntime

    device = torch.device(device)
    if device.type == "cuda":
        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            return [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
        logger.warning("onnxruntime has no CUDA provider here, so face enhancement runs on the CPU; "
                       "pip install onnxruntime-gpu to run it on %s", device)
    return ["CPUExecutionProvider"]


class OnnxFaceEnhancer(FaceEnhancer):
    """One ONNX restoration model; faces (already in its template, at its input size) are mapped to its value range
    and colour order, restored a batch at a time (one face at a time for graphs exported with a fixed batch of 1),
    and mapped back."""

    def __init__(self, spec: EnhancerSpec, model_path: str | os.PathLike, device: torch.device | str = "cpu",
                 fidelity: float = DEFAULT_CODEFORMER_FIDELITY):
        import onnxruntime

        if not 0.0 <= fidelity <= 1.0:
            raise ValueError(f"CodeFormer fidelity must be between 0 and 1, got {fidelity}")
        self.spec = spec
        self.title = spec.title
        self.input_size = spec.input_size
        self.template = spec.template
        self.fidelity = fidelity
        self.model_path = model_path
        try:
            self.session = onnxruntime.InferenceSession(os.fspath(model_path), providers=onnx_providers(device))
        except Exception as error:  # onnxruntime reports bad files through several exception types
            fetch = spec.fetch_command(Path(model_path).parent)
            raise CheckpointError(f"{model_path} is not a readable ONNX model ({str(error).splitlines()[0]}); "
                                  f"delete it and fetch it again: {fetch}") from None
        self._check_graph()

    def _check_graph(self) -> None:
        """The graph must take the spec's face input (and fidelity input) and give one face output."""
        inputs = self.session.get_inputs()
        extra = {i.name for i in inputs[1:]}
        expected_extra = {self.spec.fidelity_input} - {None}
        face = inputs[0]
        problems = []
        if extra != expected_extra:
            problems.append(f"inputs {[i.name for i in inputs]} (expected one face input"
                            + (f" and {self.spec.fidelity_input!r})" if expected_extra else ")"))
        if len(face.shape) != 4 or isinstance(face.shape[1], int) and face.shape[1] != 3:
            problems.append(f"face input of shape {face.shape} (expected N x 3 x H x W)")
        elif any(isinstance(side, int) and side != self.spec.input_size for side in face.shape[2:]):
            problems.append(f"face input of {face.shape[2]}x{face.shape[3]} (the config says "
                            f"{self.spec.input_size}x{self.spec.input_size})")
        if face.type not in ONNX_ELEMENT_TYPES:
            problems.append(f"face input of type {face.type}")
        if len(self.session.get_outputs()) < 1:
            problems.append("no output")
        if problems:
            raise CheckpointError(f"{self.model_path} is not the {self.spec.title} model this project expects: "
                                  f"{'; '.join(problems)}; fetch it with: "
                                  f"{self.spec.fetch_command(Path(self.model_path).parent)}")
        self._face_input = face
        batch = face.shape[0]
        self._batch_size = batch if isinstance(batch, int) and batch > 0 else None

    def to_model_input(self, faces: torch.Tensor) -> np.ndarray:
        """(B, 3, S, S) RGB faces in [-1, 1] -> the network's (B, 3, S, S) array in its range, order and dtype."""
        size = self.input_size
        if tuple(faces.shape[-2:]) != (size, size):
            raise ValueError(f"{self.title} takes {size}x{size} faces in its template, got {tuple(faces.shape)}")
        faces = faces.detach().float()
        low, high = self.spec.value_range
        faces = (faces.clamp(-1, 1) + 1) / 2 * (high - low) + low
        if self.spec.colour_order == "bgr":
            faces = faces.flip(1)
        return faces.cpu().numpy().astype(ONNX_ELEMENT_TYPES[self._face_input.type], copy=False)

    def from_model_output(self, outputs: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        """The network's output -> RGB faces in [-1, 1] with ``like``'s dtype and device."""
        faces = torch.from_numpy(np.ascontiguousarray(outputs, dtype=np.float32)).to(like.device)
        if self.spec.colour_order == "bgr":
            faces = faces.flip(1)
        low, high = self.spec.value_range
        faces = (faces.clamp(low, high) - low) / (high - low) * 2 - 1
        return faces.clamp(-1, 1).to(like.dtype)

    def run(self, model_input: np.ndarray) -> np.ndarray:
        """Run the network over a (B, 3, S, S) array, in chunks of its fixed batch size if it has one."""
        feeds = {}
        if self.spec.fidelity_input is not None:
            weight = next(i for i in self.session.get_inputs() if i.name == self.spec.fidelity_input)
            shape = [1] * len(weight.shape) if weight.shape else []
            feeds[weight.name] = np.full(shape, self.fidelity, dtype=ONNX_ELEMENT_TYPES.get(weight.type, np.float64))
        chunk = self._batch_size or len(model_input)
        outputs = [self.session.run(None, {self._face_input.name: model_input[start:start + chunk], **feeds})[0]
                   for start in range(0, len(model_input), chunk)]
        return np.concatenate(outputs)

    def restore(self, faces: torch.Tensor) -> torch.Tensor:
        if len(faces) == 0:
            return faces
        return self.from_model_output(self.run(self.to_model_input(faces)), like=faces)


def load_face_enhancer(method: str, enhancers_dir: str | os.PathLike = DEFAULT_ENHANCERS_DIR,
                       device: torch.device | str = "cpu",
                       fidelity: float = DEFAULT_CODEFORMER_FIDELITY) -> OnnxFaceEnhancer:
    """The ``method`` model from ``enhancers_dir``; a missing file raises ``CheckpointError`` with the fetch command."""
    return OnnxFaceEnhancer(enhancer_spec(method), check_face_enhancer(method, enhancers_dir), device, fidelity)

