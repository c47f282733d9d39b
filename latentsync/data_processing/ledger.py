"""Per-stage ledger: one JSON line per clip, appended as clips finish; the record of what is done.

A stage writes a clip's outputs first (each under a temporary name, renamed when complete) and appends its
line afterwards, so a line means "finished". A run killed mid-line leaves a truncated last line, which is
ignored (the clip is redone). At the end of a stage the file is rewritten sorted by clip, atomically, so
two runs that decided the same things leave the same file up to the ``seconds`` field.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from latentsync.data_processing.records import LedgerRecord
from latentsync.io.atomic_file import replaced_atomically


class Ledger:
    """The JSON-lines file of one stage, ``<root>/<stage>.jsonl``."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> dict[str, LedgerRecord]:
        """Records by clip; later lines win, unreadable (truncated) lines are skipped."""
        records: dict[str, LedgerRecord] = {}
        if not self.path.is_file():
            return records
        with self.path.open(encoding="utf-8") as file:
            for line in file:
                try:
                    record = LedgerRecord(**json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue
                records[record.clip] = record
        return records

    def append(self, record: LedgerRecord) -> None:
        """Add one line with a single write, flushed to disk before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True) + "\n"
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())

    def compact(self) -> None:
        """Rewrite the file with one line per clip, sorted by clip (temp file + rename)."""
        records = self.read()
        with replaced_atomically(self.path) as partial, partial.open("w", encoding="utf-8") as file:
            for clip in sorted(records):
                file.write(json.dumps(records[clip].to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
