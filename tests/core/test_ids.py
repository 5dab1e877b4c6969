from __future__ import annotations

import itertools
import sys
import threading
import time
import uuid
from collections.abc import Sequence

import pytest

from osuite.core import ids
from osuite.core.ids import new_id, uuid7


def _ms(u: uuid.UUID) -> int:
    return u.int >> 80


def _increasing(items: Sequence[uuid.UUID] | Sequence[str]) -> bool:
    return all(a < b for a, b in itertools.pairwise(items))  # type: ignore[operator]


def test_uuid7_has_version_7_and_the_rfc_4122_variant() -> None:
    for _ in range(1000):
        u = uuid7()
        assert u.version == 7
        assert u.variant == uuid.RFC_4122


def test_new_id_is_the_canonical_string() -> None:
    text = new_id()
    assert len(text) == 36
    assert text == text.lower()
    parsed = uuid.UUID(text)
    assert str(parsed) == text
    assert parsed.version == 7


def test_timestamp_is_now() -> None:
    before = time.time_ns() // 1_000_000
    u = uuid7()
    after = time.time_ns() // 1_000_000
    # The clock may run a few ms ahead after a burst of more than 4096 ids in one millisecond.
    assert before <= _ms(u) <= after + 100


def test_ids_in_one_thread_are_strictly_increasing() -> None:
    made = [uuid7() for _ in range(10_000)]
    assert _increasing(made)
    texts = [new_id() for _ in range(10_000)]
    assert _increasing(texts)  # databases sort the strings
    assert texts[0] > str(made[-1])


def test_ids_are_unique_across_threads() -> None:
    per_thread, threads = 5_000, 8
    results: list[list[uuid.UUID]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(out: list[uuid.UUID]) -> None:
        start.wait()
        out.extend(uuid7() for _ in range(per_thread))

    workers = [threading.Thread(target=work, args=(out,)) for out in results]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to provoke races
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        sys.setswitchinterval(switch)

    everything = [u for out in results for u in out]
    assert len(set(everything)) == per_thread * threads
    # Not luck in the random bits: the millisecond and the counter alone already tell them apart.
    assert len({u.int >> 64 for u in everything}) == per_thread * threads
    for out in results:
        assert _increasing(out)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A fresh id clock reading a time the test sets, so the process-wide clock is left alone."""
    now = [1_700_000_000_000_000_000]
    monkeypatch.setattr(ids, "_clock", ids._Clock())
    monkeypatch.setattr(ids.time, "time_ns", lambda: now[0])
    return now


def test_ids_keep_increasing_when_the_millisecond_does_not_change(frozen_clock: list[int]) -> None:
    start_ms = frozen_clock[0] // 1_000_000
    made = [uuid7() for _ in range(10_000)]  # far more than the 12-bit counter holds in one ms
    assert _ms(made[0]) == start_ms
    assert _increasing(made)
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in made)
    assert _ms(made[-1]) - start_ms <= 10  # borrowed from the next few milliseconds only


def test_ids_keep_increasing_when_the_clock_goes_back(frozen_clock: list[int]) -> None:
    first = uuid7()
    frozen_clock[0] -= 60_000_000_000  # NTP steps the clock back a minute
    later = [uuid7() for _ in range(100)]
    assert all(first < u for u in later)
    assert _increasing(later)


def test_ids_follow_the_clock_when_it_moves_on(frozen_clock: list[int]) -> None:
    uuid7()
    frozen_clock[0] += 5_000_000_000
    assert _ms(uuid7()) == frozen_clock[0] // 1_000_000
