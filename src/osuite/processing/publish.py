"""How what changes at a center reaches the others: the root records it in its change log, which every
subordinate follows; a subordinate queues it in its outbox for the root, which stores it and records it
in its change log in turn, so the other subordinates get it too. Either way it is written in the
transaction that made the change, so nothing is published that did not happen, and nothing that
happened is missed.

Movements at the root take one step more. Recording a change takes the change log's lock (every
writer queues there, so that ``seq`` follows commit order), which a till's hold or commit should not
wait for. So the transaction that stores a movement only queues its id (``unpublished_movements``),
and the :class:`Publisher` moves the queue into the change log in batches, in transactions of its
own: a movement is in the change log a moment after it is stored, and, the queue being written with
the movement, never lost on the way. Publishing one twice (two workers racing) is harmless: the change
log keeps one row per key, and replicas store movements by id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, delete, insert, select

from osuite.core.db import after_commit
from osuite.core.ids import new_id
from osuite.core.sync.changelog import Change
from osuite.core.sync.wire import EVERYONE
from osuite.processing import tables
from osuite.processing.domain.journal import Movement

if TYPE_CHECKING:
    from osuite.processing.context import Processing

log = logging.getLogger("osuite.processing")

MOVEMENT = "movement"
_QUEUE = insert(tables.unpublished)


def publish(
    conn: Connection, p: Processing, entity: str, key: str, payload: dict[str, Any], *, document_id: str = ""
) -> None:
    """Publish one entity's new state (``payload``) under ``key``."""
    if p.is_root:
        p.changelog.record(conn, [Change(entity, key, EVERYONE, payload)])
    else:
        p.outbox.add(conn, id=document_id or new_id(), kind=entity, payload=payload)


def publish_movements(conn: Connection, p: Processing, movements: Sequence[Movement]) -> None:
    """Movements are documents with ids of their own: the same id everywhere they go."""
    if p.is_root:
        conn.execute(_QUEUE, [{"id": m.id} for m in movements])
        after_commit(conn, p.publisher.wake)
    else:
        for m in movements:
            p.outbox.add(conn, id=m.id, kind=MOVEMENT, payload=m.to_json())


class Publisher:
    """Moves the root's queued movements into its change log; :meth:`run` in a thread, or
    :meth:`drain` at once (tests, the command line)."""

    def __init__(self, batch: int = 1000) -> None:
        self.batch = batch
        self._wake = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def drain(self, p: Processing) -> int:
        """Publish everything queued; the number of movements published."""
        total = 0
        while True:
            done = self._publish_batch(p)
            total += done
            if done < self.batch:
                return total

    def _publish_batch(self, p: Processing) -> int:
        q = tables.unpublished.c
        m = tables.movements.c
        with p.write() as conn:
            ids = list(
                conn.execute(
                    select(q.id).order_by(q.id).limit(self.batch).with_for_update(skip_locked=True)
                ).scalars()
            )
            if not ids:
                return 0
            bodies = conn.execute(select(m.id, m.body).where(m.id.in_(ids))).all()
            p.changelog.record(
                conn,
                [Change(MOVEMENT, movement_id, EVERYONE, orjson.loads(body)) for movement_id, body in bodies],
            )
            conn.execute(delete(tables.unpublished).where(q.id.in_(ids)))
        return len(ids)

    def run(self, p: Processing, stop: threading.Event, *, idle: float = 1.0) -> None:
        """Publish until ``stop`` is set: whenever movements were stored, else every ``idle`` seconds."""
        while not stop.is_set():
            try:
                self.drain(p)
            except Exception:  # a database hiccup must not stop publishing for good
                log.exception("publishing movements failed; will try again")
                stop.wait(1.0)
            self._wake.wait(idle)
            self._wake.clear()
