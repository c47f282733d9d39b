"""``align_dtype``: the whole inference with the original's float16 face crop and paste-back.

The original's pipeline differs from this one's default run, where faces are concerned, only in its aligner's
precision (float16 on the GPU). So "the original's pipeline run" here is this pipeline with its crop and
paste-back replaced by a plain whole-frame transcription of the original's ``AlignRestore``
(``tests/helpers/original_aligner.py``) in float16; everything else (landmarks, matrices, noise, models) is shared.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentsync.face.warp import ALIGN_DTYPES
from tests.helpers.demo_clips import demo_frames, tiny_lipsync_inputs
from tests.helpers.original_aligner import crop_face, paste_face

NUM_SOURCE_FRAMES = 8
NUM_OUTPUT_FRAMES = 20  # two windows, the video played forward, backward and forward again
WINDOW = 16


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Full-size demo frames (1080x1920): translations near 1000 px, where float16 rounds to whole pixels."""
    yield from tiny_lipsync_inputs(tmp_path_factory.mktemp("precision"), demo_frames(NUM_SOURCE_FRAMES, step=1),
                                   NUM_OUTPUT_FRAMES)


def with_original_aligner(pipeline, monkeypatch) -> None:
    """Crop and paste back the faces of ``pipeline`` with the transcription of the original's aligner."""
    crop_size, resolution = pipeline.aligner.crop_size, pipeline.config.resolution

    def align_faces(frames, matrices, align_dtype):
        faces = [crop_face(frame, matrix, crop_size, resolution, ALIGN_DTYPES[align_dtype])
                 for frame, matrix in zip(frames.numpy(), matrices)]
        return torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2)

    def paste_back(frames, faces, matrices, in_place, align_dtype):
        pasted = [paste_face(frame, face, matrix, crop_size, ALIGN_DTYPES[align_dtype])
                  for frame, face, matrix in zip(frames.numpy(), faces, matrices)]
        return torch.from_numpy(np.stack(pasted))

    monkeypatch.setattr(pipeline, "align_faces", align_faces)
    monkeypatch.setattr(pipeline, "paste_back", paste_back)


def lipsync(pipeline, video, audio, align_dtype: str) -> np.ndarray:
    report = pipeline(video, audio, num_inference_steps=1, guidance_scale=1.0, seed=3, align_dtype=align_dtype)
    assert report.frames.shape == (NUM_OUTPUT_FRAMES, 1920, 1080, 3) and report.frames_generated == NUM_OUTPUT_FRAMES
    return report.frames.astype(np.int16)


def worst_per_window(a: np.ndarray, b: np.ndarray) -> list[int]:
    return [int(np.abs(a[start:start + WINDOW] - b[start:start + WINDOW]).max())
            for start in range(0, len(a), WINDOW)]


@pytest.mark.slow
def test_float16_alignment_gives_the_original_pipelines_frames(inputs, monkeypatch):
    pipeline, video, audio, _ = inputs
    ours = {dtype: lipsync(pipeline, video, audio, dtype) for dtype in ALIGN_DTYPES}
    with monkeypatch.context() as patch:
        with_original_aligner(pipeline, patch)
        original = lipsync(pipeline, video, audio, "float16")
    # float16: within 2 levels of the original's run, in every window (float32 crops match the original's float32
    # aligner in tests/parity/test_face_alignment.py).
    assert max(worst_per_window(ours["float16"], original)) <= 2, worst_per_window(ours["float16"], original)
    # The switch matters: float32 frames are further from the original's float16 run than that, in every window.
    assert min(worst_per_window(ours["float32"], original)) > 2
    assert min(worst_per_window(ours["float32"], ours["float16"])) > 2
