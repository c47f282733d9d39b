"""Pasting a generated face back into the frame against the reference fixtures (README B.5, B.6)."""

import json

import numpy as np
import pytest
import torch

from latentsync.face.alignment import crop_size
from latentsync.face.paste_back import (
    BlendMasks,
    blend_masks_from_coverage,
    paste_faces_back,
    paste_window,
    resize_faces_to_crop,
)
from latentsync.face.warp import Window, invert_affine, warp_affine
from latentsync.pipelines.latent_inpainting import keep_unmasked_pixels
from tests.helpers.face_data import (
    FRAME_SIZE,
    ROI_WINDOW,
    assert_u8_close,
    face_path,
    read_rgb,
    roi_frame,
    tolerances,
)

RESOLUTIONS = (256, 512)


def generated_face(*parts: str) -> torch.Tensor:
    """The fixture's "generated" face (lower half flipped) as (1, 3, res, res) float32 in [-1, 1]."""
    face_u8 = torch.from_numpy(read_rgb(*parts)).permute(2, 0, 1)[None]
    return (face_u8 / 255.0 - 0.5) / 0.5


def frame0_matrix(resolution: int) -> torch.Tensor:
    return torch.from_numpy(np.load(face_path("align", str(resolution), "align.npz"))["affine"][:1])


def blend_masks(affine_matrices: torch.Tensor, crop_size: tuple[int, int], frame_size: tuple[int, int],
                window: Window) -> BlendMasks:
    """Paste-back's masks over ``window`` from the matrices alone, as the reference makes them: the all-ones crop
    warped into the frame, then feathered (paste-back takes the same coverage from its face warp)."""
    crop_w, crop_h = crop_size
    crop_masks = torch.ones((len(affine_matrices), 1, crop_h, crop_w), device=affine_matrices.device)
    return blend_masks_from_coverage(warp_affine(crop_masks, invert_affine(affine_matrices), frame_size, window=window))


def roi(image: np.ndarray) -> np.ndarray:
    top, left, bottom, right = ROI_WINDOW
    return image[top:bottom, left:right]


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_face_resized_to_crop_box(resolution):
    expected = np.load(face_path("align", str(resolution), "restore.npz"))
    face = generated_face("align", str(resolution), "restore_face_in_u8.png")
    box_face = resize_faces_to_crop(face, crop_size(resolution))[0].numpy()
    tolerance = tolerances()["boxsize_resize_abs"]
    if resolution == 256:
        np.testing.assert_allclose(box_face, expected["face_boxsize"], atol=tolerance, rtol=0)
    else:
        window = expected["face_boxsize_window_rows200_328_cols150_278"]
        np.testing.assert_allclose(box_face[:, 200:328, 150:278], window, atol=tolerance, rtol=0)
    total, minimum, maximum = expected["face_boxsize_stats_sum_min_max"]
    assert box_face.min() == pytest.approx(minimum, abs=tolerance) and minimum < -1  # no clamping before the warp
    assert box_face.max() == pytest.approx(maximum, abs=tolerance)
    assert box_face.astype(np.float64).sum() == pytest.approx(total, abs=box_face.size * tolerance)


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_blend_masks(resolution):
    expected = np.load(face_path("align", str(resolution), "restore.npz"))
    masks = blend_masks(frame0_matrix(resolution), crop_size(resolution), FRAME_SIZE, ROI_WINDOW)
    # The mask edges are bilinear weights of a warp at frame coordinates up to ~1000 px, where one float32 ulp is
    # 6e-5 px; on some CPUs (different SIMD paths in the warp) edge weights move by up to 2.1e-4 (measured), so
    # the recommended 1e-4 is doubled plus margin. Interiors are exact 0/1 either way.
    tolerance = 3 * tolerances()["soft_mask_abs"]
    np.testing.assert_allclose(masks.eroded[0, 0].numpy(), expected["inv_mask_erosion_roi"], atol=tolerance, rtol=0)
    np.testing.assert_allclose(masks.center[0, 0].numpy(), expected["inv_mask_center_roi"], atol=tolerance, rtol=0)
    np.testing.assert_allclose(masks.soft[0, 0].numpy(), expected["soft_mask_roi"], atol=tolerance, rtol=0)
    meta = json.loads(face_path("meta_gen.json").read_text())["restore"][str(resolution)]
    assert masks.eroded.sum().item() == pytest.approx(meta["total_face_area"], abs=0.05)


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_restored_frame(resolution):
    tol = tolerances()
    frame = roi_frame(0)
    face = generated_face("align", str(resolution), "restore_face_in_u8.png")
    matrix = frame0_matrix(resolution)
    restored = paste_faces_back(torch.from_numpy(frame)[None], face, matrix, crop_size(resolution))[0].numpy()
    expected = read_rgb("align", str(resolution), "restore_out_roi.png")
    assert_u8_close(roi(restored), expected, tol["u8_max_abs"], tol["u8_frac_differ"])
    top, left, bottom, right = ROI_WINDOW
    restored[top:bottom, left:right] = frame[top:bottom, left:right]
    np.testing.assert_array_equal(restored, frame)  # nothing outside the ROI changes


