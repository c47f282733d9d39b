"""Web demo: ``python gradio_app.py``, then open http://127.0.0.1:7860 (the program: ``latentsync.cli.demo``)."""
from latentsync.cli.demo import main

if __name__ == "__main__":
    raise SystemExit(main())
