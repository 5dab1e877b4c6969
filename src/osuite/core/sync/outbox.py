"""The edge's outbox: a document and its outbox row are written in one local transaction; a sender
delivers them in batches and marks what the center holds. Nothing is ever dropped: a failed send is
retried with backoff (kept in the table, so it survives restarts), and a document the center refuses
is kept as a dead letter with the reason, for a person to look at.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Table, func, insert, select, update

from osuite.core.db import Database
from osuite.core.sync.transport import LinkDown, LinkRefused
from osuite.core.sync.wire import DocumentIn, IntakeAnswer

log = logging.getLogger("osuite.sync")

Send = Callable[[list[DocumentIn]], IntakeAnswer]


@dataclass(frozen=True)
class SendResult:
    sent: int = 0
    held: int = 0
    rejected: int = 0
    error: str | None = None


def backoff(attempts: int, *, base: float = 1.0, cap: float = 300.0) -> float:
    """Seconds to wait before the next attempt: doubling from ``base`` to ``cap``, with jitter."""
    delay: float = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.5, 1.0)


class Outbox:
    def __init__(self, db: Database, table: Table) -> None:
        self.db = db
        self.table = table

    def add(self, conn: Connection, *, id: str, kind: str, payload: dict[str, Any]) -> None:
        """Queue a document in the caller's transaction; it is sent once that commits."""
        now = datetime.now(UTC)
        conn.execute(
            insert(self.table).values(
                id=id,
                kind=kind,
                payload=orjson.dumps(payload).decode(),
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )

    def pending(self, conn: Connection) -> int:
        t = self.table.c
        return int(
            conn.execute(
                select(func.count()).where(t.delivered_at.is_(None), t.rejected_at.is_(None))
            ).scalar_one()
        )

    def dead_letters(self, conn: Connection) -> list[dict[str, Any]]:
        t = self.table.c
        rows = conn.execute(
            select(t.id, t.kind, t.last_error, t.rejected_at)
            .where(t.rejected_at.is_not(None))
            .order_by(t.position)
        )
        return [dict(r._mapping) for r in rows]


class OutboxSender:
    """Delivers the outbox; run :meth:`run` in a thread, or call :meth:`send_once` from tests."""

    def __init__(
        self, outbox: Outbox, send: Send, *, batch_size: int = 500, max_backoff: float = 300.0
    ) -> None:
        self.outbox = outbox
        self.send = send
        self.batch_size = batch_size
        self.max_backoff = max_backoff
        self.last_error: str | None = None
        self.last_success: datetime | None = None
        self._wake = threading.Event()

    def wake(self) -> None:
        """Send now rather than at the next tick (a document was just queued), or, while the link is
        down, retry every waiting document at once (the center answers again)."""
        self._wake.set()

    def send_once(self) -> SendResult:
        t = self.outbox.table.c
        now = datetime.now(UTC)
        with self.outbox.db.read() as conn:
            rows = conn.execute(
                select(t.id, t.kind, t.payload, t.attempts)
                .where(t.delivered_at.is_(None), t.rejected_at.is_(None), t.next_attempt_at <= now)
                .order_by(t.position)
                .limit(self.batch_size)
            ).all()
        if not rows:
            return SendResult()
        documents = [DocumentIn(id=r.id, kind=r.kind, payload=orjson.loads(r.payload)) for r in rows]
        try:
            answer = self.send(documents)
        except (LinkDown, LinkRefused) as exc:
            self._postpone(rows, str(exc))
            self.last_error = str(exc)
            return SendResult(sent=len(rows), error=str(exc))
        held = set(answer.held)
        rejected = {r.id: r.reason for r in answer.rejected}
        unanswered = [r for r in rows if r.id not in held and r.id not in rejected]
        done = datetime.now(UTC)
        with self.outbox.db.write() as conn:
            if held:
                ids = list(held)
                for start in range(0, len(ids), 500):
                    conn.execute(
                        update(self.outbox.table)
                        .where(t.id.in_(ids[start : start + 500]), t.delivered_at.is_(None))
                        .values(delivered_at=done)
                    )
            for doc_id, reason in rejected.items():
                conn.execute(
                    update(self.outbox.table)
                    .where(t.id == doc_id)
                    .values(rejected_at=done, last_error=reason)
                )
        if rejected:
            log.error("center refused %d documents; kept as dead letters: %s", len(rejected), rejected)
        if unanswered:
            self._postpone(unanswered, "the center did not answer for these documents")
        self.last_error = None
        self.last_success = done
        return SendResult(sent=len(rows), held=len(held), rejected=len(rejected))

    def _postpone(self, rows: Any, error: str) -> None:
        t = self.outbox.table.c
        now = datetime.now(UTC)
        with self.outbox.db.write() as conn:
            for row in rows:
                delay = backoff(row.attempts + 1, cap=self.max_backoff)
                conn.execute(
                    update(self.outbox.table)
                    .where(t.id == row.id)
                    .values(
                        attempts=row.attempts + 1,
                        next_attempt_at=now + timedelta(seconds=delay),
                        last_error=error[:1000],
                    )
                )

    def _due_now(self) -> None:
        """Every waiting document becomes due at once (the center is reachable again)."""
        t = self.outbox.table.c
        with self.outbox.db.write() as conn:
            conn.execute(
                update(self.outbox.table)
                .where(t.delivered_at.is_(None), t.rejected_at.is_(None))
                .values(next_attempt_at=datetime.now(UTC))
            )

    def run(self, stop: threading.Event, *, idle: float = 1.0) -> None:
        """Send until ``stop`` is set: at once while there is work, otherwise every ``idle`` seconds."""
        failures = 0
        while not stop.is_set():
            try:
                result = self.send_once()
            except Exception:  # a bug or a local database error must not kill the sender
                log.exception("outbox sender failed; retrying")
                result = SendResult(error="internal")
            if result.error is not None:
                failures += 1
                # The link is down: wait it out, unless told it is back (then retry everything now).
                if self._wake.wait(backoff(failures, cap=self.max_backoff)) and not stop.is_set():
                    self._due_now()
                self._wake.clear()
                continue
            failures = 0
            if result.sent:
                continue
            self._wake.wait(idle)
            self._wake.clear()
