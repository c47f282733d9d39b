"""``pipe(video, audio, out)`` end to end on the real demo clip: demo1 video (with black frames) + demo2 audio, tiny models."""

from fractions import Fraction

import av
import numpy as np
import pytest
from scipy.io import wavfile

from latentsync.face.landmarks import create_landmark_detector
from latentsync.face.tracking import fill_face_gaps
from latentsync.io.audio_reader import load_audio
from latentsync.pipelines.frame_plan import source_frame_index
from latentsync.pipelines.loading import load_lipsync_pipeline
from tests.helpers.demo_clips import decode_rgb, demo_frames, write_h264
from tests.helpers.paths import shared_path
from tests.helpers.tiny_models import TINY_RESOLUTION, write_tiny_release

NUM_SOURCE_FRAMES = 60
BLACK_FRAMES = range(30, 34)  # four in a row: longer than the gap that may borrow neighbours' landmarks
AUDIO_SECONDS = 6.4  # the first 6.4 s of demo2_audio.wav: 160 frames, the 60-frame video bounces twice


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One lip-sync run shared by the tests: (input frames as decoded, output path, report, progress calls,
    shapes the face post-processor saw)."""
    work = tmp_path_factory.mktemp("e2e")
    audio = work / "demo2 speech.wav"
    wavfile.write(audio, 16000, load_audio(shared_path("media", "demo2_audio.wav"))[: round(AUDIO_SECONDS * 16000)])
    video = work / "demo1 half; 'quoted'.mp4"  # a path a shell would mangle
    frames = demo_frames(NUM_SOURCE_FRAMES, step=2)
    for index in BLACK_FRAMES:
        frames[index] = np.zeros_like(frames[index])
    write_h264(video, frames)
    pipeline = load_lipsync_pipeline(**write_tiny_release(work / "models"), device="cpu", dtype="float32",
                                     face_backend="mediapipe")
    output = work / "out put.mp4"
    stages, postprocessed = [], []

    def face_postprocessor(faces):  # stands for face enhancement: sees each window's faces before paste-back
        postprocessed.append(faces.shape)
        return faces

    report = pipeline(video=video, audio=audio, video_out_path=output, num_inference_steps=1,
                      guidance_scale=1.0, seed=-1, face_postprocessor=face_postprocessor,
                      progress=lambda stage, fraction: stages.append((stage, fraction)))
    return decode_rgb(video), output, report, stages, postprocessed


@pytest.mark.slow
def test_output_has_audio_and_lasts_as_long_as_the_audio(run):
    _, output, report, _, _ = run
    assert output.is_file()
    assert not list(output.parent.glob(".*partial*")), "temporary file left behind"
    with av.open(str(output)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert audio.codec_context.name == "aac" and video.codec_context.name == "h264"
        assert (video.width, video.height) == (540, 960) and video.average_rate == Fraction(25)
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == report.num_output_frames == round(AUDIO_SECONDS * 25)
    assert 0 <= report.seed < 2**32  # --seed -1: a drawn seed, reported so the run can be repeated
    assert abs(decoded / 25 - AUDIO_SECONDS) <= 1 / 25
    with av.open(str(output)) as container:
        audio_seconds = sum(f.samples for f in container.decode(audio=0)) / container.streams.audio[0].sample_rate
    assert abs(audio_seconds - AUDIO_SECONDS) <= 1 / 25


@pytest.mark.slow
def test_only_the_face_changes_and_faceless_frames_pass_through(run):
    frames, output, report, _, _ = run
    outputs = decode_rgb(output)
    # The audio is longer than the 60-frame video: it plays forward, backward, forward...
    sources = [source_frame_index(k, NUM_SOURCE_FRAMES) for k in range(len(outputs))]
    black_outputs = [k for k, s in enumerate(sources) if s in BLACK_FRAMES]
    assert report.frames_without_face == len(black_outputs) > 0
    for k in black_outputs:
        assert outputs[k].max() <= 8, "a frame without a face must pass through unchanged"
    detector = create_landmark_detector("mediapipe")
    try:
        for k in (0, 17, 75, 130):
            source = frames[sources[k]].astype(np.int16)
            x1, y1, x2, y2 = detector.detect_frame(frames[sources[k]]).box.astype(int)
            margin_x, margin_y = (x2 - x1) // 2, (y2 - y1) // 2
            outside = np.ones(source.shape[:2], bool)
            outside[max(0, y1 - margin_y):y2 + margin_y, max(0, x1 - margin_x):x2 + margin_x] = False
            diff = np.abs(outputs[k].astype(np.int16) - source).mean(axis=2)
            # Two lossy encodes (the test's input, then the output) leave ~1.5 levels of noise.
            assert diff[outside].mean() < 2.5 and np.percentile(diff[outside], 99.9) <= 20, k
            assert diff[~outside].mean() > 4 * diff[outside].mean(), k  # the random model did paint the mouth
    finally:
        detector.close()


@pytest.mark.slow
def test_progress_reports_every_stage(run):
    stages = run[3]
    assert [s for s, _ in stages].count("detecting faces") >= 2
    assert stages[-1] == ("generating", 1.0)
    fractions = [f for s, f in stages if s == "generating"]
    assert fractions == sorted(fractions)


@pytest.mark.slow
def test_face_postprocessor_gets_every_generated_face(run):
    _, _, report, _, postprocessed = run
    assert all(shape[1:] == (3, TINY_RESOLUTION, TINY_RESOLUTION) for shape in postprocessed)
    assert sum(shape[0] for shape in postprocessed) == report.num_output_frames - report.frames_without_face


def test_short_detector_gaps_borrow_nearest_landmarks():
    a, b = np.zeros((3, 2)), np.ones((3, 2))
    filled = fill_face_gaps([a, None, None, b, None, None, None, b, None], max_gap=2)
    assert filled[1] is a and filled[2] is b
    assert filled[4:7] == [None, None, None]  # a gap of three stays untouched
    assert filled[8] is b
    assert fill_face_gaps([None, None], max_gap=2) == [None, None]


@pytest.mark.slow
def test_video_without_any_face_fails_before_generation(tmp_path):
    from latentsync.errors import InputError
    from tests.helpers.synthetic_video import write_constant_rate_video

    video = write_constant_rate_video(tmp_path / "no face.mp4", fps=25, seconds=0.6)
    pipeline = load_lipsync_pipeline(**write_tiny_release(tmp_path / "models"), device="cpu", dtype="float32",
                                     face_backend="mediapipe")
    calls = []
    pipeline.unet.register_forward_pre_hook(lambda *_: calls.append(1))
    output = tmp_path / "out.mp4"
    with pytest.raises(InputError, match="no face was found in any frame of .*no face.mp4"):
        pipeline(video=video, audio=shared_path("media", "demo1_audio.wav"), video_out_path=output)
    assert not calls and not output.exists()
    detector = pipeline.landmark_detector  # created by that run, kept for the next one
    with pytest.raises(InputError):
        pipeline(video=video, audio=shared_path("media", "demo1_audio.wav"), video_out_path=output)
    assert pipeline.landmark_detector is detector
    pipeline.close()
