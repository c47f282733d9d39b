"""Frechet Video Distance between real and generated videos (the program: ``latentsync.cli.eval_fvd``; ``--help`` lists its options)."""
from latentsync.cli.eval_fvd import main

if __name__ == "__main__":
    raise SystemExit(main())
