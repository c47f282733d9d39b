"""``--seed -1`` draws a random seed and logs it; other seeds pass through."""

import logging

import pytest

from latentsync.errors import InputError
from latentsync.utils.seed import resolve_seed


def test_fixed_seed_is_kept_and_logged(caplog):
    with caplog.at_level(logging.INFO, logger="latentsync.utils.seed"):
        assert resolve_seed(1247) == 1247
        assert resolve_seed(0) == 0
    assert "Initial seed: 1247" in caplog.text


def test_minus_one_draws_a_fresh_seed_and_logs_it(caplog):
    with caplog.at_level(logging.INFO, logger="latentsync.utils.seed"):
        drawn = [resolve_seed(-1) for _ in range(4)]
    assert all(0 <= seed < 2**32 for seed in drawn)
    assert len(set(drawn)) > 1  # four equal draws out of 2**32 would mean it is not random
    for seed in drawn:
        assert f"Initial seed: {seed}" in caplog.text


def test_other_negative_seeds_are_input_errors():
    with pytest.raises(InputError, match="-5"):
        resolve_seed(-5)
