"""The Gradio web demo: upload checks, model cache, request handling and the page itself.

Kept apart from ``gradio_app.py`` so every piece can be imported and tested without a browser.
"""
