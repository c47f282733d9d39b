"""The noise seed: ``-1`` asks for a random one, as in the original's ``--seed -1`` (``torch.seed()``)."""

from __future__ import annotations

import logging
import secrets

from latentsync.errors import InputError

RANDOM_SEED = -1
# Drawn seeds stay below 2**32 so they can be typed back (or held exactly by a float-valued UI field).
_DRAWN_SEED_BOUND = 2**32

logger = logging.getLogger(__name__)


def resolve_seed(seed: int) -> int:
    """Return ``seed``, or a freshly drawn one for ``-1``; the seed used is logged so a run can be repeated."""
    if seed == RANDOM_SEED:
        seed = secrets.randbelow(_DRAWN_SEED_BOUND)
    elif seed < 0:
        raise InputError(f"--seed {seed} is negative; pass a seed >= 0, or -1 for a random one")
    logger.info("Initial seed: %d", seed)
    return seed
