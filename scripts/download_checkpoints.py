"""Fetch the released weights and the demo clips (the program: ``latentsync.cli.download_checkpoints``; ``--help`` lists its options)."""
from latentsync.cli.download_checkpoints import main

if __name__ == "__main__":
    raise SystemExit(main())
