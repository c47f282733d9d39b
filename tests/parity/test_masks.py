"""The generated mouth mask, mask loading, latent masks and the UNet's masked inputs (README A, C)."""

import hashlib

import numpy as np
import pytest
import torch

from latentsync.errors import InputError
from latentsync.face.mask import load_fixed_mask, prepare_masks_and_masked_images
from latentsync.face.mask_image import MASK_NAMES, fixed_mask_image
from latentsync.pipelines.latent_inpainting import mask_to_latent_size
from tests.helpers.face_data import NUM_FRAMES, face_path, read_rgb

MIN_IOU = 0.98  # measured at 256 and 512: 0.998 (mask), 0.998 (mask2), 0.997 (mask3), 0.999 (mask4)


def inpaint_iou(mask: np.ndarray, reference: np.ndarray) -> float:
    """IoU of the inpaint regions (values below one half), the part of the mask that matters."""
    ours, theirs = mask < 0.5, reference < 0.5
    return (ours & theirs).sum() / (ours | theirs).sum()


@pytest.fixture(scope="module")
def loaded_u8() -> dict[str, np.ndarray]:
    return dict(np.load(face_path("masks", "masks_loaded_u8.npz")))


@pytest.mark.parametrize("name", MASK_NAMES)
def test_generated_image_format(name):
    image = fixed_mask_image(name)
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    assert set(np.unique(image)) == {0, 255}
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 0] == image[..., 2]).all()


def test_the_original_four_masks_and_the_default():
    assert MASK_NAMES == ("mask", "mask2", "mask3", "mask4")
    np.testing.assert_array_equal(load_fixed_mask(256).numpy(), load_fixed_mask(256, mask_name="mask").numpy())


@pytest.mark.parametrize("name", MASK_NAMES)
@pytest.mark.parametrize("resolution", (256, 512))
def test_generated_mask_matches_reference(loaded_u8, name, resolution):
    mask = load_fixed_mask(resolution, mask_name=name)
    assert mask.shape == (3, resolution, resolution) and mask.dtype == torch.float64
    reference = loaded_u8[f"{name}_{resolution}"][..., 0] / 255.0
    assert inpaint_iou(mask[0].numpy(), reference) >= MIN_IOU
    # Each generated mask is closer to its own PNG than to any other of the four.
    others = [inpaint_iou(mask[0].numpy(), loaded_u8[f"{other}_{resolution}"][..., 0] / 255.0)
              for other in MASK_NAMES if other != name]
    assert max(others) < 0.9


def test_unknown_mask_name_is_an_input_error():
    with pytest.raises(InputError, match="mask5.*mask2"):
        load_fixed_mask(256, mask_name="mask5")


@pytest.mark.parametrize("name", MASK_NAMES)
@pytest.mark.parametrize("resolution", (256, 512))
def test_custom_mask_loading(loaded_u8, name, resolution):
    mask = load_fixed_mask(resolution, face_path("masks", f"{name}.png"))
    expected = loaded_u8[f"{name}_{resolution}"].transpose(2, 0, 1) / 255.0
    assert mask.dtype == torch.float64
    np.testing.assert_array_equal(mask.numpy(), expected)


def test_missing_custom_mask_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="nowhere.png"):
        load_fixed_mask(256, tmp_path / "nowhere.png")


@pytest.mark.parametrize("resolution", (256, 512))
def test_latent_mask(resolution):
    masks = load_fixed_mask(resolution, face_path("masks", "mask.png"))[0:1][None]
    latent = mask_to_latent_size(masks)
    expected = np.load(face_path("masks", "mask_latent.npz"))[f"mask_{resolution}_latent"]
    assert latent.shape == (1, 1, resolution // 8, resolution // 8)
    np.testing.assert_array_equal(latent[0, 0].numpy().astype(np.float32), expected)  # stored as float32


def test_prepare_masks_and_masked_images():
    expected = np.load(face_path("prepare", "prepare_256.npz"))
    faces = torch.from_numpy(np.stack([read_rgb("align", "256", f"face_f{i}.png") for i in range(NUM_FRAMES)]))
    mask = load_fixed_mask(256, face_path("masks", "mask.png"))
    pixel_values, masked_pixel_values, masks = prepare_masks_and_masked_images(faces.permute(0, 3, 1, 2), mask)

    assert (pixel_values.dtype, masked_pixel_values.dtype, masks.dtype) == (torch.float32, torch.float64, torch.float64)
    assert masks.shape == (NUM_FRAMES, 1, 256, 256)
    np.testing.assert_array_equal(pixel_values.numpy(), expected["pixel_values"])
    np.testing.assert_array_equal(masked_pixel_values.numpy().astype(np.float32), expected["masked_pixel_values"])
    np.testing.assert_array_equal(masks.numpy().astype(np.float32), expected["masks"])
    masked_sha256 = hashlib.sha256(masked_pixel_values.numpy().tobytes()).hexdigest()
    assert masked_sha256 == expected["masked_pixel_values_f64_sha256"]
    assert hashlib.sha256(masks.numpy().tobytes()).hexdigest() == expected["masks_f64_sha256"]

    channels_last = prepare_masks_and_masked_images(faces.numpy(), mask)  # the reference also takes HWC numpy
    torch.testing.assert_close(channels_last[0], pixel_values, atol=0, rtol=0)
