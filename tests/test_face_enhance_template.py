"""Face enhancement from the output frame: each face reaches the restorer in its FFHQ template (for every
landmark backend's point layout), and only the face, minus the protected mouth, changes in the frame."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from latentsync.face.alignment import FaceAligner, crop_size
from latentsync.face.enhancement import FaceEnhancement, FaceEnhancer, enhancer_spec, load_face_enhancer
from latentsync.face.enhancement.template_warp import template_mask
from latentsync.face.framed_faces import FramedFaces
from latentsync.face.landmarks.mediapipe_detector import face_from_mesh
from latentsync.face.landmarks.points import five_points_from_68, five_points_from_106
from latentsync.face.paste_back import blend_masks_from_coverage, paste_window
from latentsync.face.warp import invert_affine, warp_affine
from tests.helpers.tiny_enhancers import write_tiny_enhancer

TEMPLATE = enhancer_spec("gfpgan").template  # ffhq_512, the released restorers' template
INPUT_SIZE = 512
FRAME_SIZE = (240, 256)  # (H, W)
RESOLUTION = 64  # of the generated face: the mouth mask's resolution (the crop's footprint does not depend on it)
BACKGROUND = 127


class RecordingRestorer(FaceEnhancer):
    """Keeps what it is given; gives it back, or a constant face when ``value`` is set."""

    title = "recording"
    input_size = INPUT_SIZE
    template = TEMPLATE

    def __init__(self, value: float | None = None):
        self.value = value
        self.inputs: list[torch.Tensor] = []

    def restore(self, faces: torch.Tensor) -> torch.Tensor:
        self.inputs.append(faces.clone())
        return faces if self.value is None else torch.full_like(faces, self.value)


def face_points(angle_degrees: float = 12.0, scale: float = 0.4, centre=(128.0, 122.0)) -> np.ndarray:
    """(5, 2) frame points of a face shaped like the template: rotated, about 50 px between the eyes."""
    template = TEMPLATE.points_at(INPUT_SIZE)
    angle = math.radians(angle_degrees)
    rotation = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return (template - template.mean(axis=0)) @ rotation.T + np.asarray(centre)


def around(centre: np.ndarray, count: int, radius: float = 6.0) -> np.ndarray:
    """``count`` points evenly on a circle (an eye contour): their mean is ``centre``."""
    angles = np.arange(count) * 2 * np.pi / count
    return centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def five_points_through_layout(layout: str, points: np.ndarray) -> np.ndarray:
    """A backend's landmarks with the eyes, nose tip and mouth corners at ``points``, and the five points the
    project derives from them; every other landmark is noise."""
    noise = np.random.default_rng(0).uniform(0, 200, size=(468, 2))
    left_eye, right_eye, nose_tip, left_mouth, right_mouth = points
    if layout == "mediapipe":  # face-mesh vertices: eye contours, nose tip, mouth corners
        mesh = noise.copy()
        mesh[[33, 160, 158, 133, 153, 144]] = around(left_eye, 6)
        mesh[[362, 385, 387, 263, 373, 380]] = around(right_eye, 6)
        mesh[[4, 61, 291]] = [nose_tip, left_mouth, right_mouth]
        return face_from_mesh(mesh, np.array([0.0, 0.0, 1.0, 1.0])).five_points
    if layout == "face_alignment":  # iBUG 68
        landmarks = noise[:68].copy()
        landmarks[36:42], landmarks[42:48] = around(left_eye, 6), around(right_eye, 6)
        landmarks[[30, 48, 54]] = [nose_tip, left_mouth, right_mouth]
        return five_points_from_68(landmarks)
    landmarks = noise[:106].copy()  # InsightFace 2d106: its own eye-centre points
    landmarks[[33, 35, 36, 37, 39, 40, 41, 42]] = around(left_eye, 8)
    landmarks[[87, 89, 90, 91, 93, 94, 95, 96]] = around(right_eye, 8)
    landmarks[[38, 88, 86, 52, 61]] = points
    return five_points_from_106(landmarks)


def framed(frames: np.ndarray, points: np.ndarray) -> FramedFaces:
    """The frames with one face each at ``points``, cropped by the aligner from 3 points placed like a face's."""
    left_eye, right_eye, nose_tip = points[:3]
    up = np.array([(right_eye - left_eye)[1], -(right_eye - left_eye)[0]])  # perpendicular, towards the forehead
    brows = np.stack([left_eye, right_eye]) + 0.3 * up
    nose_centre = (left_eye + right_eye) / 2 + 0.7 * (nose_tip - (left_eye + right_eye) / 2)
    matrix = FaceAligner(RESOLUTION, smooth=False).estimate_affine(np.stack([*brows, nose_centre]))
    count = len(frames)
    return FramedFaces(torch.from_numpy(frames), torch.tensor(points, dtype=torch.float32).expand(count, 5, 2),
                       matrix.expand(count, 2, 3), crop_size(RESOLUTION), RESOLUTION)


