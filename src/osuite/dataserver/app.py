"""The data server's HTTP app: the sync center for its clients, the management API, and (when it is a
store server enrolled with HQ) the link that pulls HQ's reference data and forwards documents up."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

import osuite
from osuite.core.cli import settings_from_environment
from osuite.core.http import create_app
from osuite.core.migrations import upgrade
from osuite.core.sync.changelog import PostgresListener
from osuite.core.sync.intake import Intake
from osuite.core.sync.routes import sync_router
from osuite.dataserver import catalog_api, clients, clients_api, documents, documents_api, tables, upstream
from osuite.dataserver.context import DataServer
from osuite.dataserver.settings import DataServerSettings
from osuite.license.client import open_seat, refuse_work, seat_json

log = logging.getLogger("osuite.dataserver")

DESCRIPTION = """
The data server feeds terminals and other programs with reference data (catalog, prices, users,
settings) through the sync engine, collects their documents (shifts, receipts, cash operations,
Z reports) exactly once, and controls them remotely (heartbeats, commands).

Authenticate with `Authorization: Bearer <token>`: an administrator's API key
(`osuite dataserver apikey`) for the management API, or the token a client received at enrollment.
"""


def build_app(settings: DataServerSettings, *, migrate: bool = True) -> FastAPI:
    ds = DataServer.open(settings)
    if migrate:
        upgrade(ds.db, "osuite.dataserver")
    intake = Intake(ds.db, tables.center, documents.document_kinds(ds), on_new=upstream.forward(ds))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        seat = open_seat(settings, "dataserver", "Data server")
        # Stopped by its license, it still collects what the terminals sold and hears them.
        app.state.refuse_work = refuse_work(seat, ("/api/v1/sync/", "/api/v1/clients/me/"))
        app.state.seat = seat
        listener = None if ds.db.is_sqlite else PostgresListener(ds.db.url, ds.changelog.notifier)
        if listener:
            listener.start()
        link = upstream.Link.start_if_joined(ds, stop)
        housekeeping = threading.Thread(
            target=_housekeeping, args=(ds, stop), name="housekeeping", daemon=True
        )
        housekeeping.start()
        app.state.link = link
        try:
            yield
        finally:
            stop.set()
            if link:
                link.join()
            if listener:
                listener.stop()
            if seat is not None:
                seat.stop()
            ds.db.dispose()

    def health() -> dict[str, Any]:
        with ds.db.read() as conn:
            conn.execute(text("SELECT 1"))
        link: upstream.Link | None = app.state.link
        return {
            "database": "ok",
            **({"upstream": link.status()} if link else {}),
            **({"license": seat_json(app.state.seat)} if app.state.seat else {}),
        }

    app = create_app(
        program="dataserver",
        version=osuite.__version__,
        authenticate=clients.Authenticator(ds),
        health=health,
        lifespan=lifespan,
        description=DESCRIPTION,
    )
    app.state.ds = ds
    app.state.link = None
    app.state.seat = None
    app.include_router(sync_router(changelog=ds.changelog, intake=intake, audiences=clients.audiences))
    app.include_router(clients_api.router)
    app.include_router(catalog_api.router)
    app.include_router(documents_api.router)
    return app


def from_environment() -> FastAPI:
    """The app of one `serve` worker process; `serve` applied the migrations before starting them."""
    return build_app(settings_from_environment(DataServerSettings), migrate=False)


def _housekeeping(ds: DataServer, stop: threading.Event) -> None:
    """Hourly: drop tombstones older than the retention so the change log does not grow for ever."""
    retention = timedelta(days=ds.settings.tombstone_retention_days)
    while not stop.wait(3600):
        try:
            with ds.db.write() as conn:
                ds.changelog.purge_tombstones(conn, retention)
        except Exception:
            log.exception("housekeeping failed; will try again in an hour")
