"""The released ONNX restorers, where their files are present in checkpoints/enhancers (skipped otherwise): the
input size, value range and colour order documented in configs/face_enhancers.yaml hold for the real graphs."""

from __future__ import annotations

import pytest
import torch

from latentsync.face.enhancement import enhancer_specs, load_face_enhancer
from tests.helpers.paths import shared_path


@pytest.fixture(params=list(enhancer_specs()))
def enhancer(request):
    spec = enhancer_specs()[request.param]
    if not spec.path().is_file():
        pytest.skip(f"{spec.path()} absent: {spec.fetch_command()}")
    return load_face_enhancer(request.param)


def test_graph_takes_the_documented_input(enhancer):
    spec = enhancer.spec
    inputs = {i.name: i for i in enhancer.session.get_inputs()}
    face = enhancer.session.get_inputs()[0]
    assert face.type == "tensor(float)" and face.shape[1] == 3
    assert [side for side in face.shape[2:] if isinstance(side, int)] in ([], [spec.input_size] * 2)
    if spec.fidelity_input is not None:
        assert inputs[spec.fidelity_input].type == "tensor(double)"
    output = enhancer.session.get_outputs()[0]
    assert [side for side in output.shape[1:] if isinstance(side, int)] in ([3], [3, spec.input_size, spec.input_size])


def test_a_warm_toned_face_stays_warm_and_in_range(enhancer):
    """A face of the demo clip in the model's template: restored values stay in the documented range, and its
    red/blue balance is kept (a wrong colour order would swap it)."""
    import av

    from latentsync.face.enhancement.template_warp import similarity_to_template, warp_to_template
    from latentsync.face.landmarks import create_landmark_detector

    with av.open(str(shared_path("media", "demo1_video.mp4"))) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    detector = create_landmark_detector("mediapipe")
    try:
        five_points = detector.detect_frame(frame).five_points
    finally:
        detector.close()
    size = enhancer.input_size
    to_template = similarity_to_template(torch.tensor(five_points[None]), enhancer.template.points_at(size))
    face = warp_to_template(torch.from_numpy(frame)[None], to_template, size) / 127.5 - 1
    restored = enhancer.restore(face)
    assert restored.shape == face.shape and restored.abs().max() <= 1.0
    red_minus_blue = lambda faces: float((faces[:, 0] - faces[:, 2]).mean())  # noqa: E731
    assert red_minus_blue(face) > 0.05 and red_minus_blue(restored) > 0.5 * red_minus_blue(face)
    assert (restored - face).abs().mean() < 0.25  # a restoration, not another face
