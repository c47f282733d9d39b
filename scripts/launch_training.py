"""Check a training run once, then start it under torchrun (what train_syncnet.sh / train_unet.sh run).

    python -m scripts.launch_training scripts.train_unet --unet_config_path configs/unet/stage2_512.yaml
"""

import sys

from latentsync.training.launcher import main

if __name__ == "__main__":
    sys.exit(main())
