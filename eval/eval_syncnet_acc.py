"""Accuracy of a StableSyncNet on its config's validation list (the program: ``latentsync.cli.eval_syncnet_acc``; ``--help`` lists its options)."""
from latentsync.cli.eval_syncnet_acc import main

if __name__ == "__main__":
    raise SystemExit(main())
