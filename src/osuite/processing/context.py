"""What every part of the processing center works with, and the FastAPI dependencies that hand it out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, insert, select

from osuite.core.db import Database
from osuite.core.http import Principal, requires
from osuite.core.ids import new_id
from osuite.core.sync.changelog import ChangeLog
from osuite.core.sync.outbox import Outbox
from osuite.processing import tables
from osuite.processing.journals import Journals
from osuite.processing.publish import Publisher
from osuite.processing.settings import ProcessingSettings, Role

# Scopes: administrators' API keys manage and read; a POS or a store's key carries out the POS's
# transactions; an enrolled subordinate syncs and asks for allowances.
MANAGE = "manage"
READ = "read"
POS = "pos"
SYNC = "sync"
SUBORDINATE = "subordinate"

KEY_SCOPES = {"manage": frozenset({MANAGE, READ, POS}), "read": frozenset({READ}), "pos": frozenset({POS})}
"""What an API key may do, by the name ``osuite processing key --scope`` takes."""


class RoleMismatch(RuntimeError):
    """The database was made for the other role; switching would break the allowance invariant."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Processing:
    settings: ProcessingSettings
    db: Database
    center_id: str
    role: Role
    changelog: ChangeLog
    outbox: Outbox
    journals: Journals
    publisher: Publisher = field(default_factory=Publisher)
    clock: Callable[[], datetime] = field(default=_now)
    writer: threading.Lock = field(default_factory=threading.Lock)
    allowances: Callable[[str, int, datetime], None] | None = None
    """At a subordinate linked to its root: ask the root to lend what a hold needs (see link.py)."""

    @property
    def is_root(self) -> bool:
        return self.role == "root"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction. On SQLite, the threads of this process take turns at a lock first: the
        database has one writer at a time anyway, and SQLite's own wait for its lock sleeps in steps
        of up to 100 ms, which under many tills costs seconds of tail latency."""
        if self.db.is_sqlite:
            with self.writer, self.db.write() as conn:
                yield conn
        else:
            with self.db.write() as conn:
                yield conn

    def now(self) -> datetime:
        return self.clock()

    @classmethod
    def open(
        cls, settings: ProcessingSettings, *, migrate: bool = True, stored_role: bool = False
    ) -> Processing:
        """The center on its database (brought up to date first when ``migrate``); its identity is made
        on the first open. Raises :class:`RoleMismatch` when the database was made for the other role,
        unless ``stored_role`` (an administrative command: the center is what its database says)."""
        db = Database(settings.database_url)
        if migrate:
            from osuite.core.migrations import upgrade  # Alembic takes a while to import; only here

            upgrade(db, "osuite.processing")
        with db.write() as conn:
            center_id, role = identify(conn, settings.role, stored_role=stored_role)
        return cls(
            settings=settings,
            db=db,
            center_id=center_id,
            role=role,
            changelog=ChangeLog(db, tables.center),
            outbox=Outbox(db, tables.edge.outbox),
            journals=Journals(capacity=settings.cached_accounts),
        )


def identify(conn: Connection, role: Role | None, *, stored_role: bool = False) -> tuple[str, Role]:
    """This center's id and role, made on the first start (a root unless told otherwise); a database
    keeps its role for good."""
    row = conn.execute(select(tables.identity.c.center_id, tables.identity.c.role)).first()
    if row is None:
        role = role or "root"
        center_id = new_id()
        conn.execute(insert(tables.identity).values(id=1, center_id=center_id, role=role, created_at=_now()))
        return center_id, role
    if role is not None and row.role != role and not stored_role:
        raise RoleMismatch(
            f"this database belongs to a {row.role} center, not a {role}: start it with --role {row.role}, "
            f"or give the {role} a database of its own"
        )
    return row.center_id, row.role


async def get_processing(request: Request) -> Processing:
    """Async, like everything cheap a route depends on: a sync dependency costs a trip to the thread
    pool on every call."""
    p: Processing = request.app.state.processing
    return p


Center = Annotated[Processing, Depends(get_processing)]
Admin = Annotated[Principal, Depends(requires(MANAGE))]
Reader = Annotated[Principal, Depends(requires(READ))]
Till = Annotated[Principal, Depends(requires(POS))]
Subordinate = Annotated[Principal, Depends(requires(SUBORDINATE))]
