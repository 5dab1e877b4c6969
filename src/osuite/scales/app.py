"""The scale server's HTTP app: the JSON API and the web page of the scales, the link to the data server
and the uploader in the background."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select, text

import osuite
from osuite.core.cli import settings_from_environment
from osuite.core.db import Database
from osuite.core.http import Authenticator, Principal, Problem, create_app, problem_response
from osuite.core.ids import new_id
from osuite.core.migrations import upgrade
from osuite.core.security import new_token, token_digest
from osuite.core.web import mount_static
from osuite.license.client import open_seat, refuse_work, seat_json
from osuite.scales import api, drivers, ui
from osuite.scales import tables as t
from osuite.scales.link import Link
from osuite.scales.service import Opener, Scales, ScalesError
from osuite.scales.settings import ScalesSettings
from osuite.scales.uploader import Uploader

log = logging.getLogger("osuite.scales")

DESCRIPTION = """
The scale server: keeps the store's label scales (CAS CL, Shtrih-Print, Massa-K) loaded with the
products their rules pick, at the store's prices, and reloads what changes by itself.

Every call needs an API key made with `osuite scales key NAME`, sent as `Authorization: Bearer …`.
"""


def open_scales(
    settings: ScalesSettings, *, migrate: bool = True, open_driver: Opener = drivers.open_driver
) -> Scales:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate:
        upgrade(db, "osuite.scales")
    return Scales(settings=settings, db=db, open_driver=open_driver)


def create_key(scales: Scales, name: str) -> str:
    """A new API key for the scale server; its token is shown once."""
    token = new_token()
    with scales.db.write() as conn:
        conn.execute(
            insert(t.api_keys).values(
                id=new_id(), name=name, token_digest=token_digest(token), created_at=datetime.now(UTC)
            )
        )
    return token


def enroll(scales: Scales, *, client_id: str, store_id: str, name: str, server_url: str, token: str) -> None:
    with scales.db.write() as conn:
        conn.execute(t.enrollment.delete())
        conn.execute(
            insert(t.enrollment).values(
                id=1,
                client_id=client_id,
                store_id=store_id,
                name=name,
                server_url=server_url.rstrip("/"),
                token=token,
                enrolled_at=datetime.now(UTC),
            )
        )


def authenticator(scales: Scales) -> Authenticator:
    def authenticate(token: str) -> Principal | None:
        with scales.db.read() as conn:
            row = conn.execute(
                select(t.api_keys).where(
                    t.api_keys.c.token_digest == token_digest(token), t.api_keys.c.revoked_at.is_(None)
                )
            ).first()
        if row is None:
            return None
        return Principal(kind="key", id=row.id, name=row.name, scopes=frozenset({"manage"}))

    return authenticate


def build_app(
    settings: ScalesSettings, *, migrate: bool = True, open_driver: Opener = drivers.open_driver
) -> FastAPI:
    scales = open_scales(settings, migrate=migrate, open_driver=open_driver)
    uploader = Uploader(scales)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        scales.seat = open_seat(settings, "scales", "Scale server")
        app.state.refuse_work = refuse_work(scales.seat)
        worker = threading.Thread(target=uploader.run, args=(stop,), name="scales-uploader", daemon=True)
        worker.start()
        link = None
        with scales.db.read() as conn:
            enrolled = conn.execute(select(t.enrollment)).mappings().first()
        if enrolled is None:
            log.warning("not enrolled: run `osuite scales enroll SERVER CODE` (the catalog comes from there)")
        else:
            link = Link(scales, enrolled["server_url"], enrolled["token"])
            link.start()
        app.state.link = link
        try:
            yield
        finally:
            stop.set()
            uploader.wake()
            if link is not None:
                link.stop()
            worker.join(timeout=10)
            if scales.seat is not None:
                scales.seat.stop()
            scales.db.dispose()

    def health() -> dict[str, Any]:
        with scales.db.read() as conn:
            conn.execute(text("SELECT 1"))
        link: Link | None = app.state.link
        return {"database": "ok", "link": link.status() if link else None, "license": seat_json(scales.seat)}

    app = create_app(
        program="scales",
        version=osuite.__version__,
        authenticate=authenticator(scales),
        health=health,
        lifespan=lifespan,
        description=DESCRIPTION,
    )
    app.state.scales = scales
    app.state.uploader = uploader
    app.state.link = None

    @app.exception_handler(ScalesError)
    async def _refused(_request: Request, exc: ScalesError) -> JSONResponse:
        return problem_response(Problem(exc.status, "Refused", exc.message, type_="refused"))

    app.include_router(api.router)
    app.include_router(ui.router)
    mount_static(app, Path(ui.__file__).with_name("static"))
    return app


def from_environment() -> FastAPI:
    return build_app(settings_from_environment(ScalesSettings), migrate=False)
