"""The store data server's link to its HQ data server, built from the same sync engine as a POS.

Down: HQ's reference data for this store is pulled into the local catalog, which republishes it to
this server's own clients through its own change log. Up: every document a terminal hands in is queued
for HQ in the transaction that stores it, and an outbox sender delivers it, exactly once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Connection, delete, insert, select

from osuite.core.http import Problem
from osuite.core.sync.outbox import OutboxSender
from osuite.core.sync.puller import Puller
from osuite.core.sync.transport import ChangeRow, SyncTransport
from osuite.core.sync.wire import DocumentIn
from osuite.dataserver import catalog, tables
from osuite.dataserver.context import DataServer

log = logging.getLogger("osuite.dataserver.upstream")


def joined(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(tables.upstream)).mappings().first()
    return dict(row) if row else None


def join(ds: DataServer, *, url: str, code: str, name: str) -> dict[str, Any]:
    """Enroll this server with HQ using a code HQ issued for this store (kind ``dataserver``)."""
    from osuite import __version__
    from osuite.dataserver.client import DataServerClient, DataServerError

    with ds.db.read() as conn:
        if joined(conn):
            raise Problem(409, "Already joined", "this data server is already enrolled with an HQ server")
    try:
        enrolled = DataServerClient.enroll(url, code=code, name=name, version=__version__)
    except httpx.HTTPError as exc:
        raise Problem(502, "HQ unreachable", f"could not reach {url}: {exc}") from exc
    except DataServerError as exc:
        raise Problem(
            exc.status or 502, "HQ refused", f"{url} refused to enroll this server: {exc.detail}"
        ) from exc
    if enrolled.kind != "dataserver":
        raise Problem(422, "Wrong code", f"the code was issued for a {enrolled.kind}, not a data server")
    with ds.db.write() as conn:
        conn.execute(delete(tables.upstream))
        conn.execute(
            insert(tables.upstream).values(
                id=1,
                url=url.rstrip("/"),
                token=enrolled.token,
                client_id=enrolled.client_id,
                store_id=enrolled.store_id,
                joined_at=datetime.now(UTC),
            )
        )
    return {"client_id": enrolled.client_id, "store_id": enrolled.store_id, "url": url}


def forward(ds: DataServer) -> Any:
    """The intake's ``on_new`` hook: queue new documents for HQ when this server is joined."""

    def on_new(conn: Connection, documents: list[DocumentIn]) -> None:
        if joined(conn) is None:
            return
        for doc in documents:
            ds.upstream_outbox.add(conn, id=doc.id, kind=doc.kind, payload=doc.payload)

    return on_new


class CatalogReplica:
    """HQ's reference data applied to the local catalog (which republishes it downstream)."""

    def __init__(self, ds: DataServer) -> None:
        self.ds = ds
        self.entities: Sequence[str] = catalog.REPLICATED_ENTITIES

    def apply(self, conn: Connection, changes: Sequence[ChangeRow]) -> None:
        catalog.apply_replicated(conn, self.ds, changes)

    def retain(self, conn: Connection, entity: str, keys: set[str]) -> None:
        catalog.retain_replicated(conn, self.ds, entity, keys)


class Link:
    """The two threads that keep a joined store server in step with HQ."""

    def __init__(self, ds: DataServer, transport: SyncTransport) -> None:
        self.transport = transport
        self.puller = Puller(ds.db, tables.edge, transport.changes, CatalogReplica(ds), link="hq")
        self.sender = OutboxSender(ds.upstream_outbox, transport.send)
        self._threads: list[threading.Thread] = []

    @classmethod
    def start_if_joined(cls, ds: DataServer, stop: threading.Event) -> Link | None:
        if not ds.settings.upstream_sync:
            return None
        with ds.db.read() as conn:
            row = joined(conn)
        if row is None:
            return None
        link = cls(ds, SyncTransport(row["url"], row["token"]))
        link._threads = [
            threading.Thread(target=link.puller.run, args=(stop,), name="hq-pull", daemon=True),
            threading.Thread(target=link.sender.run, args=(stop,), name="hq-send", daemon=True),
        ]
        for thread in link._threads:
            thread.start()
        log.info("following HQ at %s", row["url"])
        return link

    def join(self) -> None:
        """Wait briefly: a long-poll in flight may take its full wait to return, and a daemon thread
        cut short loses nothing (its page or batch is applied in one transaction or not at all)."""
        for thread in self._threads:
            thread.join(timeout=2)

    def status(self) -> dict[str, Any]:
        """The link as /healthz shows it, so the IT person sees whether HQ is being reached."""
        with self.sender.outbox.db.read() as conn:
            waiting = self.sender.outbox.pending(conn)
        return {
            "documents_waiting": waiting,
            "url": self.transport.base_url,
            "pull_error": self.puller.last_error,
            "send_error": self.sender.last_error,
            "last_pull": self.puller.last_success,
            "last_send": self.sender.last_success,
        }
