"""A tiny center and edge built only from the sync engine, to test the engine without any program.

The center publishes "item" entities and takes "note" documents; the edge keeps items in a table and
counts how often each change was applied, so a test can see a change applied twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from osuite.core.db import Database
from osuite.core.http import Principal
from osuite.core.sync.changelog import ChangeLog
from osuite.core.sync.intake import Accepted, Intake
from osuite.core.sync.outbox import Outbox
from osuite.core.sync.tables import center_tables, edge_tables
from osuite.core.sync.transport import ChangeRow

center_meta = MetaData()
center = center_tables(center_meta)
notes = Table(
    "notes",
    center_meta,
    Column("id", String(36), primary_key=True),
    Column("text", Text),
    # What the database itself refuses, whatever the parser let through.
    CheckConstraint("length(text) < 50", name="ck_notes_short"),
)

edge_meta = MetaData()
edge = edge_tables(edge_meta)
items = Table(
    "items",
    edge_meta,
    Column("key", String(200), primary_key=True),
    Column("value", Text),
    Column("applied", Integer, nullable=False),
)

TERMINAL = Principal(kind="pos", id="t1", scopes=frozenset({"sync", "client"}), store_id="s1")


class Note(BaseModel):
    text: str


class NoteKind:
    kind = "note"

    def parse(self, payload: dict[str, Any], source: Principal) -> Note:
        note = Note.model_validate(payload)
        if not note.text:
            raise ValueError("a note needs text")
        return note

    def store(self, conn: Connection, documents: Sequence[Accepted[Note]], source: Principal) -> None:
        conn.execute(insert(notes), [{"id": d.id, "text": d.body.text} for d in documents])


@dataclass
class Center:
    db: Database
    changelog: ChangeLog
    intake: Intake

    @classmethod
    def create(cls, url: str) -> Center:
        db = Database(url)
        center_meta.create_all(db.engine)
        return cls(db=db, changelog=ChangeLog(db, center), intake=Intake(db, center, [NoteKind()]))

    def note_count(self) -> int:
        with self.db.read() as conn:
            return len(conn.execute(select(notes.c.id)).all())


class ItemReplica:
    entities: Sequence[str] = ("item",)

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after

    def apply(self, conn: Connection, changes: Sequence[ChangeRow]) -> None:
        for n, change in enumerate(changes):
            if self.fail_after is not None and n == self.fail_after:
                raise RuntimeError("power cut in the middle of a page")
            if change.op == "delete":
                conn.execute(delete(items).where(items.c.key == change.key))
                continue
            value = (change.payload or {}).get("value")
            if (
                conn.execute(
                    update(items)
                    .where(items.c.key == change.key)
                    .values(value=value, applied=items.c.applied + 1)
                ).rowcount
                == 0
            ):
                conn.execute(insert(items).values(key=change.key, value=value, applied=1))

    def retain(self, conn: Connection, entity: str, keys: set[str]) -> None:
        for key in set(conn.execute(select(items.c.key)).scalars()) - keys:
            conn.execute(delete(items).where(items.c.key == key))


@dataclass
class Edge:
    db: Database
    outbox: Outbox

    @classmethod
    def create(cls, url: str) -> Edge:
        db = Database(url)
        edge_meta.create_all(db.engine)
        return cls(db=db, outbox=Outbox(db, edge.outbox))

    def items(self) -> dict[str, tuple[str | None, int]]:
        with self.db.read() as conn:
            return {r.key: (r.value, r.applied) for r in conn.execute(select(items))}
