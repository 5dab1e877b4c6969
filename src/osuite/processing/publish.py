"""How what changes at a center reaches the others: the root records it in its change log, which every
subordinate follows; a subordinate queues it in its outbox for the root, which stores it and records it
in its change log in turn, so the other subordinates get it too. Either way in the transaction that
made the change, so nothing is published that did not happen, and nothing that happened is missed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from osuite.core.ids import new_id
from osuite.core.sync.changelog import Change
from osuite.core.sync.wire import EVERYONE
from osuite.processing.domain.journal import Movement

if TYPE_CHECKING:
    from osuite.processing.context import Processing

MOVEMENT = "movement"


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
        p.changelog.record(conn, [Change(MOVEMENT, m.id, EVERYONE, m.to_json()) for m in movements])
    else:
        for m in movements:
            p.outbox.add(conn, id=m.id, kind=MOVEMENT, payload=m.to_json())
