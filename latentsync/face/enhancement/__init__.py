"""Optional face restoration after lip sync (GFPGAN v1.4, CodeFormer, GPEN-BFR-512 as ONNX models), each face
warped from the output frame into the restorer's own template and back."""

from latentsync.face.enhancement.base import FaceEnhancer
from latentsync.face.enhancement.blending import blend_restored, mouth_protection_map
from latentsync.face.enhancement.onnx_enhancer import OnnxFaceEnhancer, load_face_enhancer, onnx_providers
from latentsync.face.enhancement.post_processor import (DEFAULT_MOUTH_PROTECTION, DEFAULT_STRENGTH,
                                                         FaceEnhancement)
from latentsync.face.enhancement.spec import (DEFAULT_ENHANCERS_DIR, EnhancerSpec, FaceTemplate, enhancer_spec,
                                             enhancer_specs)

__all__ = [
    "DEFAULT_ENHANCERS_DIR",
    "DEFAULT_MOUTH_PROTECTION",
    "DEFAULT_STRENGTH",
    "EnhancerSpec",
    "FaceEnhancement",
    "FaceEnhancer",
    "FaceTemplate",
    "OnnxFaceEnhancer",
    "blend_restored",
    "enhancer_spec",
    "enhancer_specs",
    "load_face_enhancer",
    "mouth_protection_map",
    "onnx_providers",
]
