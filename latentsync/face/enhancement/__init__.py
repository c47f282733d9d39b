"""Optional face restoration after lip sync (GFPGAN v1.4, CodeFormer, GPEN-BFR-512 as ONNX models), each face
warped from the output frame into the restorer's own template and back.

The names below are imported on first use (``latentsync.utils.lazy_exports``): the settings read the defaults and
the restorer list without loading torch.
"""

from latentsync.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "FaceEnhancer": "base",
    "blend_restored": "blending",
    "mouth_protection_map": "blending",
    "DEFAULT_MOUTH_PROTECTION": "defaults",
    "DEFAULT_STRENGTH": "defaults",
    "OnnxFaceEnhancer": "onnx_enhancer",
    "load_face_enhancer": "onnx_enhancer",
    "onnx_providers": "onnx_enhancer",
    "FaceEnhancement": "post_processor",
    "DEFAULT_ENHANCERS_DIR": "spec",
    "EnhancerSpec": "spec",
    "FaceTemplate": "spec",
    "enhancer_spec": "spec",
    "enhancer_specs": "spec",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
