"""``--speaker``: face tracks and the choice of face in a two-person video built from the demo clips, tiny models.

The video: a blank strip, then demo1's face (smaller, nearer the centre), then demo2's face (larger). Its
soundtracks are synthetic speech-like noise whose loudness follows one face's lip opening (the demo clips' own
audio does not follow their lips, so it could not tell the speakers apart).
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from latentsync.cli import inference
from latentsync.errors import InputError
from latentsync.face import speaker_selection
from latentsync.face.landmarks import DetectedFace, create_landmark_detector
from latentsync.face.landmarks.detector import largest_face
from latentsync.face.speaker_choice import SpeakerChoice
from latentsync.face.speaker_selection import SpeakerSelector, link_speaker_tracks
from latentsync.io.video_reader import VideoReader
from latentsync.io.video_writer import VideoWriter
from latentsync.pipelines import lipsync_plan
from latentsync.pipelines.loading import load_lipsync_pipeline
from tests.helpers.demo_clips import decode_rgb, write_demo_speech
from tests.helpers.paths import shared_path
from tests.helpers.tiny_models import write_tiny_release

NUM_FRAMES = 40
NUM_OUTPUT_FRAMES = 8
TILE = 160  # each face tile is TILE x TILE pixels
STRIP = 80  # blank columns left of the faces, so that the smaller face (demo1) is the central one
LEFT, RIGHT = "left", "right"
COLUMNS = {LEFT: slice(STRIP, STRIP + TILE), RIGHT: slice(STRIP + TILE, STRIP + 2 * TILE)}  # each face's


def face_tile(name: str, centre_x: int, centre_y: int) -> list[np.ndarray]:
    """A 640-pixel square around the face of a demo clip, scaled to TILE."""
    frames = itertools.islice(VideoReader(shared_path("media", name)).frames(), NUM_FRAMES)
    return [cv2.resize(frame[centre_y - 320:centre_y + 320, centre_x - 320:centre_x + 320], (TILE, TILE),
                       interpolation=cv2.INTER_AREA) for frame in frames]


def speech_following(openings: np.ndarray, seed: int = 0) -> np.ndarray:
    """16 kHz noise whose loudness per 40 ms frame rises and falls with ``openings``."""
    envelope = np.repeat(0.02 + np.asarray(openings), 640)
    return (np.random.default_rng(seed).uniform(-1, 1, len(envelope)) * envelope).astype(np.float32)


def write_video(path, frames, audio):
    with VideoWriter(path, audio=audio, crf=10, preset="ultrafast") as writer:
        for frame in frames:
            writer.write(frame)
    return path


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory):
    """(work folder, frames, detections of every face, per-face lip openings, a video for each face's speech)."""
    work = tmp_path_factory.mktemp("speakers")
    strip = np.zeros((TILE, STRIP, 3), dtype=np.uint8)
    frames = [np.concatenate([strip, left, right], axis=1) for left, right in
              zip(face_tile("demo1_video.mp4", 590, 725), face_tile("demo2_video.mp4", 545, 480))]
    detector = create_landmark_detector("mediapipe")
    try:
        detections = detector.detect_all(frames)
        largest = detector.detect(frames)
    finally:
        detector.close()
    assert all(len(faces) == 2 for faces in detections), "the test video must show both faces in every frame"
    openings = {side: np.array([next(face.mouth_opening for face in faces if is_on(face, side))
                                for faces in detections]) for side in (LEFT, RIGHT)}
    videos = {side: write_video(work / f"{side}_speaks.mp4", frames, speech_following(openings[side]))
              for side in (LEFT, RIGHT)}
    return work, frames, detections, largest, openings, videos


def is_on(face: DetectedFace, side: str) -> bool:
    return COLUMNS[side].start <= (face.box[0] + face.box[2]) / 2 < COLUMNS[side].stop


def test_speaker_values_parse_or_name_the_right_form():
    assert SpeakerChoice.parse("point:320,180@2.5") == SpeakerChoice("point", 320, 180, 2.5)
    assert str(SpeakerChoice.parse(" point: 12, 7 ")) == "point:12,7"
    assert SpeakerChoice.parse("active").mode == "active" and str(SpeakerChoice()) == "largest"
    with pytest.raises(InputError, match=r"point:X,Y\[@SECONDS\]"):
        SpeakerChoice.parse("loudest")
    assert inference.parse_args(["--video_path", "v", "--audio_path", "a", "--video_out_path", "o", "--speaker",
                                 "point:5,6"]).speaker == SpeakerChoice("point", 5, 6)
    with pytest.raises(SystemExit):
        inference.parse_args(["--video_path", "v", "--audio_path", "a", "--video_out_path", "o", "--speaker", "x"])


def test_detectors_see_every_face_and_keep_the_largest_as_before(two_faces):
    _, _, detections, largest, _, _ = two_faces
    for faces, kept in zip(detections, largest):
        assert kept is largest_face(faces) or np.array_equal(kept.points, largest_face(faces).points)
        assert is_on(kept, RIGHT)  # demo2's face is the larger one


def test_tracks_follow_each_face_break_at_long_gaps_and_at_scene_cuts(two_faces):
    _, _, detections, _, _, _ = two_faces
    tracks = link_speaker_tracks(detections, [(0, NUM_FRAMES)], max_face_gap=2)
    assert [len(track.faces) for track in tracks] == [NUM_FRAMES, NUM_FRAMES]
    assert all(len({is_on(face, LEFT) for face in track.faces.values()}) == 1 for track in tracks)
    assert len(link_speaker_tracks(detections, [(0, 20), (20, NUM_FRAMES)], max_face_gap=2)) == 4
    gappy = [faces if not 10 <= index < 13 else [] for index, faces in enumerate(detections)]
    assert len(link_speaker_tracks(gappy, [(0, NUM_FRAMES)], max_face_gap=3)) == 2  # a 3-frame gap is survived
    assert len(link_speaker_tracks(gappy, [(0, NUM_FRAMES)], max_face_gap=2)) == 4  # but not with max_face_gap 2


@pytest.mark.parametrize("speaking", [LEFT, RIGHT])
def test_active_speaker_is_the_face_whose_lips_follow_the_soundtrack(two_faces, speaking, caplog):
    _, _, detections, _, _, videos = two_faces
    tracks = link_speaker_tracks(detections, [(0, NUM_FRAMES)], max_face_gap=2)
    with caplog.at_level("INFO", logger=speaker_selection.__name__):
        (chosen,) = SpeakerSelector("active").choose(tracks, [(0, NUM_FRAMES)], (400, 160),
                                                     VideoReader(videos[speaking]))
    assert all(is_on(face, speaking) for face in chosen.faces.values())
    assert "track 0" in caplog.text and "track 1" in caplog.text and f"chose track {chosen.number}" in caplog.text


def test_active_speaker_is_decided_per_scene(two_faces):
    work, frames, detections, _, openings, _ = two_faces
    half = NUM_FRAMES // 2  # the left face speaks in the first scene, the right one in the second
    video = write_video(work / "turns.mp4", frames,
                        speech_following(np.concatenate([openings[LEFT][:half], openings[RIGHT][half:]])))
    scenes = [(0, half), (half, NUM_FRAMES)]
    first, second = SpeakerSelector("active").choose(link_speaker_tracks(detections, scenes, 2), scenes, (400, 160),
                                                     VideoReader(video))
    assert all(is_on(face, LEFT) for face in first.faces.values()) and max(first.faces) < half
    assert all(is_on(face, RIGHT) for face in second.faces.values()) and min(second.faces) >= half


def test_syncnet_scores_the_tracks_when_its_weights_are_there(two_faces, tmp_path, monkeypatch):
    _, _, detections, _, _, videos = two_faces
    calls = []

    def stand_in(crops, audio):  # scores the second track best, against the loudness fallback's answer
        calls.append((crops.shape, len(audio)))
        return float(len(calls))

    monkeypatch.setattr(speaker_selection, "syncnet_scorer", lambda weights, device: stand_in)
    (tmp_path / "syncnet_v2.model").write_bytes(b"")
    tracks = link_speaker_tracks(detections, [(0, NUM_FRAMES)], max_face_gap=2)
    (chosen,) = SpeakerSelector("active", syncnet_path=tmp_path / "syncnet_v2.model").choose(
        tracks, [(0, NUM_FRAMES)], (400, 160), VideoReader(videos[LEFT]))
    assert calls == [((NUM_FRAMES, 224, 224, 3), NUM_FRAMES * 640)] * 2
    assert chosen is tracks[1]


def test_a_point_without_a_face_is_a_clear_error(two_faces):
    _, _, detections, _, _, videos = two_faces
    tracks = link_speaker_tracks(detections, [(0, NUM_FRAMES)], max_face_gap=2)
    with pytest.raises(InputError, match=r"contains pixel \(10, 80\) at 0.4 s \(frame 10\); give a point inside"):
        SpeakerSelector("point:10,80@0.4").choose(tracks, [(0, NUM_FRAMES)], (400, 160), VideoReader(videos[LEFT]))


@pytest.fixture(scope="module")
def lipsynced(two_faces):
    """(source frames, speaker -> output frames of a short run of the tiny pipeline, detections)."""
    work, _, detections, _, _, videos = two_faces
    pipeline = load_lipsync_pipeline(**write_tiny_release(work / "models"), device="cpu", dtype="float32",
                                     face_backend="mediapipe")
    speech = write_demo_speech(work / "speech.wav", NUM_OUTPUT_FRAMES)
    source = decode_rgb(videos[LEFT])
    outputs = {}
    try:
        for speaker in ("largest", "center", "point:330,70@0.2"):
            output = work / f"{speaker.replace(':', '_')}.mp4"
            with pytest.MonkeyPatch.context() as patch:
                if speaker == "largest":  # the default: no speaker pass, the detector's own largest face
                    patch.setattr(lipsync_plan, "SpeakerSelector", None)
                    settings = {}
                else:
                    settings = {"speaker": speaker}
                pipeline(video=videos[LEFT], audio=speech, video_out_path=output, num_inference_steps=1,
                         guidance_scale=1.0, encoding="fast", **settings)
            outputs[speaker] = decode_rgb(output)
    finally:
        pipeline.close()
    return source, outputs, detections


def changed(source, output, detections, side: str) -> float:
    """Mean absolute difference inside a face's box between source and output frames."""
    differences = []
    for before, after, faces in zip(source, output, detections):
        x1, y1, x2, y2 = next(face.box for face in faces if is_on(face, side)).astype(int)
        differences.append(np.abs(before[y1:y2, x1:x2].astype(int) - after[y1:y2, x1:x2].astype(int)).mean())
    return float(np.mean(differences))


@pytest.mark.parametrize(("speaker", "chosen", "other"), [("largest", RIGHT, LEFT), ("center", LEFT, RIGHT),
                                                           ("point:330,70@0.2", RIGHT, LEFT)])
@pytest.mark.slow
def test_only_the_chosen_face_is_lip_synced(lipsynced, speaker, chosen, other):
    source, outputs, detections = lipsynced
    output = outputs[speaker]
    assert len(output) == NUM_OUTPUT_FRAMES
    assert changed(source, output, detections, other) < 4  # encoding noise (about 2.5 here)
    assert changed(source, output, detections, chosen) > 4 * changed(source, output, detections, other)
