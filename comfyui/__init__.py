"""LatentSync's ComfyUI nodes: link this folder into ComfyUI/custom_nodes/ (README, "ComfyUI")."""
import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("latentsync") is None:  # not pip-installed into ComfyUI's Python: use this checkout
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from latentsync.app.comfyui_nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: E402

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
