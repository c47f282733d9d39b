"""argparse types that refuse a number outside its range with one line (``argument --x: must be ...``).

A negative step count or worker count would otherwise run and do something meaningless (no denoising steps,
a zero-sized pool), or fail deep inside a library with a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def number_in_range(kind: type, low: float | None = None, high: float | None = None,
                    above_low: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: ``kind(text)`` (int or float) from ``low`` to ``high`` inclusive (None: unbounded);
    ``above_low``: ``low`` itself is refused too."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {'a whole number' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        too_low = low is not None and (value <= low if above_low else value < low)
        if value != value or too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {describe_range(low, high, above_low)}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


def describe_range(low: float | None, high: float | None, above_low: bool = False) -> str:
    """``between 0 and 1`` / ``at least 1`` / ``more than 0`` / ``at most 5``: the wording of errors and help."""
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    if low is not None:
        return f"more than {low:g}" if above_low else f"at least {low:g}"
    return f"at most {high:g}"


positive_int = number_in_range(int, 1)
positive_float = number_in_range(float, 0.0, above_low=True)
non_negative_int = number_in_range(int, 0)
