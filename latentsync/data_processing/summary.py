"""The end-of-run table: per stage, clips and hours in, kept, and rejections by reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from latentsync.data_processing.records import KEPT, LedgerRecord


def summary_table(stages: Sequence[tuple[str, Mapping[str, LedgerRecord]]]) -> str:
    """A plain-text table with one row per stage, from the records of the clips that entered it."""
    header = ("stage", "clips in", "hours in", "kept", "hours kept", "rejected (by reason)")
    rows = [header]
    for name, records in stages:
        kept_records = [record for record in records.values() if record.decision == KEPT]
        reasons = Counter(record.reason for record in records.values() if record.decision != KEPT)
        rows.append((
            name,
            str(len(records)),
            f"{sum(record.duration_s for record in records.values()) / 3600:.3f}",
            str(len(kept_records)),
            f"{sum(record.duration_s for record in kept_records) / 3600:.3f}",
            ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items())) or "-",
        ))
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
