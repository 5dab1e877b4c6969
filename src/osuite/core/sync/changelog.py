"""The center's change log: what changed, for whom, in an order a cursor can follow without gaps.

The log keeps one row per (entity, key, audience): recording a change replaces the row before it, so the
log is at once the current state (its upserts are the snapshot a new client loads) and the history a
cursor follows. Deletes stay as tombstones until :meth:`ChangeLog.purge_tombstones` drops the old
ones; a client whose cursor is older than that horizon is told to reset.

A cursor must never skip a change, so ``seq`` is assigned in commit order: on PostgreSQL every
recording transaction first takes one transaction-scoped advisory lock (held until commit), so a
change with a smaller ``seq`` can never commit after a reader has seen a larger one; SQLite has a
single writer, which gives the same order for free.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, text, update

from osuite.core.db import Database, after_commit, insert_rows
from osuite.core.sync.tables import CenterTables
from osuite.core.sync.wire import DELETE, UPSERT

log = logging.getLogger("osuite.sync")

NOTIFY_CHANNEL = "osuite_changes"
_ADVISORY_LOCK = 0x05_0517_C0DE
_HORIZON = "tombstone_horizon"


@dataclass(frozen=True)
class Change:
    """A change to record: ``payload`` None means the entity was deleted."""

    entity: str
    key: str
    audience: str
    payload: dict[str, Any] | None


@dataclass(frozen=True)
class Page:
    """Rows as stored, so the HTTP layer can pass payloads through without decoding them."""

    rows: list[tuple[int, str, str, str, str | None]]
    next: int
    has_more: bool
    reset: bool = False
    horizon: int = 0
    """The tombstone horizon when the page was read (see :meth:`ChangeLog.read`)."""


class Notifier:
    """Wakes long-polling readers when a change commits, in this process or (via PostgreSQL) another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def version(self) -> int:
        return self._version

    def notify(self) -> None:
        with self._lock:
            self._version += 1
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            loop.call_soon_threadsafe(_resolve, future)

    async def wait(self, seen_version: int, timeout: float) -> None:
        """Return when something changed after ``seen_version`` was read, or after ``timeout``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._version != seen_version:
                return
            self._waiters.append((loop, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            with self._lock:
                if (loop, future) in self._waiters:
                    self._waiters.remove((loop, future))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ChangeLog:
    def __init__(self, db: Database, tables: CenterTables, notifier: Notifier | None = None) -> None:
        self.db = db
        self.tables = tables
        self.notifier = notifier or Notifier()

    def record(self, conn: Connection, changes: Iterable[Change]) -> int:
        """Record changes in the caller's transaction; they become visible when it commits."""
        latest = {(c.entity, c.key, c.audience): c for c in changes}  # the last word on a key wins
        now = datetime.now(UTC)
        rows = [
            {
                "entity": c.entity,
                "key": c.key,
                "audience": c.audience,
                "op": DELETE if c.payload is None else UPSERT,
                "payload": None if c.payload is None else orjson.dumps(c.payload).decode(),
                "changed_at": now,
            }
            for c in latest.values()
        ]
        if not rows:
            return 0
        if not self.db.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
        table = self.tables.changes
        # Replace the previous row of each key: grouped so that each DELETE is an index lookup
        # (entity = ? AND audience = ? AND key IN (…)), never a scan of the log.
        keys_by_group: dict[tuple[str, str], list[str]] = {}
        for entity, key, audience in latest:
            keys_by_group.setdefault((entity, audience), []).append(key)
        for (entity, audience), keys in keys_by_group.items():
            for chunk in _chunks(keys, 500):
                conn.execute(
                    delete(table).where(
                        table.c.entity == entity, table.c.audience == audience, table.c.key.in_(chunk)
                    )
                )
        insert_rows(conn, table, rows)
        if not self.db.is_sqlite:
            conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        after_commit(conn, self.notifier.notify)
        return len(rows)

    def read(
        self, conn: Connection, *, since: int, audiences: Sequence[str], limit: int, snapshot: bool = False
    ) -> Page:
        """The next page after ``since`` for a client that belongs to ``audiences``.

        A client loading a snapshot pages through the whole log from 0: its cursor may lie below the
        tombstone horizon without having missed anything, so it is never told to reset. Every page says
        the horizon, though: one that moves while a snapshot is paged means tombstones were purged
        meanwhile, perhaps of rows the client took from an earlier page, and the client redoes its
        snapshot as a reset (:class:`~osuite.core.sync.puller.Puller`).
        """
        horizon = self.horizon(conn)
        if not snapshot and 0 < since < horizon:
            return Page(rows=[], next=0, has_more=True, reset=True, horizon=horizon)
        c = self.tables.changes.c
        query = (
            select(c.seq, c.entity, c.key, c.op, c.payload)
            .where(c.seq > since, c.audience.in_(list(audiences)))
            .order_by(c.seq)
            .limit(limit)
        )
        if since == 0:
            query = query.where(c.op == UPSERT)  # a client with nothing needs no tombstones
        rows = [tuple(r) for r in conn.execute(query)]
        next_seq = rows[-1][0] if rows else since
        return Page(rows=rows, next=next_seq, has_more=len(rows) == limit, horizon=horizon)

    def horizon(self, conn: Connection) -> int:
        value = conn.execute(
            select(self.tables.state.c.value).where(self.tables.state.c.name == _HORIZON)
        ).scalar()
        return int(value or 0)

    def last_seq(self, conn: Connection) -> int:
        return int(conn.execute(select(func.max(self.tables.changes.c.seq))).scalar() or 0)

    def purge_tombstones(self, conn: Connection, older_than: timedelta) -> int:
        """Drop deletes older than ``older_than``; clients whose cursor predates them must reset."""
        c = self.tables.changes.c
        cutoff = datetime.now(UTC) - older_than
        newest = conn.execute(select(func.max(c.seq)).where(c.op == DELETE, c.changed_at < cutoff)).scalar()
        if newest is None:
            return 0
        purged = conn.execute(delete(self.tables.changes).where(c.op == DELETE, c.seq <= newest)).rowcount
        state = self.tables.state
        if conn.execute(update(state).where(state.c.name == _HORIZON).values(value=newest)).rowcount == 0:
            conn.execute(insert(state).values(name=_HORIZON, value=newest))
        log.info("purged %d tombstones up to seq %d", purged, newest)
        return int(purged)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PostgresListener:
    """Forwards PostgreSQL ``NOTIFY`` from other ``serve`` processes to this process's notifier."""

    def __init__(self, url: str, notifier: Notifier) -> None:
        self._url = url.replace("postgresql+psycopg://", "postgresql://")
        self._notifier = notifier
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._notifier.notify()
            except psycopg.Error as exc:
                log.warning("change listener lost PostgreSQL (%s); retrying", exc)
                self._stop.wait(2.0)
