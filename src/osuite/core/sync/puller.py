"""The edge's puller: follows the center's change log into a local replica.

Each page is applied and the cursor advanced in one local transaction, so a process killed half-way
through a page leaves the cursor where it was and the next pull repeats the page from scratch. When the
center says the cursor was compacted away, the puller reloads from zero (a snapshot) over the data it
has, keeps selling from it meanwhile, and at the end drops what the snapshot did not mention.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from osuite.core.db import Database
from osuite.core.sync.outbox import backoff
from osuite.core.sync.tables import EdgeTables
from osuite.core.sync.transport import ChangeRow, FetchedPage, LinkDown, LinkRefused
from osuite.core.sync.wire import UPSERT

log = logging.getLogger("osuite.sync")

Fetch = Callable[[int, int, float, bool], FetchedPage]
"""(since, limit, wait, snapshot) → the next page; SyncTransport.changes is one."""

Gate = Callable[[], AbstractContextManager[object]]
"""Held while a fetched page is applied: an edge that must not change under a user's feet (a till in
the middle of a receipt) waits there, while the next page is already being fetched."""


class Replica(Protocol):
    """The edge's copy of what the center publishes; applies changes in the puller's transaction."""

    entities: Sequence[str]

    def apply(self, conn: Connection, changes: Sequence[ChangeRow]) -> None:
        """Upsert or delete each change, in order; a delete of something absent is not an error."""
        ...

    def retain(self, conn: Connection, entity: str, keys: set[str]) -> None:
        """After a snapshot: delete every replicated ``entity`` whose key is not in ``keys``."""
        ...


@dataclass(frozen=True)
class PullResult:
    applied: int
    has_more: bool
    cursor: int
    snapshot: bool = False
    reset: bool = False


@dataclass(frozen=True)
class CursorState:
    seq: int
    snapshot: bool
    resetting: bool


class Puller:
    def __init__(
        self,
        db: Database,
        tables: EdgeTables,
        fetch: Fetch,
        replica: Replica,
        *,
        link: str = "upstream",
        page_size: int = 1000,
        gate: Gate = nullcontext,
    ) -> None:
        self.db = db
        self.gate = gate
        self.tables = tables
        self.fetch = fetch
        self.replica = replica
        self.link = link
        self.page_size = page_size
        self.last_error: str | None = None
        self.last_success: datetime | None = None
        self._wake = threading.Event()
        self._snapshot_horizon: int | None = None
        """The center's tombstone horizon when this process began the snapshot it is paging."""

    def wake(self) -> None:
        """Cut a back-off short and pull at once (the center is known to answer again)."""
        self._wake.set()

    def cursor(self) -> int:
        with self.db.read() as conn:
            return self._cursor(conn).seq

    def pull_once(self, wait: float = 0) -> PullResult:
        with self.db.read() as conn:
            state = self._cursor(conn)
        return self._apply(state.seq, self.fetch(state.seq, self.page_size, wait, state.snapshot))

    def catch_up(self) -> int:
        """Pull until the center has nothing more; the number of changes applied.

        The next page is fetched while the current one is applied, so the center's work and ours
        overlap. A prefetched page is only applied if the cursor is still where it was fetched from.
        """
        total = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as pool:
            with self.db.read() as conn:
                state = self._cursor(conn)
            since, snapshot = state.seq, state.snapshot
            pending: Future[FetchedPage] = pool.submit(self.fetch, since, self.page_size, 0, snapshot)
            while True:
                page = pending.result()
                prefetched = (page.next, snapshot) if page.has_more and not page.reset else None
                if prefetched is not None:
                    pending = pool.submit(self.fetch, page.next, self.page_size, 0, snapshot)
                result = self._apply(since, page)
                total += result.applied
                if not result.has_more:
                    return total
                since, snapshot = result.cursor, result.snapshot
                if (since, snapshot) != prefetched:  # a reset, or another puller moved the cursor
                    pending = pool.submit(self.fetch, since, self.page_size, 0, snapshot)

    def run(self, stop: threading.Event, *, wait: float = 25.0) -> None:
        """Follow the log until ``stop`` is set: catch up at full speed, then long-poll for the next
        change; back off while the center is unreachable."""
        failures = 0
        while not stop.is_set():
            try:
                self.catch_up()
                self.last_error = None  # reachable again: say so now, not after the long-poll
                failures = 0
                self.pull_once(wait=wait)
            except (LinkDown, LinkRefused) as exc:
                failures += 1
                self.last_error = str(exc)
                self._pause(stop, backoff(failures, cap=60.0))
            except Exception as exc:  # a bug in a replica must not stop the link for good
                failures += 1
                self.last_error = f"applying changes failed: {exc}"
                log.exception("applying changes failed; will retry")
                self._pause(stop, backoff(failures, cap=60.0))

    def _pause(self, stop: threading.Event, seconds: float) -> None:
        """Wait ``seconds``, or less when stopped or woken."""
        deadline = time.monotonic() + seconds
        while not stop.is_set() and not self._wake.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            stop.wait(min(left, 0.2))
        self._wake.clear()

    def _apply(self, since: int, page: FetchedPage) -> PullResult:
        """Apply one page fetched from ``since`` and move the cursor, in one transaction."""
        if page.reset or self._purged_during_snapshot(since, page):
            log.warning("center compacted history past cursor %d: reloading a snapshot", since)
            with self.gate(), self.db.write() as conn:
                self._save_cursor(conn, CursorState(0, snapshot=True, resetting=True))
                keys = self.tables.snapshot_keys
                conn.execute(delete(keys).where(keys.c.link == self.link))
            return PullResult(applied=0, has_more=True, cursor=0, snapshot=True, reset=True)
        with self.gate(), self.db.write() as conn:
            state = self._cursor(conn)
            if state.seq != since:  # another puller advanced meanwhile; its work stands
                return PullResult(applied=0, has_more=True, cursor=state.seq, snapshot=state.snapshot)
            self.replica.apply(conn, page.changes)
            snapshot, resetting = state.snapshot, state.resetting
            if resetting:
                self._remember_keys(conn, page.changes)
            if snapshot and not page.has_more:  # the snapshot is complete: follow from here on
                if resetting:
                    self._sweep(conn)
                snapshot = resetting = False
            self._save_cursor(conn, CursorState(page.next, snapshot=snapshot, resetting=resetting))
        self.last_success = datetime.now(UTC)
        return PullResult(
            applied=len(page.changes), has_more=page.has_more, cursor=page.next, snapshot=snapshot
        )

    def _purged_during_snapshot(self, since: int, page: FetchedPage) -> bool:
        """Whether tombstones may have been purged while this edge paged a plain snapshot: a row it took
        from an earlier page may since have been deleted, its tombstone gone, so the snapshot is redone
        as a reset (which drops what it does not mention). Known when the horizon moved since the first
        page; assumed when this process resumed a snapshot another one began below the horizon."""
        if since == 0:
            self._snapshot_horizon = page.horizon
            return False
        if page.horizon == 0:  # nothing was ever purged
            return False
        with self.db.read() as conn:
            state = self._cursor(conn)
        if not state.snapshot or state.resetting or state.seq != since:
            return False
        began = self._snapshot_horizon
        return page.horizon > began if began is not None else since < page.horizon

    def _cursor(self, conn: Connection) -> CursorState:
        """Where this link stands; a link never pulled starts with a snapshot."""
        c = self.tables.cursors.c
        row = conn.execute(select(c.seq, c.snapshot, c.resetting).where(c.link == self.link)).first()
        if row is None:
            return CursorState(0, snapshot=True, resetting=False)
        return CursorState(int(row.seq), snapshot=bool(row.snapshot), resetting=bool(row.resetting))

    def _save_cursor(self, conn: Connection, state: CursorState) -> None:
        table = self.tables.cursors
        values = {
            "seq": state.seq,
            "snapshot": state.snapshot,
            "resetting": state.resetting,
            "updated_at": datetime.now(UTC),
        }
        if conn.execute(update(table).where(table.c.link == self.link).values(**values)).rowcount == 0:
            conn.execute(insert(table).values(link=self.link, **values))

    def _remember_keys(self, conn: Connection, changes: Sequence[ChangeRow]) -> None:
        rows = [{"link": self.link, "entity": c.entity, "key": c.key} for c in changes if c.op == UPSERT]
        if not rows:
            return
        dialect = sqlite if self.db.is_sqlite else postgresql
        for start in range(0, len(rows), 500):
            statement = dialect.insert(self.tables.snapshot_keys).values(rows[start : start + 500])
            conn.execute(statement.on_conflict_do_nothing())

    def _sweep(self, conn: Connection) -> None:
        keys = self.tables.snapshot_keys
        for entity in self.replica.entities:
            seen = set(
                conn.execute(
                    select(keys.c.key).where(keys.c.link == self.link, keys.c.entity == entity)
                ).scalars()
            )
            self.replica.retain(conn, entity, seen)
        conn.execute(delete(keys).where(keys.c.link == self.link))
