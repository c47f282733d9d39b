"""Face pipeline: landmarks, alignment to the LatentSync crop, the mouth mask, and paste-back."""

from latentsync.face.alignment import AlignedFaces, FaceAligner, crop_size, face_template
from latentsync.face.landmarks import DetectedFace, FaceLandmarkDetector, create_landmark_detector
from latentsync.face.mask import MASK_NAMES, load_fixed_mask, mask_to_latent_size, prepare_masks_and_masked_images
from latentsync.face.restore import paste_surrounding_pixels_back, restore_faces

__all__ = [
    "MASK_NAMES",
    "AlignedFaces",
    "DetectedFace",
    "FaceAligner",
    "FaceLandmarkDetector",
    "create_landmark_detector",
    "crop_size",
    "face_template",
    "load_fixed_mask",
    "mask_to_latent_size",
    "paste_surrounding_pixels_back",
    "prepare_masks_and_masked_images",
    "restore_faces",
]
