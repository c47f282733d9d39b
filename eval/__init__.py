"""Evaluation of lip-sync results: SyncNet confidence/distance (LSE-C/LSE-D), SyncNet accuracy, and FVD."""
