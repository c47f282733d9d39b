"""Skipping a U-Net training batch whose Whisper features fail, as the original does, without skipping forever.

The original logs the failure and goes on with the next batch. Here every process skips together (one process's
failure skips the batch on all of them: a process that stepped alone would wait forever for the others' gradients),
and after ``limit`` batches in a row the run stops naming the last failure, as the datasets stop after as many
unusable clips in a row.
"""

from __future__ import annotations

import logging

import torch

from latentsync.errors import InputError
from latentsync.utils.distributed import any_rank

logger = logging.getLogger(__name__)

MAX_SKIPPED_IN_A_ROW = 20


class SkippedBatches:
    """Counts the batches skipped in a row; ``skip(failure, device)`` says whether this batch is skipped."""

    def __init__(self, limit: int = MAX_SKIPPED_IN_A_ROW):
        self.limit = limit
        self.in_a_row = 0

    def skip(self, failure: str | None, device: torch.device) -> bool:
        """True (on every process) when any process's batch failed (``failure``: its reason, None when it did not);
        ``InputError`` once more than ``limit`` batches in a row were skipped."""
        if not any_rank(failure is not None, device):
            self.in_a_row = 0
            return False
        self.in_a_row += 1
        reason = failure or "another process's batch failed"
        logger.warning("skipping a training batch: Whisper features failed (%s)", reason)
        if self.in_a_row > self.limit:
            raise InputError(f"{self.in_a_row} training batches in a row had no Whisper features (last: {reason}); "
                             "check the audio of the clips in data.train_fileslist / train_data_dir")
        return True
