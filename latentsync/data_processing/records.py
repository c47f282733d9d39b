"""What a stage decides about one clip, and the ledger line that records it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

KEPT, REJECTED = "kept", "rejected"
# The reason of a clip whose stage failed unexpectedly: not a decision about the clip, so it is retried next run.
FAILED_REASON = "error"


@dataclass(frozen=True)
class ClipResult:
    """A stage's verdict on one clip: its outputs (relative to the stage folder) or why it was dropped.

    ``reason`` is a short code that the summary counts (``no_face``, ``low_sync_confidence``, ...);
    ``detail`` says the same for a human; ``measures`` holds the numbers behind the decision.
    """

    decision: str
    outputs: tuple[str, ...] = ()
    reason: str | None = None
    detail: str | None = None
    measures: dict[str, Any] = field(default_factory=dict)


def kept(*outputs: str, **measures: Any) -> ClipResult:
    return ClipResult(KEPT, outputs=tuple(outputs), measures=measures)


def rejected(reason: str, detail: str, **measures: Any) -> ClipResult:
    return ClipResult(REJECTED, reason=reason, detail=detail, measures=measures)


@dataclass(frozen=True)
class LedgerRecord:
    """One JSON line of a stage's ledger: the clip (relative to the stage's input folder) and its result."""

    clip: str
    decision: str
    outputs: list[str]
    reason: str | None
    detail: str | None
    measures: dict[str, Any]
    duration_s: float
    seconds: float

    @classmethod
    def of(cls, clip: str, result: ClipResult, duration_s: float, seconds: float) -> LedgerRecord:
        return cls(clip=clip, decision=result.decision, outputs=list(result.outputs), reason=result.reason,
                   detail=result.detail, measures=dict(result.measures), duration_s=round(duration_s, 4),
                   seconds=round(seconds, 3))

    @property
    def final(self) -> bool:
        """A decision made from the clip (kept, or rejected for a measured reason) is never revisited."""
        return self.reason != FAILED_REASON

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
