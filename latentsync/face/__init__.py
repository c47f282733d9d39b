"""Face pipeline: landmarks, alignment to the LatentSync crop, the mouth mask, and paste-back."""

from latentsync.face.alignment import AlignedFaces, FaceAligner, crop_size, face_template
from latentsync.face.framed_faces import FramedFaces
from latentsync.face.landmarks import DetectedFace, FaceLandmarkDetector, create_landmark_detector
from latentsync.face.mask import MASK_NAMES, load_fixed_mask, prepare_masks_and_masked_images
from latentsync.face.paste_back import paste_faces_back
from latentsync.face.tracking import FaceTrack, fill_face_gaps, locate_faces

__all__ = [
    "MASK_NAMES",
    "AlignedFaces",
    "DetectedFace",
    "FaceAligner",
    "FaceLandmarkDetector",
    "FaceTrack",
    "FramedFaces",
    "create_landmark_detector",
    "crop_size",
    "face_template",
    "fill_face_gaps",
    "load_fixed_mask",
    "locate_faces",
    "paste_faces_back",
    "prepare_masks_and_masked_images",
]
