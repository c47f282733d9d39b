"""Train the LatentSync U-Net (one process; train_unet.sh runs it under torchrun) (the program: ``latentsync.cli.train_unet``; ``--help`` lists its options)."""
from latentsync.cli.train_unet import main

if __name__ == "__main__":
    raise SystemExit(main())
