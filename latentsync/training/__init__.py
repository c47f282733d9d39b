"""Training: StableSyncNet and the U-Net (stages 1 and 2), one process or many under torchrun."""