def test_paste_window_bounds_the_footprint():
    top, left, bottom, right = paste_window(frame0_matrix(256), crop_size(256), FRAME_SIZE)
    roi_top, roi_left, roi_bottom, roi_right = ROI_WINDOW
    assert roi_top <= top < bottom <= roi_bottom and roi_left <= left < right <= roi_right


def test_restore_over_the_image_border():
    """Edge case: the face footprint leaves the image; the whole 357x311 image is the frame."""
    expected = np.load(face_path("align", "edge256", "edge.npz"))
    tol = tolerances()
    image = read_rgb("align", "frames_roi", "frame0_roi.png")
    matrix = torch.from_numpy(expected["affine"])[None]
    masks = blend_masks(matrix, crop_size(256), image.shape[:2], (0, 0, *image.shape[:2]))
    np.testing.assert_allclose(masks.eroded[0, 0].numpy(), expected["inv_mask_erosion"], atol=tol["soft_mask_abs"])
    np.testing.assert_allclose(masks.soft[0, 0].numpy(), expected["soft_mask"], atol=tol["soft_mask_abs"])
    face = generated_face("align", "edge256", "restore_face_in_u8.png")
    restored = paste_faces_back(torch.from_numpy(image)[None], face, matrix, crop_size(256))[0].numpy()
    assert_u8_close(restored, read_rgb("align", "edge256", "restore_out.png"), tol["u8_max_abs"], tol["u8_frac_differ"])


def test_batch_equals_single_frames():
    """A batch shares one paste window; each frame must still come out as if restored alone."""
    matrices = torch.from_numpy(np.load(face_path("align", "256", "align.npz"))["affine"][[0, 5]])
    frames = torch.from_numpy(np.stack([roi_frame(0), roi_frame(5)]))
    faces = torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(0)) * 2 - 1
    batched = paste_faces_back(frames, faces, matrices, crop_size(256))
    for index in range(2):
        one = slice(index, index + 1)
        single = paste_faces_back(frames[one], faces[one], matrices[one], crop_size(256))
        torch.testing.assert_close(batched[index], single[0], atol=0, rtol=0)


def test_keep_unmasked_pixels():
    decoded = torch.full((1, 3, 2, 2), 0.5, dtype=torch.float16)
    original = torch.full((1, 3, 2, 2), -1.0)
    masks = torch.tensor([[[[1.0, 0.0], [0.25, 1.0]]]], dtype=torch.float64)  # 1 = keep the original
    pasted = keep_unmasked_pixels(decoded, original, masks)
    assert pasted.dtype == torch.float16
    expected = torch.tensor([[-1.0, 0.5], [0.125, -1.0]], dtype=torch.float16)
    torch.testing.assert_close(pasted[0, 0], expected)
