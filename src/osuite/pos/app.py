"""The POS's HTTP app: the JSON API the cashier's screen uses, the link to the data server in the
background, and on start the reconciliation of anything a crash interrupted."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

import osuite
from osuite.core.cli import settings_from_environment
from osuite.core.db import Database
from osuite.core.http import Principal, Problem, create_app, problem_response
from osuite.core.migrations import upgrade
from osuite.core.web import mount_static
from osuite.license.client import open_seat, seat_json
from osuite.pos import api, checkout, devices, loyalty, shifts
from osuite.pos.auth import session
from osuite.pos.context import NotEnrolled, Pos
from osuite.pos.errors import DeviceFailed, NeedsApproval, PosError
from osuite.pos.link import Link
from osuite.pos.receipts import NeedsAgeCheck
from osuite.pos.settings import PosSettings
from osuite.pos.ui import routes as ui_routes

UI_STATIC = Path(ui_routes.__file__).with_name("static")

log = logging.getLogger("osuite.pos")

MEND_SECONDS = 5.0

DESCRIPTION = """
The POS (the till): sells, takes payments, registers receipts on the fiscal registrar, and keeps
working with the data server down; its documents go up when the link is back.

Log in with `POST /api/v1/session {"pin": "1111"}` and send the token as `Authorization: Bearer …`.
A refusal is a problem document whose `type` says what the screen should do: `needs_approval` (ask for
a supervisor's PIN and repeat the request with `supervisor_pin`), `needs_weight`, `needs_age_check`
(repeat with `age_confirmed: true`), `device` (a registrar, card terminal or scale problem: show the
message, then retry).
"""


def open_pos(settings: PosSettings, *, migrate: bool = True) -> Pos:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate:
        upgrade(db, "osuite.pos")
    return Pos(
        settings=settings,
        db=db,
        registrar=devices.registrar(settings),
        card=devices.card_terminal(settings),
        scale=devices.scale(settings),
    )


def reconcile(pos: Pos) -> bool:
    """Finish what a crash or a silent device interrupted; False when a device does not answer yet."""
    done = True
    for part in (checkout.reconcile, shifts.reconcile):  # one silent device does not hold up the other
        try:
            with pos.lock:
                part(pos)
        except PosError as exc:
            log.warning("could not reconcile with the devices yet: %s", exc.message)
            done = False
    return done


def _mend(pos: Pos, stop: threading.Event, done: bool) -> None:
    """Reconcile again every few seconds while something waits on a silent device."""
    while not stop.wait(MEND_SECONDS):
        if not done or checkout.unsettled(pos):
            done = reconcile(pos)


def build_app(settings: PosSettings, *, migrate: bool = True) -> FastAPI:
    pos = open_pos(settings, migrate=migrate)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        reconciled = reconcile(pos)  # before the first request: a receipt a crash left is settled first
        mender = threading.Thread(target=_mend, args=(pos, stop, reconciled), name="pos-mend", daemon=True)
        mender.start()
        loyalty_thread = None
        if pos.processing is not None:
            pos.loyalty_sender = loyalty.sender(pos, pos.processing)
            loyalty_thread = threading.Thread(
                target=pos.loyalty_sender.run, args=(stop,), name="pos-loyalty", daemon=True
            )
            loyalty_thread.start()
        link = None
        terminal = None
        try:
            with pos.db.read() as conn:
                terminal = pos.terminal(conn)
        except NotEnrolled:
            log.warning("this till is not enrolled: run `osuite pos enroll` (selling needs the catalog)")
        pos.seat = open_seat(settings, "pos", terminal.name if terminal else "POS")
        if terminal is not None:
            link = Link(pos, terminal)
            link.start()
        app.state.link = link
        try:
            yield
        finally:
            stop.set()
            if link:
                link.stop()
            if pos.loyalty_sender is not None:
                pos.loyalty_sender.wake()
            for thread in (mender, loyalty_thread):
                if thread is not None:
                    thread.join(timeout=5)
            if pos.seat is not None:
                pos.seat.stop()
            pos.close()

    def authenticate(token: str) -> Principal | None:
        try:
            with pos.db.read() as conn:
                who = session(conn, token)
        except PosError:
            return None
        return Principal(kind="cashier", id=who.id, name=who.name, scopes=who.permissions)

    def health() -> dict[str, Any]:
        with pos.db.read() as conn:
            conn.execute(text("SELECT 1"))
        link: Link | None = app.state.link
        return {
            "database": "ok",
            "link": link.status() if link else None,
            "loyalty": loyalty.status(pos),
            "license": seat_json(pos.seat),
        }

    app = create_app(
        program="pos",
        version=osuite.__version__,
        authenticate=authenticate,
        health=health,
        lifespan=lifespan,
        description=DESCRIPTION,
    )
    app.state.pos = pos
    app.state.link = None

    @app.exception_handler(PosError)
    async def _refused(_request: Request, exc: PosError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if isinstance(exc, NeedsApproval):
            extra["permission"] = exc.permission
        if isinstance(exc, DeviceFailed):
            extra.update(device=exc.device, code=exc.code)
        if isinstance(exc, NeedsAgeCheck):
            extra["age"] = exc.age
        return problem_response(
            Problem(exc.status, exc.kind.replace("_", " ").capitalize(), exc.message, type_=exc.kind, **extra)
        )

    app.include_router(api.router)
    app.include_router(ui_routes.router)
    mount_static(app, UI_STATIC)
    return app


def from_environment() -> FastAPI:
    return build_app(settings_from_environment(PosSettings), migrate=False)