def random_frames(count: int = 2) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, size=(count, *FRAME_SIZE, 3), dtype=np.uint8)


def face_mask(faces: FramedFaces) -> torch.Tensor:
    """(B, H, W) feathered footprint of the face, where paste-back blended the generated face in."""
    top, left, bottom, right = window = paste_window(faces.affine_matrices, faces.crop_size, FRAME_SIZE)
    crop_w, crop_h = faces.crop_size
    footprint = warp_affine(torch.ones(len(faces), 1, crop_h, crop_w), invert_affine(faces.affine_matrices),
                            FRAME_SIZE, window=window)
    mask = torch.zeros(len(faces), *FRAME_SIZE)
    mask[:, top:bottom, left:right] = blend_masks_from_coverage(footprint).soft[:, 0]
    return mask


def protection_bounds(faces: FramedFaces, protection: torch.Tensor, radius: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest mouth-protection value within ``radius`` generated-face pixels of each frame pixel's
    position (H, W), read through the crop matrix (the crop is the generated face stretched, pixel centres
    aligned); the radius covers the interpolations between the map and the frame. Outside the map: 0."""
    crop_w, crop_h = faces.crop_size
    ys, xs = np.mgrid[:FRAME_SIZE[0], :FRAME_SIZE[1]]
    crop = np.stack([xs, ys, np.ones_like(xs)], axis=-1) @ faces.affine_matrices[0].double().numpy().T
    generated = np.rint((crop + 0.5) * [RESOLUTION / crop_w, RESOLUTION / crop_h] - 0.5).astype(int)
    padded = torch.nn.functional.pad(protection[None, None], (2 * radius,) * 4)
    pool = lambda image: torch.nn.functional.max_pool2d(image, 2 * radius + 1, stride=1)[0, 0].numpy()  # noqa: E731
    highest, lowest = pool(padded), -pool(-padded)  # entry i + radius: around generated-face position i
    index = generated + radius
    covered = ((index >= 0) & (index < len(highest))).all(axis=-1)
    rows, cols = (np.clip(index[..., axis], 0, len(highest) - 1) for axis in (1, 0))
    return np.where(covered, lowest[rows, cols], 0.0), np.where(covered, highest[rows, cols], 0.0)


@pytest.mark.parametrize("layout", ["mediapipe", "face_alignment", "insightface"])
def test_eyes_nose_and_mouth_land_on_the_template(layout):
    """Frame k shows one bright dot, at five point k; in the restorer's input face k, that dot lies on the
    template's point k."""
    points = face_points()
    five_points = five_points_through_layout(layout, points)
    ys, xs = np.mgrid[:FRAME_SIZE[0], :FRAME_SIZE[1]]
    dots = [np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 1.5**2)) for x, y in points]
    frames = np.stack([np.repeat(BACKGROUND + 128 * dot[..., None], 3, axis=2) for dot in dots]).round()
    restorer = RecordingRestorer()
    FaceEnhancement(restorer, strength=1.0)(framed(frames.astype(np.uint8), five_points))
    [faces] = restorer.inputs  # the window's faces in one batch
    assert faces.shape == (5, 3, INPUT_SIZE, INPUT_SIZE)
    weights = (faces.mean(dim=1) - (BACKGROUND / 127.5 - 1)).clamp(min=0).double()
    grid_y, grid_x = torch.meshgrid(*[torch.arange(INPUT_SIZE, dtype=torch.float64)] * 2, indexing="ij")
    found = torch.stack([(weights * grid_x).sum(dim=(1, 2)), (weights * grid_y).sum(dim=(1, 2))], dim=1)
    found /= weights.sum(dim=(1, 2))[:, None]
    distances = np.linalg.norm(found.numpy() - TEMPLATE.points_at(INPUT_SIZE), axis=1)
    assert distances.max() < 2.0, distances


