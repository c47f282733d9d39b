"""Check a training run once, then start it under torchrun (the program: ``latentsync.cli.launch_training``; ``--help`` lists its options)."""
from latentsync.cli.launch_training import main

if __name__ == "__main__":
    raise SystemExit(main())
