"""The offset search finds a planted audio shift, and is more confident about it than about unrelated audio."""

from __future__ import annotations

import pytest
import torch

from latentsync.analysis.sync_scoring import score_sync

NUM_WINDOWS, DIM, VSHIFT = 40, 256, 15


def _shifted_pair(shift: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Video and audio embeddings where audio window t matches video window t + shift (plus noise)."""
    base = torch.randn(NUM_WINDOWS + 2 * VSHIFT, DIM, generator=generator)
    video = base[VSHIFT : VSHIFT + NUM_WINDOWS]
    noise = 0.5 * torch.randn(NUM_WINDOWS, DIM, generator=generator)
    audio = base[VSHIFT + shift : VSHIFT + shift + NUM_WINDOWS] + noise
    return video, audio


@pytest.mark.parametrize("shift", [-7, -1, 0, 2, 5, 12])
def test_reports_the_planted_offset_with_higher_confidence_than_unrelated_audio(shift):
    generator = torch.Generator().manual_seed(100 + shift)
    video, audio = _shifted_pair(shift, generator)
    unrelated_audio = torch.randn(NUM_WINDOWS, DIM, generator=generator)

    planted = score_sync(video, audio, VSHIFT)
    unrelated = score_sync(video, unrelated_audio, VSHIFT)

    assert planted.av_offset == shift
    assert planted.mean_dists.argmin().item() == VSHIFT - shift
    assert planted.confidence > 2 * unrelated.confidence
    assert planted.min_dist < unrelated.min_dist
    assert planted.confidence == pytest.approx((planted.mean_dists.median() - planted.mean_dists.min()).item())


def test_ties_go_to_the_first_shift():
    video = torch.zeros(4, 8)
    score = score_sync(video, torch.zeros(4, 8), vshift=3)  # every shift is equally good
    assert score.av_offset == 3 and score.confidence == 0
