"""Tiny ONNX graphs with the input/output contract of the released face restorers (the real ones cannot be
downloaded here): one N x 3 x S x S float face input named ``input`` (plus CodeFormer's double ``weight``), one
face output named ``output``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def write_tiny_enhancer(path: Path, size: int | None = None, batch: int | None = None,
                        channel_gains: tuple[float, float, float] | None = None, fidelity_input: str | None = None,
                        input_name: str = "input") -> Path:
    """Write a graph computing ``output = input * channel_gains`` (identity without gains), times ``weight`` when
    ``fidelity_input`` names a double scalar input. ``size``/``batch`` None make those dimensions dynamic."""
    side = size if size is not None else "size"
    shape = [batch if batch is not None else "batch", 3, side, side]
    inputs = [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, shape)]
    nodes, initializers, current = [], [], input_name
    if channel_gains is not None:
        gains = np.asarray(channel_gains, np.float32).reshape(1, 3, 1, 1)
        initializers.append(numpy_helper.from_array(gains, "gains"))
        nodes.append(helper.make_node("Mul", [current, "gains"], ["gained"]))
        current = "gained"
    if fidelity_input is not None:
        inputs.append(helper.make_tensor_value_info(fidelity_input, TensorProto.DOUBLE, [1]))
        nodes += [helper.make_node("Cast", [fidelity_input], ["weight_float"], to=TensorProto.FLOAT),
                  helper.make_node("Mul", [current, "weight_float"], ["weighted"])]
        current = "weighted"
    nodes.append(helper.make_node("Identity", [current], ["output"]))
    graph = helper.make_graph(nodes, "tiny_face_enhancer", inputs,
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, shape)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by every onnxruntime since 1.10
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def write_tiny_enhancers(directory: Path, channel_gains=(1.0, 1.0, 1.0)) -> Path:
    """Every method's file (under its configured name) in ``directory``, as small dynamic-size graphs."""
    from latentsync.face.enhancement import enhancer_specs

    for spec in enhancer_specs().values():
        write_tiny_enhancer(spec.path(directory), channel_gains=channel_gains, fidelity_input=spec.fidelity_input)
    return directory
