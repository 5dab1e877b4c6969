"""The license server's HTTP app: the verified license, the seat leases in its database, the API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
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
from osuite.license import api, document
from osuite.license import tables as t
from osuite.license.service import Clock, Seats, SeatsError, system_clock
from osuite.license.settings import LicenseSettings

log = logging.getLogger("osuite.license")

DESCRIPTION = """
The license server: checks the store's signed license file and hands out seats to the suite's programs.

A program takes a seat with `POST /api/v1/leases` (its kind and its machine id), renews it every few
minutes, and gives it back when it stops; a seat not renewed for `lease_minutes` is freed. Leases and
the listings need no token; `/metrics` and freeing another machine's seat need an API key made with
`osuite license key NAME`.
"""


_TITLES = {
    "no_free_seat": "No free seat",
    "not_licensed": "Not licensed",
    "license_expired": "License expired",
    "lease_gone": "Lease gone",
}


class LicenseNotUsable(Exception):
    """The server cannot start: no key, no license, or a license that does not verify."""


def read_license(settings: LicenseSettings) -> tuple[document.License, bytes]:
    """The verified license the settings point to (expired or not), with its file's bytes."""
    if settings.public_key_file is None:
        raise LicenseNotUsable(
            "no public key is configured: set public_key_file (or --public-key FILE) to the vendor's "
            "public key that checks the license file"
        )
    if settings.license_file is None:
        raise LicenseNotUsable("no license file is configured: set license_file (or --license FILE)")
    key_bytes = _read(settings.public_key_file, "public key")
    data = _read(settings.license_file, "license file")
    try:
        key = document.load_public_key(key_bytes)
    except document.LicenseError as exc:
        raise LicenseNotUsable(f"{settings.public_key_file}: {exc}") from None
    try:
        return document.verify(data, key), data
    except document.LicenseError as exc:
        raise LicenseNotUsable(f"{settings.license_file}: {exc}") from None


def _read(path: Any, what: str) -> bytes:
    try:
        return bytes(path.read_bytes())
    except FileNotFoundError:
        raise LicenseNotUsable(f"the {what} {path} does not exist") from None
    except OSError as exc:
        raise LicenseNotUsable(f"the {what} {path} cannot be read: {exc.strerror}") from None


def open_database(settings: LicenseSettings, *, migrate: bool = True) -> Database:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate:
        upgrade(db, "osuite.license")
    return db


def open_seats(settings: LicenseSettings, *, migrate: bool = True, clock: Clock = system_clock) -> Seats:
    license_, data = read_license(settings)
    db = open_database(settings, migrate=migrate)
    seats = Seats(
        db=db, license=license_, license_text=data, lease_minutes=settings.lease_minutes, clock=clock
    )
    for holder in seats.load_license():
        log.warning(
            "seat of %s %s (%s) taken back: license %s gives %s %d seats",
            holder.program,
            holder.name,
            holder.machine_id,
            license_.license_id,
            holder.program,
            license_.seats_for(holder.program),
        )
    return seats


def create_key(db: Database, name: str) -> str:
    """A new API key (for /metrics and freeing seats); its token is shown once."""
    token = new_token()
    with db.write() as conn:
        conn.execute(
            insert(t.api_keys).values(
                id=new_id(), name=name, token_digest=token_digest(token), created_at=datetime.now(UTC)
            )
        )
    return token


def authenticator(seats: Seats) -> Authenticator:
    def authenticate(token: str) -> Principal | None:
        with seats.db.read() as conn:
            row = conn.execute(
                select(t.api_keys).where(
                    t.api_keys.c.token_digest == token_digest(token), t.api_keys.c.revoked_at.is_(None)
                )
            ).first()
        if row is None:
            return None
        return Principal(kind="key", id=row.id, name=row.name, scopes=frozenset({"manage"}))

    return authenticate


def build_app(settings: LicenseSettings, *, migrate: bool = True, clock: Clock = system_clock) -> FastAPI:
    seats = open_seats(settings, migrate=migrate, clock=clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            seats.db.dispose()

    def health() -> dict[str, Any]:
        with seats.db.read() as conn:
            conn.execute(text("SELECT 1"))
        lic = seats.license
        return {
            "database": "ok",
            "license": {
                "license_id": lic.license_id,
                "customer": lic.customer,
                "valid_until": lic.valid_until.isoformat(),
                "expired": lic.expired(seats.clock().date()),
            },
        }

    app = create_app(
        program="license",
        version=osuite.__version__,
        authenticate=authenticator(seats),
        health=health,
        lifespan=lifespan,
        description=DESCRIPTION,
        tags=[
            {"name": "leases", "description": "Seats taken, renewed and given back by the programs"},
            {"name": "license", "description": "What the license gives"},
        ],
    )
    app.state.seats = seats

    @app.exception_handler(SeatsError)
    async def _refused(_request: Request, exc: SeatsError) -> JSONResponse:
        title = _TITLES.get(exc.kind, "Refused")
        return problem_response(Problem(exc.status, title, exc.message, type_=exc.kind, **exc.extra))

    app.include_router(api.router)
    return app


def from_environment() -> FastAPI:
    return build_app(settings_from_environment(LicenseSettings), migrate=False)
