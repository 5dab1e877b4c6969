"""UUIDv7 ids, made where a document is born so that a retry anywhere is harmless.

Version 7 ids sort by creation time, which keeps B-tree inserts at the right edge of the index.
"""

from __future__ import annotations

import os
import threading
import time
import uuid


class _Clock:
    """The last millisecond used and a counter within it, so ids never go backwards in a process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_ms = 0
        self.counter = 0

    def tick(self) -> tuple[int, int]:
        with self.lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self.last_ms:
                self.counter += 1
                if self.counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
                    self.last_ms += 1
                    self.counter = 0
            else:
                self.last_ms = ms
                self.counter = int.from_bytes(os.urandom(2), "big") & 0x7FF  # room to count up
            return self.last_ms, self.counter


_clock = _Clock()


def uuid7() -> uuid.UUID:
    """A new UUIDv7; ids made in one process are strictly increasing, even within a millisecond."""
    ms, counter = _clock.tick()
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def new_id() -> str:
    """A new UUIDv7 as the canonical 36-character string used on the wire and in databases."""
    return str(uuid7())
