"""The engine's tables, added to a program's own metadata so its migrations create them.

A center (a data server, a root processing center) uses :func:`center_tables`; an edge (a POS, a store
data server towards HQ) uses :func:`edge_tables`; a program that is both uses both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# SQLite only accepts INTEGER for an autoincrementing primary key; elsewhere seq is 64-bit.
Seq = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class CenterTables:
    changes: Table
    state: Table
    inbox: Table


@dataclass(frozen=True)
class EdgeTables:
    outbox: Table
    cursors: Table
    snapshot_keys: Table


def center_tables(metadata: MetaData) -> CenterTables:
    changes = Table(
        "sync_changes",
        metadata,
        # AUTOINCREMENT: a seq is never reused after its row is superseded or purged, so a client that
        # saw it can never skip a new change wearing the same number.
        Column("seq", Seq, primary_key=True, autoincrement=True),
        Column("entity", String(64), nullable=False),
        Column("key", String(200), nullable=False),
        Column("audience", String(80), nullable=False),
        Column("op", String(8), nullable=False),
        Column("payload", Text),
        Column("changed_at", DateTime(timezone=True), nullable=False),
        Index("ix_sync_changes_audience_seq", "audience", "seq"),
        Index("ix_sync_changes_identity", "entity", "key", "audience"),
        sqlite_autoincrement=True,
    )
    state = Table(
        "sync_state",
        metadata,
        Column("name", String(64), primary_key=True),
        Column("value", BigInteger, nullable=False),
    )
    inbox = Table(
        "sync_inbox",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("digest", String(64), nullable=False),
        Column("source", String(64), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
    )
    return CenterTables(changes=changes, state=state, inbox=inbox)


def outbox_table(metadata: MetaData, name: str = "sync_outbox") -> Table:
    """An outbox; an edge that sends to two centers (a POS: its data server and its processing center)
    keeps one per center, so a center that is down never holds up the other's documents."""
    return Table(
        name,
        metadata,
        Column("position", Seq, primary_key=True, autoincrement=True),
        Column("id", String(36), nullable=False, unique=True),
        Column("kind", String(64), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("last_error", Text),
        Column("delivered_at", DateTime(timezone=True)),
        Column("rejected_at", DateTime(timezone=True)),
        Index(f"ix_{name}_due", "delivered_at", "rejected_at", "next_attempt_at"),
        sqlite_autoincrement=True,
    )


def edge_tables(metadata: MetaData) -> EdgeTables:
    outbox = outbox_table(metadata)
    cursors = Table(
        "sync_cursors",
        metadata,
        Column("link", String(64), primary_key=True),
        Column("seq", BigInteger, nullable=False),
        # snapshot: paging through a whole snapshot (a new edge, or after a reset); resetting: when it
        # ends, drop whatever the snapshot did not mention.
        Column("snapshot", Boolean, nullable=False, default=False),
        Column("resetting", Boolean, nullable=False, default=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    snapshot_keys = Table(
        "sync_snapshot_keys",
        metadata,
        Column("link", String(64), primary_key=True),
        Column("entity", String(64), primary_key=True),
        Column("key", String(200), primary_key=True),
    )
    return EdgeTables(outbox=outbox, cursors=cursors, snapshot_keys=snapshot_keys)
