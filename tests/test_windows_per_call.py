"""Several 16-frame windows per U-Net call (``inpaint(windows_per_call=K)``) give the one-window-per-call result.

Stacking windows along the batch changes only how the kernels group their work (batched convolutions, GEMMs
and attention may sum in another order), never what each window sees: same initial noise, same posterior
samples (encoded window by window, in the generator's order), same guidance arithmetic per window. So the
outputs agree to float32 rounding, amplified a little by the DDIM steps: 1e-4 on faces in [-1, 1] is ~100x
the observed difference and far below any real change (a different seed or audio moves pixels by > 1e-2).
"""

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler


from latentsync.models.unet import UNet3DConditionModel
from latentsync.pipelines.latent_inpainting import LatentInpaintingPipeline
from latentsync.pipelines.lipsync_executor import group_windows
from tests.helpers.demo_clips import decode_rgb, demo_frames, tiny_lipsync_inputs
from tests.helpers.tiny_models import tiny_unet_model_config, tiny_vae

RESOLUTION, FRAMES, AUDIO_DIM = 64, 10, 32
WINDOW = 4  # 10 frames = two full 4-frame windows + a 2-frame one (16-frame windows behave alike, slower)
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def pipeline() -> LatentInpaintingPipeline:
    torch.manual_seed(0)
    unet = UNet3DConditionModel(**tiny_unet_model_config(AUDIO_DIM)).eval()
    with torch.no_grad():  # random weights everywhere (motion modules included), so every input matters
        for p in unet.parameters():
            p.normal_(0, 0.02)
    pipe = LatentInpaintingPipeline(vae=tiny_vae(), unet=unet, scheduler=DDIMScheduler.from_pretrained("configs"),
                                    num_frames=WINDOW)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def inputs():
    torch.manual_seed(1)
    faces = torch.rand(FRAMES, 3, RESOLUTION, RESOLUTION) * 2 - 1
    mask = torch.ones(1, 1, RESOLUTION, RESOLUTION)
    mask[..., RESOLUTION // 2:, :] = 0
    audio = torch.randn(FRAMES, 10, AUDIO_DIM)
    return faces, faces * mask, mask, audio


def _run(pipeline, inputs, windows_per_call, guidance_scale, deep_cache_interval=None, seed=7):
    return pipeline.inpaint(*inputs, num_inference_steps=2, guidance_scale=guidance_scale,
                            generator=torch.Generator().manual_seed(seed), deep_cache_interval=deep_cache_interval,
                            windows_per_call=windows_per_call)


@pytest.mark.parametrize("guidance_scale", [1.0, 1.5])
@pytest.mark.parametrize("deep_cache_interval", [None, 2])
@pytest.mark.slow
def test_batched_windows_equal_one_window_per_call(pipeline, inputs, guidance_scale, deep_cache_interval):
    calls = []
    pipeline.unet.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[0]))
    one = _run(pipeline, inputs, 1, guidance_scale, deep_cache_interval)
    two = _run(pipeline, inputs, 2, guidance_scale, deep_cache_interval)
    pipeline.unet._forward_pre_hooks.clear()
    branches = 2 if guidance_scale > 1 else 1
    full_steps = 1 if deep_cache_interval else 2  # DeepCache: step 0 refreshes, step 1 is shallow
    # three windows one by one, then the two full windows as one batch and the 2-frame window alone
    assert calls == [branches] * 3 * full_steps + [2 * branches] * full_steps + [branches] * full_steps
    assert two.shape == one.shape == inputs[0].shape
    assert (two - one).abs().max() < TOLERANCE
    other_seed = _run(pipeline, inputs, 2, guidance_scale, deep_cache_interval, seed=8)
    assert (other_seed - one).abs().max() > 100 * TOLERANCE  # the tolerance can tell real changes apart


def test_more_windows_per_call_than_windows(pipeline, inputs):
    faces, masked, mask, audio = inputs
    short = (faces[:8], masked[:8], mask, audio[:8])  # exactly two full windows, no remainder
    assert (_run(pipeline, short, 5, 1.5) - _run(pipeline, short, 1, 1.5)).abs().max() < TOLERANCE


def test_rejects_zero_windows_per_call(pipeline, inputs):
    with pytest.raises(ValueError, match="windows_per_call"):
        _run(pipeline, inputs, 0, 1.5)


@pytest.mark.parametrize("flags, windows_per_call, expected", [
    ([True, True, False, True, True, True], 2, [[0, 1], [2], [3, 4], [5]]),
    ([True, True, True, False], 4, [[0, 1, 2], [3]]),
    ([False, True, True], 2, [[0], [1, 2]]),
    ([True, True, True], 1, [[0], [1], [2]]),
    ([], 3, []),
])
def test_group_windows(flags, windows_per_call, expected):
    assert list(group_windows(flags, windows_per_call)) == expected


# The video call: 48 source frames (four black ones in the third window), 56 output frames, so windows
# 0-15 | 16-31 | 32-47 (4 faceless) | 48-55: with 2 windows per call, windows 0 and 1 share a call.
SOURCE_FRAMES, OUTPUT_FRAMES, BLACK_FRAMES = 48, 56, range(36, 40)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    frames = [np.zeros_like(frame) if index in BLACK_FRAMES else frame
              for index, frame in enumerate(demo_frames(SOURCE_FRAMES, step=2))]
    yield from tiny_lipsync_inputs(tmp_path_factory.mktemp("windows_per_call"), frames, OUTPUT_FRAMES)


def _lipsync(clip, windows_per_call):
    pipeline, video, audio, work = clip
    generated = []

    def keep_faces(faces):  # called once per U-Net call, right before paste-back
        generated.append(faces.clone())
        return faces

    output = work / f"out_{windows_per_call}.mp4"
    report = pipeline(video=video, audio=audio, video_out_path=output, num_inference_steps=2,
                      guidance_scale=1.5, face_postprocessor=keep_faces, windows_per_call=windows_per_call)
    return report, generated, np.stack(decode_rgb(output))


@pytest.mark.slow
def test_video_call_batches_complete_windows_with_the_same_result(clip):
    report, one_per_call, frames = _lipsync(clip, 1)
    batched_report, two_per_call, batched_frames = _lipsync(clip, 2)
    assert report.num_output_frames == batched_report.num_output_frames == OUTPUT_FRAMES
    assert report.frames_without_face == batched_report.frames_without_face == len(BLACK_FRAMES)
    assert [len(faces) for faces in one_per_call] == [16, 16, 12, 8]
    assert [len(faces) for faces in two_per_call] == [32, 12, 8]  # faceless and short windows run alone
    difference = (torch.cat(two_per_call) - torch.cat(one_per_call)).abs().max()
    assert difference < TOLERANCE, difference
    # Faces equal to float noise paste to frames that differ by a rounding level at most, which the encoder
    # may spread over a few blocks; a real change (another seed) moves the mouths by tens of levels.
    frame_difference = np.abs(batched_frames.astype(int) - frames).mean()
    assert frame_difference < 0.5, frame_difference
