"""Evaluation metrics: SyncNet-v2 sync confidence (LSE-C / LSE-D), SyncNet accuracy helpers, FVD."""
