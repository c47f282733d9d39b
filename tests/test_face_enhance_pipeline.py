"""The face hooks of ``pipe(video, audio, out)`` on the real demo clip with tiny random models: generated faces
before paste-back, and frames with their faces' points after (where face enhancement runs)."""

from __future__ import annotations

import wave

import numpy as np
import pytest
import torch

from latentsync.face.framed_faces import FramedFaces
from latentsync.face.landmarks import create_landmark_detector
from latentsync.pipelines.loading import load_lipsync_pipeline
from tests.helpers.demo_clips import decode_rgb, demo_frames, write_h264
from tests.helpers.paths import shared_path
from tests.helpers.tiny_models import TINY_RESOLUTION, write_tiny_release
from tests.helpers.x264 import x264_settings

NUM_FRAMES = 15  # 0.6 s: one 16-frame window
FACELESS = range(8, 11)  # black frames: a gap longer than max_face_gap, so they have no face
NUM_FACES = NUM_FRAMES - len(FACELESS)
CORNER = 16  # pixels the frame hook paints green


def short_clips(folder):
    """The demo's first 15 frames at quarter size (``FACELESS`` ones black) and its first 0.6 s of speech."""
    video, audio = folder / "clip.mp4", folder / "speech.wav"
    frames = [np.zeros_like(frame) if index in FACELESS else frame
              for index, frame in enumerate(demo_frames(NUM_FRAMES, step=4))]
    write_h264(video, frames)
    with wave.open(str(shared_path("media", "demo1_audio.wav"))) as source, wave.open(str(audio), "wb") as target:
        target.setparams(source.getparams())
        target.writeframes(source.readframes(round(source.getframerate() * NUM_FRAMES / 25)))
    return video, audio, frames


@pytest.mark.slow
def test_hooks_get_each_windows_faces_before_and_frames_after_paste_back(tmp_path):
    video, audio, frames = short_clips(tmp_path)
    pipeline = load_lipsync_pipeline(**write_tiny_release(tmp_path / "models"), device="cpu", dtype="float32",
                                     face_backend="mediapipe")
    seen = []

    def white_faces(faces: torch.Tensor) -> torch.Tensor:
        seen.append((tuple(faces.shape), float(faces.min()), float(faces.max())))
        return torch.ones_like(faces)

    framed = []

    def green_corner(faces: FramedFaces) -> torch.Tensor:
        framed.append(faces)
        marked = faces.frames.clone()
        marked[:, :CORNER, :CORNER] = torch.tensor([0, 255, 0], dtype=torch.uint8)
        return marked

    output = tmp_path / "out.mp4"
    report = pipeline(video=video, audio=audio, video_out_path=output, num_inference_steps=1,
                      guidance_scale=1.0, face_postprocessor=white_faces, frame_postprocessor=green_corner,
                      encoding="high_quality")
    assert report.num_output_frames == NUM_FRAMES
    # one window of the original's 16 frames (its 17 audio windows, cut at the U-Net's 16), 15 of them written:
    # the faces of the written frames and of the 16th, which shows source frame 13
    assert [shape for shape, _, _ in seen] == [(NUM_FACES + 1, 3, TINY_RESOLUTION, TINY_RESOLUTION)]
    assert all(np.isfinite([low, high]).all() and low < high for _, low, high in seen)  # the random VAE overshoots
    assert "crf=13.0" in x264_settings(output)

    outputs = decode_rgb(output)
    detector = create_landmark_detector("mediapipe")
    try:
        box = detector.detect_frame(frames[0]).box.astype(int)
    finally:
        detector.close()
    x1, y1, x2, y2 = box
    centre = outputs[0][(y1 + y2) // 2 - 5:(y1 + y2) // 2 + 5, (x1 + x2) // 2 - 5:(x1 + x2) // 2 + 5]
    assert centre.min() >= 235, "the post-processed (white) face was pasted back"

    [faces] = framed  # one window's frames with a face, after paste-back: the white face is in them already
    assert faces.frames.shape == (NUM_FACES + 1, *frames[0].shape) and faces.frames.dtype == torch.uint8
    assert faces.frames[0, (y1 + y2) // 2, (x1 + x2) // 2].min() >= 250
    assert (faces.crop_size, faces.resolution) == (pipeline.aligner.crop_size, TINY_RESOLUTION)
    assert faces.affine_matrices.shape == (NUM_FACES + 1, 2, 3) and faces.five_points.shape == (NUM_FACES + 1, 5, 2)
    (left_eye, right_eye, nose, left_mouth, right_mouth) = faces.five_points[0].tolist()
    assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in faces.five_points[0].tolist())
    assert left_eye[0] < right_eye[0] and left_mouth[0] < right_mouth[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(left_mouth[1], right_mouth[1])
    corner = outputs[0][:CORNER, :CORNER].astype(int)
    assert corner[..., 1].min() > 200 and corner[..., [0, 2]].max() < 60, "the frames the hook returned were written"
    assert all(outputs[index].max() < 30 for index in FACELESS), "faceless frames pass through unchanged"

    outside = np.ones(frames[0].shape[:2], bool)
    outside[:CORNER + 4, :CORNER + 4] = False
    height, width = y2 - y1, x2 - x1
    outside[max(0, y1 - height // 2):y2 + height // 2, max(0, x1 - width // 2):x2 + width // 2] = False
    diff = np.abs(outputs[0].astype(np.int16) - frames[0].astype(np.int16)).mean(axis=2)
    # Two lossy encodes (the test's input, then the output) leave a few levels of noise, as in test_lipsync_video.
    assert diff[outside].mean() < 2.5 and np.percentile(diff[outside], 99.9) <= 20, "pixels away from the face changed"
