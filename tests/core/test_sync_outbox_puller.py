"""The edge side: the outbox survives failures and restarts; a page half applied is applied again whole."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from osuite.core.ids import new_id
from osuite.core.sync.changelog import Change
from osuite.core.sync.outbox import OutboxSender
from osuite.core.sync.puller import Puller
from osuite.core.sync.transport import ChangeRow, FetchedPage, LinkDown
from osuite.core.sync.wire import EVERYONE, DocumentIn, IntakeAnswer
from tests.core.sync_harness import TERMINAL, Center, Edge, ItemReplica, center, edge
from tests.support.databases import fresh_database


@dataclass
class Link:
    """The network between edge and center, in-process; it can be cut."""

    hub: Center
    up: bool = True

    def send(self, documents: list[DocumentIn]) -> IntakeAnswer:
        if not self.up:
            raise LinkDown("network cut")
        return self.hub.intake.accept(TERMINAL, documents)

    def fetch(self, since: int, limit: int, wait: float, snapshot: bool = False) -> FetchedPage:
        if not self.up:
            raise LinkDown("network cut")
        with self.hub.db.read() as conn:
            page = self.hub.changelog.read(
                conn, since=since, audiences=[EVERYONE], limit=limit, snapshot=snapshot
            )
        import orjson

        rows = [ChangeRow(s, e, k, o, None if p is None else orjson.loads(p)) for s, e, k, o, p in page.rows]
        return FetchedPage(rows, page.next, page.has_more, page.reset, page.horizon)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Center, Edge]]:
    with fresh_database(tmp_path, "center") as c_url, fresh_database(tmp_path, "edge") as e_url:
        hub, end = Center.create(c_url), Edge.create(e_url)
        yield hub, end
        hub.db.dispose()
        end.db.dispose()


def queue(end: Edge, *texts: str) -> list[str]:
    ids = []
    with end.db.write() as conn:
        for text in texts:
            doc_id = new_id()
            end.outbox.add(conn, id=doc_id, kind="note", payload={"text": text})
            ids.append(doc_id)
    return ids


def pending(end: Edge) -> int:
    with end.db.read() as conn:
        return end.outbox.pending(conn)


def attempts(end: Edge) -> int:
    with end.db.read() as conn:
        return int(conn.execute(select(func.min(edge.outbox.c.attempts))).scalar_one())


def test_documents_wait_out_a_network_cut_and_arrive_once(pair: tuple[Center, Edge]) -> None:
    hub, end = pair
    link = Link(hub, up=False)
    queue(end, "a", "b", "c")
    result = OutboxSender(end.outbox, link.send).send_once()
    assert result.error == "network cut"
    assert pending(end) == 3
    link.up = True
    restarted = OutboxSender(end.outbox, link.send)  # a new process: the queue is in the database
    assert restarted.send_once().sent == 0  # still backing off
    with end.db.write() as conn:  # let the backoff expire
        conn.execute(edge.outbox.update().values(next_attempt_at=edge.outbox.c.created_at))
    assert restarted.send_once().held == 3
    assert pending(end) == 0 and hub.note_count() == 3


def test_a_lost_answer_means_a_resend_that_stores_nothing_twice(pair: tuple[Center, Edge]) -> None:
    hub, end = pair
    link = Link(hub)
    queue(end, "a", "b")

    def answer_lost(documents: list[DocumentIn]) -> IntakeAnswer:
        link.send(documents)  # the center stored them …
        raise LinkDown("connection reset before the answer")  # … but the edge never heard

    OutboxSender(end.outbox, answer_lost).send_once()
    with end.db.write() as conn:
        conn.execute(edge.outbox.update().values(next_attempt_at=edge.outbox.c.created_at))
    assert OutboxSender(end.outbox, link.send).send_once().held == 2
    assert hub.note_count() == 2 and pending(end) == 0


def test_a_refused_document_is_kept_as_a_dead_letter(pair: tuple[Center, Edge]) -> None:
    hub, end = pair
    _good, bad = queue(end, "fine", "")
    result = OutboxSender(end.outbox, Link(hub).send).send_once()
    assert (result.held, result.rejected) == (1, 1)
    with end.db.read() as conn:
        letters = end.outbox.dead_letters(conn)
        assert end.outbox.pending(conn) == 0
    assert [(d["id"], d["last_error"]) for d in letters] == [(bad, "a note needs text")]


def record(hub: Center, *changes: Change) -> None:
    with hub.db.write() as conn:
        hub.changelog.record(conn, changes)


def test_a_page_that_fails_half_way_leaves_the_cursor_and_is_applied_whole_later(
    pair: tuple[Center, Edge],
) -> None:
    """Trap 2: a crash in the middle of applying a page must not advance the cursor nor leave half."""
    hub, end = pair
    record(hub, *[Change("item", f"k{i}", EVERYONE, {"value": str(i)}) for i in range(10)])
    link = Link(hub)
    broken = Puller(end.db, edge, link.fetch, ItemReplica(fail_after=6), page_size=100)
    with pytest.raises(RuntimeError, match="power cut"):
        broken.pull_once()
    assert broken.cursor() == 0
    assert end.items() == {}
    healthy = Puller(end.db, edge, link.fetch, ItemReplica(), page_size=4)
    assert healthy.catch_up() == 10
    assert end.items() == {f"k{i}": (str(i), 1) for i in range(10)}  # each applied exactly once


def test_a_reset_reloads_the_snapshot_and_drops_what_it_no_longer_has(pair: tuple[Center, Edge]) -> None:
    hub, end = pair
    record(
        hub,
        Change("item", "keep", EVERYONE, {"value": "1"}),
        Change("item", "gone", EVERYONE, {"value": "1"}),
    )
    puller = Puller(end.db, edge, Link(hub).fetch, ItemReplica())
    puller.catch_up()
    record(hub, Change("item", "gone", EVERYONE, None), Change("item", "keep", EVERYONE, {"value": "2"}))

    def compacted(since: int, limit: int, wait: float, snapshot: bool) -> FetchedPage:
        if since > 0:
            return FetchedPage([], 0, True, True)  # the center purged the tombstone we needed
        return Link(hub).fetch(since, limit, wait, snapshot)

    puller.fetch = compacted
    assert puller.pull_once().reset
    assert end.items()["gone"] == ("1", 1)  # still selling from the old data during the reload
    puller.fetch = Link(hub).fetch
    puller.catch_up()
    assert end.items() == {"keep": ("2", 2)}


@pytest.mark.parametrize("same_process", [True, False])
def test_tombstones_purged_while_a_snapshot_is_paged_are_not_missed(
    pair: tuple[Center, Edge], same_process: bool
) -> None:
    """A row taken from a snapshot's first page, deleted and its tombstone purged before the snapshot's
    last page: the edge redoes the snapshot as a reset and drops it (hypothesis found this history)."""
    hub, end = pair
    record(
        hub,
        Change("item", "gone", EVERYONE, {"value": "1"}),
        Change("item", "keep", EVERYONE, {"value": "1"}),
    )
    puller = Puller(end.db, edge, Link(hub).fetch, ItemReplica(), page_size=1)
    puller.pull_once()  # the snapshot's first page: "gone"
    assert end.items() == {"gone": ("1", 1)}
    record(hub, Change("item", "gone", EVERYONE, None))
    with hub.db.write() as conn:
        hub.changelog.purge_tombstones(conn, timedelta(0))
    if not same_process:  # a restart mid-snapshot: the first page's horizon is not known any more
        puller = Puller(end.db, edge, Link(hub).fetch, ItemReplica(), page_size=1)
    puller.catch_up()
    assert end.items() == {"keep": ("1", 1)}


def test_a_reset_over_many_pages_below_the_horizon_completes(pair: tuple[Center, Edge]) -> None:
    """The snapshot after a reset pages through old rows whose seq lies below the tombstone horizon;
    those pages must not be answered "reset" again, or the reload never ends."""
    hub, end = pair
    record(hub, *[Change("item", f"k{i}", EVERYONE, {"value": "1"}) for i in range(12)])
    puller = Puller(end.db, edge, Link(hub).fetch, ItemReplica(), page_size=3)
    puller.catch_up()
    record(hub, Change("item", "k0", EVERYONE, None), Change("item", "k1", EVERYONE, None))
    with hub.db.write() as conn:
        conn.execute(
            center.changes.update().values(changed_at=center.changes.c.changed_at - timedelta(days=40))
        )
        hub.changelog.purge_tombstones(conn, timedelta(days=30))
    record(hub, Change("item", "late", EVERYONE, {"value": "2"}))
    with end.db.write() as conn:  # this edge was away when the deletes happened
        conn.execute(edge.cursors.update().values(seq=2))
    resets = 0
    for _ in range(20):
        result = puller.pull_once()
        resets += result.reset
        if not result.has_more:
            break
    else:
        raise AssertionError("the reload never finished")
    assert resets == 1
    assert set(end.items()) == {f"k{i}" for i in range(2, 12)} | {"late"}


def test_a_woken_sender_sends_at_once_what_waited_out_a_cut(pair: tuple[Center, Edge]) -> None:
    """Another channel (a till's heartbeat) saw the center answer again: the documents backing off for
    minutes go now, not at the end of their back-off."""
    hub, end = pair
    link = Link(hub, up=False)
    queue(end, "a", "b")
    sender = OutboxSender(end.outbox, link.send, max_backoff=300.0)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while attempts(end) < 3 and time.monotonic() < deadline:  # backing off: the next try is 4 s away
            time.sleep(0.05)
        assert attempts(end) >= 3 and pending(end) == 2
        link.up = True
        woken = time.monotonic()
        sender.wake()
        while pending(end) and time.monotonic() - woken < 5:
            time.sleep(0.02)
        assert pending(end) == 0 and hub.note_count() == 2
        # The back-off after three failures is at least 2 s (4 s with jitter down to half): sent before.
        assert time.monotonic() - woken < 1.9
    finally:
        stop.set()
        sender.wake()
        thread.join(5)
