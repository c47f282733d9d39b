"""Lip-sync a video to a new audio track (the program: ``latentsync.cli.inference``; ``--help`` lists its options)."""
from latentsync.cli.inference import main

if __name__ == "__main__":
    raise SystemExit(main())
