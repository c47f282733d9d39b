"""Lip-sync lists of videos and audios, as the original's evaluation script (the program: ``latentsync.cli.inference_videos``; ``--help`` lists its options)."""
from latentsync.cli.inference_videos import main

if __name__ == "__main__":
    raise SystemExit(main())
