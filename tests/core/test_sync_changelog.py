"""The change log: audiences, paging, compaction, and the in-flight writer trap."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from osuite.core.sync.changelog import Change
from osuite.core.sync.wire import EVERYONE, store_audience
from tests.core.sync_harness import Center, center
from tests.support.databases import fresh_database

MINE = [EVERYONE, store_audience("s1")]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Center]:
    with fresh_database(tmp_path, "center") as url:
        c = Center.create(url)
        yield c
        c.db.dispose()


def record(hub: Center, *changes: Change) -> None:
    with hub.db.write() as conn:
        hub.changelog.record(conn, changes)


def read_all(
    hub: Center, since: int = 0, audiences: list[str] = MINE, limit: int = 1000
) -> tuple[list[tuple], int]:
    rows: list[tuple] = []
    while True:
        with hub.db.read() as conn:
            page = hub.changelog.read(conn, since=since, audiences=audiences, limit=limit)
        rows.extend(page.rows)
        since = page.next
        if not page.has_more:
            return rows, since


def item(key: str, value: str | None, audience: str = EVERYONE) -> Change:
    return Change("item", key, audience, None if value is None else {"value": value})


def test_a_client_sees_its_audiences_only(hub: Center) -> None:
    record(hub, item("a", "1"), item("b", "2", store_audience("s1")), item("c", "3", store_audience("s2")))
    rows, _ = read_all(hub)
    assert [r[2] for r in rows] == ["a", "b"]


def test_paging_follows_seq_and_cursor_never_repeats(hub: Center) -> None:
    record(hub, *[item(f"k{i}", str(i)) for i in range(25)])
    rows, cursor = read_all(hub, limit=7)
    assert [r[2] for r in rows] == [f"k{i}" for i in range(25)]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert read_all(hub, since=cursor)[0] == []


def test_log_keeps_only_the_latest_change_of_a_key(hub: Center) -> None:
    record(hub, item("a", "1"))
    _, cursor = read_all(hub)
    record(hub, item("a", "2"))
    record(hub, item("a", "3"))
    rows, _ = read_all(hub)
    assert [(r[2], r[4]) for r in rows] == [("a", '{"value":"3"}')]
    newer, _ = read_all(hub, since=cursor)
    assert [r[4] for r in newer] == ['{"value":"3"}']


def test_snapshot_skips_tombstones_but_followers_get_them(hub: Center) -> None:
    record(hub, item("a", "1"), item("b", "1"))
    _, cursor = read_all(hub)
    record(hub, item("a", None))
    snapshot, _ = read_all(hub)
    assert [r[2] for r in snapshot] == ["b"]
    follow, _ = read_all(hub, since=cursor)
    assert [(r[2], r[3]) for r in follow] == [("a", "delete")]


def test_a_cursor_older_than_purged_tombstones_must_reset(hub: Center) -> None:
    record(hub, item("a", "1"), item("b", "1"))
    _, old_cursor = read_all(hub)
    record(hub, item("a", None))
    _, current = read_all(hub, since=old_cursor)
    with hub.db.write() as conn:  # age the tombstone, then purge it
        conn.execute(
            update(center.changes).values(changed_at=center.changes.c.changed_at - timedelta(days=40))
        )
        assert hub.changelog.purge_tombstones(conn, timedelta(days=30)) == 1
    with hub.db.read() as conn:
        stale = hub.changelog.read(conn, since=old_cursor, audiences=MINE, limit=10)
        fresh = hub.changelog.read(conn, since=current, audiences=MINE, limit=10)
    assert stale.reset and not stale.rows
    assert not fresh.reset


def test_seq_is_never_reused_after_the_newest_row_is_replaced(hub: Center) -> None:
    record(hub, item("a", "1"))
    first, _ = read_all(hub)
    record(hub, item("a", "2"))  # deletes the row holding the highest seq, then inserts
    second, _ = read_all(hub)
    assert second[0][0] > first[0][0]


def test_a_change_committed_late_is_not_skipped_by_a_reader(hub: Center) -> None:
    """Trap 1: writer A takes a seq and holds its transaction open; writer B commits after it. A reader
    between the two commits must not see B's larger seq and move its cursor past A's."""
    a_recorded = threading.Event()
    a_may_commit = threading.Event()

    def writer_a() -> None:
        with hub.db.write() as conn:
            hub.changelog.record(conn, [item("from-a", "a")])
            a_recorded.set()
            a_may_commit.wait(10)

    def writer_b() -> None:
        record(hub, item("from-b", "b"))

    ta = threading.Thread(target=writer_a)
    ta.start()
    assert a_recorded.wait(10)
    tb = threading.Thread(target=writer_b)
    tb.start()
    time.sleep(0.5)  # B is now either blocked behind A (correct) or committed (the trap)
    seen, cursor = read_all(hub)
    a_may_commit.set()
    ta.join(10)
    tb.join(10)
    later, _ = read_all(hub, since=cursor)
    assert sorted(r[2] for r in seen + later) == ["from-a", "from-b"]


def test_concurrent_writers_and_a_following_reader_lose_nothing(hub: Center) -> None:
    """Many writers commit in random interleavings while a reader follows its cursor; at the end the
    reader has seen every change exactly once."""
    written = [f"w{w}-{n}" for w in range(4) for n in range(30)]
    stop = threading.Event()
    seen: list[str] = []

    def writer(w: int) -> None:
        rnd = random.Random(w)
        for n in range(30):
            with hub.db.write() as conn:
                hub.changelog.record(conn, [item(f"w{w}-{n}", "x")])
                time.sleep(rnd.random() / 200)

    def reader() -> None:
        cursor = 0
        while True:
            done = stop.is_set()
            rows, cursor = read_all(hub, since=cursor, limit=5)
            seen.extend(r[2] for r in rows)
            if done:
                return

    follower = threading.Thread(target=reader)
    follower.start()
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join(60)
    stop.set()
    follower.join(60)
    assert sorted(seen) == sorted(written)
