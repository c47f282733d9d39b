"""The YAML configs of the U-Net and of SyncNet, read in one place with every key checked."""