def test_strength_zero_returns_the_frames_bit_for_bit_without_running_the_restorer():
    faces = framed(random_frames(), face_points())
    restorer = RecordingRestorer(value=1.0)
    assert FaceEnhancement(restorer, strength=0.0)(faces) is faces.frames
    assert restorer.inputs == []


@pytest.mark.parametrize("strength", [1.0, 0.25])
def test_only_pixels_inside_the_face_mask_change(strength):
    frames = random_frames()
    faces = framed(frames.copy(), face_points())
    enhanced = FaceEnhancement(RecordingRestorer(value=1.0), strength=strength, mouth_protection=0.0)(faces)
    assert np.array_equal(faces.frames.numpy(), frames)  # the input frames are left alone
    mask = face_mask(faces)
    outside, inside = mask == 0, mask > 0.999
    assert outside.float().mean() > 0.5 and inside.sum() > 2000
    assert torch.equal(enhanced[outside], faces.frames[outside])
    # inside, the restorer's white face blended in with the strength (within rounding)
    expected = frames[inside.numpy()] + strength * (255 - frames[inside.numpy()].astype(np.float64))
    assert np.abs(enhanced[inside].numpy() - expected).max() <= 1.0


def test_the_protected_mouth_is_kept_at_protection_one():
    frames = random_frames()
    faces = framed(frames, face_points())
    enhancement = FaceEnhancement(RecordingRestorer(value=1.0), strength=1.0, mouth_protection=1.0)
    enhanced = enhancement(faces)
    lowest, highest = protection_bounds(faces, enhancement.protection_map(RESOLUTION, torch.device("cpu"))[0, 0])
    protected = torch.from_numpy(lowest > 0.9999).expand(len(faces), *FRAME_SIZE)
    unprotected = torch.from_numpy(highest == 0) & (face_mask(faces) > 0.999)
    assert protected[0].sum() > 300 and unprotected.sum() > 1000
    assert torch.equal(enhanced[protected], faces.frames[protected])  # the lip-synced mouth, bit for bit
    assert torch.all(enhanced[unprotected] == 255)  # restored elsewhere in the face


def test_released_model_loader_behind_the_hook(tmp_path):
    """The real loader and a tiny graph (restores everything to grey) in the frame path."""
    directory = tmp_path / "enhancers"
    write_tiny_enhancer(enhancer_spec("gpen").path(directory), channel_gains=(0.0, 0.0, 0.0))
    enhancer = load_face_enhancer("gpen", directory)
    assert (enhancer.input_size, enhancer.template) == (INPUT_SIZE, TEMPLATE)
    faces = framed(random_frames(1), face_points(angle_degrees=-20.0, scale=0.35))
    enhanced = FaceEnhancement(enhancer, strength=1.0, mouth_protection=0.0)(faces)
    mask = face_mask(faces)
    assert torch.all((enhanced[mask > 0.999].float() - 127.5).abs() == 0.5)  # grey: 0 in [-1, 1]
    assert torch.equal(enhanced[mask == 0], faces.frames[mask == 0])


def test_template_mask_feathers_the_squares_border_in_frame_coordinates():
    """A face whose frame maps to template pixels scaled by 2: the square is 0..99 frame pixels, its 8-template-pixel
    feather 4 frame pixels wide."""
    to_template = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    mask = template_mask(to_template, size=200, feather=8.0, window=(-10, -10, 110, 110))[0, 0]
    inside, outside = mask[10 + 4:10 + 96, 10 + 4:10 + 96], torch.cat([mask[:10], mask[111:], mask[:, :10].T])
    assert torch.all(inside == 1) and torch.all(outside == 0)
    torch.testing.assert_close(mask[60, 10:15], torch.tensor([1, 3, 5, 7, 8]) / 8.0)  # 1 + 2 * x, over 8
