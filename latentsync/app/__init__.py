"""The doors of a running model besides the command line: the Gradio web demo (upload checks, model cache, request
handling, the page) and its HTTP API, the ComfyUI nodes, and the settings as these doors offer them.

Kept apart from ``gradio_app.py`` and ``comfyui/`` so every piece can be imported and tested without a browser
or ComfyUI.
"""
