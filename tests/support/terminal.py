"""A terminal for end-to-end tests, made only of the published client and the sync engine: it enrolls,
follows the catalog into a local SQLite replica and hands documents in through its outbox."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Column, Connection, MetaData, String, Table, Text, delete, select
from sqlalchemy.dialects.sqlite import insert

from osuite.core.db import Database
from osuite.core.sync.outbox import Outbox, OutboxSender
from osuite.core.sync.puller import Puller
from osuite.core.sync.tables import edge_tables
from osuite.core.sync.transport import ChangeRow
from osuite.core.sync.wire import DocumentIn
from osuite.dataserver.client import DataServerClient

metadata = MetaData()
edge = edge_tables(metadata)
replica = Table(
    "replica",
    metadata,
    Column("entity", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("payload", Text, nullable=False),
)


class GenericReplica:
    entities: Sequence[str] = (
        "store",
        "category",
        "product",
        "barcode",
        "price",
        "barcode_template",
        "payment_type",
        "role",
        "user",
        "terminal_settings",
    )

    def apply(self, conn: Connection, changes: Sequence[ChangeRow]) -> None:
        for c in changes:
            if c.op == "delete":
                conn.execute(delete(replica).where(replica.c.entity == c.entity, replica.c.key == c.key))
            else:
                row = {"entity": c.entity, "key": c.key, "payload": orjson.dumps(c.payload).decode()}
                conn.execute(
                    insert(replica)
                    .values(row)
                    .on_conflict_do_update(index_elements=["entity", "key"], set_={"payload": row["payload"]})
                )

    def retain(self, conn: Connection, entity: str, keys: set[str]) -> None:
        for key in (
            set(conn.execute(select(replica.c.key).where(replica.c.entity == entity)).scalars()) - keys
        ):
            conn.execute(delete(replica).where(replica.c.entity == entity, replica.c.key == key))


class Terminal:
    def __init__(self, folder: Path, server_url: str, code: str) -> None:
        enrolled = DataServerClient.enroll(server_url, code=code, name="test terminal")
        self.client_id = enrolled.client_id
        self.store_id = enrolled.store_id
        self.db = Database(f"sqlite:///{folder / 'terminal.db'}")
        metadata.create_all(self.db.engine)
        self.transport = DataServerClient(server_url, enrolled.token).sync()
        self.outbox = Outbox(self.db, edge.outbox)
        self.sender = OutboxSender(self.outbox, self.transport.send, batch_size=200, max_backoff=1.0)
        self.puller = Puller(self.db, edge, self.transport.changes, GenericReplica(), page_size=500)

    def close(self) -> None:
        self.transport.close()
        self.db.dispose()

    def queue(self, documents: Sequence[DocumentIn]) -> None:
        with self.db.write() as conn:
            for doc in documents:
                self.outbox.add(conn, id=doc.id, kind=doc.kind, payload=doc.payload)

    def pending(self) -> int:
        with self.db.read() as conn:
            return self.outbox.pending(conn)

    def replica(self, entity: str) -> dict[str, dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(select(replica.c.key, replica.c.payload).where(replica.c.entity == entity))
            return {key: orjson.loads(payload) for key, payload in rows}


def eventually(check: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    """Retry ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the server may be restarting
            last_error = exc
        time.sleep(0.2)
    raise AssertionError(
        f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else "")
    )
