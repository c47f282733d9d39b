"""Face pipeline: landmarks, alignment to the LatentSync crop, the mouth mask, and paste-back.

The names below are imported on first use (``latentsync.utils.lazy_exports``), so a light module of this package
does not load torch and OpenCV.
"""

from latentsync.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "AlignedFaces": "alignment",
    "FaceAligner": "alignment",
    "crop_size": "alignment",
    "face_template": "alignment",
    "FramedFaces": "framed_faces",
    "DetectedFace": "landmarks",
    "FaceLandmarkDetector": "landmarks",
    "create_landmark_detector": "landmarks",
    "MASK_NAMES": "mask_image",
    "load_fixed_mask": "mask",
    "prepare_masks_and_masked_images": "mask",
    "paste_faces_back": "paste_back",
    "FaceTrack": "tracking",
    "fill_face_gaps": "tracking",
    "locate_faces": "tracking",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
