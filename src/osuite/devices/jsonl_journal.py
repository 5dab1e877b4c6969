"""An append-only journal of JSON lines: what an emulated device did, kept across restarts.

Each record is written and fsync'ed before the device answers, so whatever a caller was told survives
a crash. A crash in the middle of a write leaves a torn last line, which was never acknowledged: it is
cut off when the journal is opened. A damaged line anywhere else is refused loudly instead of being
skipped, because skipping it would forget an operation someone was told about.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class JournalError(Exception):
    """The journal file is damaged somewhere other than its torn last line."""


class JsonlJournal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[dict[str, Any]]:
        """Every complete record, oldest first; creates the file (and its folder) when missing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.touch()
            _fsync_dir(self.path.parent)
            return []
        data = self.path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            with self.path.open("r+b") as file:
                file.truncate(complete)
                os.fsync(file.fileno())
        records: list[dict[str, Any]] = []
        for number, line in enumerate(data[:complete].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise JournalError(f"{self.path}: line {number} is not JSON") from None
            if not isinstance(record, dict):
                raise JournalError(f"{self.path}: line {number} is not a JSON object")
            records.append(record)
        return records

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self.path.open("ab") as file:
            file.write(line.encode())
            file.flush()
            os.fsync(file.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its file system orders the create itself
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
