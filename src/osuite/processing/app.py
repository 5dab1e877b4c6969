"""The processing center's HTTP app: the POS's transactions, the back office's API, and (Phase 2) the
sync between the root and its subordinates."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

import osuite
from osuite.core.cli import settings_from_environment
from osuite.core.http import create_app, problem_response
from osuite.core.sync.changelog import PostgresListener
from osuite.core.sync.intake import Intake
from osuite.core.sync.routes import sync_router
from osuite.core.sync.wire import EVERYONE
from osuite.license.client import open_seat, refuse_work, seat_json
from osuite.processing import access, api, programs, replication, tables
from osuite.processing.context import Processing
from osuite.processing.domain.errors import DomainError
from osuite.processing.errors import problem_of
from osuite.processing.link import Link
from osuite.processing.settings import ProcessingSettings

FINISHING = (
    "/api/v1/transactions/commit",
    "/api/v1/transactions/cancel",
    "/api/v1/transactions/accrue",
    "/api/v1/transactions/return",
    "/api/v1/sync/",
    "/api/v1/allowances",
)
"""What a center stopped by its license still does: finish sales already made, and keep in sync."""

log = logging.getLogger("osuite.processing")

DESCRIPTION = """
The processing center keeps customers' loyalty accounts: cards, bonus points, discount levels and gift
cards. A POS looks a card up, holds points for an open receipt, commits or cancels the hold, has the
receipt's points accrued when it closes, and has them taken back (and spent points given back) on a
return. Every call that changes an account carries a `transaction_id` made at the POS: a retry gets
the same answer and changes nothing; the same id with other contents is refused (409,
`conflicting_retry`).

Authenticate with `Authorization: Bearer <token>`: an API key from `osuite processing key` (scope
`manage` for the back office, `pos` for a POS or a store, `read` to look only).
"""

TAGS = [
    {"name": "pos", "description": "What a POS does with a card on a receipt"},
    {"name": "customers", "description": "Customers and their journals"},
    {"name": "cards", "description": "Issue, block, unblock, lose and replace cards"},
    {"name": "accounts", "description": "Balances, journals and adjustments"},
    {"name": "programs", "description": "Loyalty programs (managed at the root)"},
    {"name": "import", "description": "CSV import of customers and cards"},
    {"name": "subordinates", "description": "Enrollment of subordinates and their allowances (at the root)"},
    {"name": "sync", "description": "What subordinates pull from the root and send to it"},
]


def build_app(
    settings: ProcessingSettings, *, migrate: bool = True, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    p = Processing.open(settings, migrate=migrate)
    if clock is not None:
        p.clock = clock
    programs.ensure_default(p)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        seat = open_seat(
            settings, "processing" if p.is_root else "processing_subordinate", f"Processing ({p.role})"
        )
        # Stopped by its license, it takes no new spending, but finishes what tills already sold.
        app.state.refuse_work = refuse_work(seat, FINISHING)
        app.state.seat = seat
        publisher = threading.Thread(target=p.publisher.run, args=(p, stop), name="publisher", daemon=True)
        listener = None
        if p.is_root:
            publisher.start()
            if not p.db.is_sqlite:
                listener = PostgresListener(p.db.url, p.changelog.notifier)
                listener.start()
        upstream = Link.start_if_enrolled(p, stop)
        app.state.link = upstream
        try:
            yield
        finally:
            stop.set()
            p.publisher.wake()
            if upstream is not None:
                p.allowances = None
                upstream.stop()
            if publisher.is_alive():
                publisher.join(timeout=5)
            if listener is not None:
                listener.stop()
            if seat is not None:
                seat.stop()
            p.db.dispose()

    def health() -> dict[str, Any]:
        with p.db.read() as conn:
            conn.execute(text("SELECT 1"))
        body: dict[str, Any] = {"database": "ok", "role": p.role, "center_id": p.center_id}
        upstream: Link | None = app.state.link
        if upstream is not None:
            body["root"] = upstream.status()
        elif not p.is_root:
            body["root"] = "not enrolled: run osuite processing enroll ROOT_URL CODE"
        if app.state.seat is not None:
            body["license"] = seat_json(app.state.seat)
        return body

    app = create_app(
        program="processing",
        version=osuite.__version__,
        authenticate=access.Authenticator(p),
        health=health,
        lifespan=lifespan,
        description=DESCRIPTION,
        tags=TAGS,
    )
    app.state.processing = p
    app.state.link = None
    app.state.seat = None

    @app.exception_handler(DomainError)
    async def _refused(_request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(problem_of(exc))

    app.include_router(api.router)
    if p.is_root:
        intake = Intake(p.db, tables.center, replication.document_kinds(p))
        app.include_router(
            sync_router(changelog=p.changelog, intake=intake, audiences=lambda _who: [EVERYONE])
        )
    return app


def from_environment() -> FastAPI:
    """The app of one `serve` worker process; `serve` applied the migrations before starting them."""
    return build_app(settings_from_environment(ProcessingSettings), migrate=False)
