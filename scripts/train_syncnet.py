"""Train StableSyncNet (one process; train_syncnet.sh runs it under torchrun) (the program: ``latentsync.cli.train_syncnet``; ``--help`` lists its options)."""
from latentsync.cli.train_syncnet import main

if __name__ == "__main__":
    raise SystemExit(main())
