"""The Manager's HTTP app: login with the data server's users, the frame, and every section whose
program this installation has."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import text

import osuite
from osuite.core.cli import settings_from_environment
from osuite.core.db import Database
from osuite.core.http import Principal, create_app
from osuite.core.i18n import LANGUAGES
from osuite.core.migrations import upgrade
from osuite.core.web import mount_static
from osuite.dataserver.client import DataServerError
from osuite.license.client import open_seat, refuse_work, seat_json
from osuite.manager import sections, ui
from osuite.manager.backends import BACKEND_ERRORS, Backends
from osuite.manager.roles import role_of
from osuite.manager.sessions import User, close_session, open_session, session_user
from osuite.manager.settings import ManagerSettings
from osuite.manager.web import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    Manager,
    NotAllowed,
    NotSignedIn,
    manager,
    page,
    refused,
    to_login,
)

log = logging.getLogger("osuite.manager")

DESCRIPTION = """
The Manager: the store administrator's web UI (open `/` in a browser). People log in with their data
server login and password; their role there decides what they may see and change.

The JSON below is for scripts: `Authorization: Bearer` takes the same session token the browser holds.
"""

OPEN_PATHS = ("/login", "/logout", "/lang/")
"""What a person can still do when the license has stopped the Manager: log in and out, look."""


def open_manager(settings: ManagerSettings, *, migrate: bool = True) -> Manager:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate:
        upgrade(db, "osuite.manager")
    return Manager(settings=settings, db=db, backends=Backends.of(settings), sections=sections.ALL)


def build_app(settings: ManagerSettings, *, migrate: bool = True) -> FastAPI:
    state = open_manager(settings, migrate=migrate)
    if not settings.dataserver_key:
        log.warning("no dataserver_key: nobody can log in (make one: `osuite dataserver apikey manager`)")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        seat = open_seat(settings, "manager", "Manager")
        app.state.seat = seat
        app.state.refuse_work = refuse_work(seat, OPEN_PATHS)
        try:
            yield
        finally:
            if seat is not None:
                seat.stop()
            state.backends.close()
            state.db.dispose()

    def health() -> dict[str, Any]:
        with state.db.read() as conn:
            conn.execute(text("SELECT 1"))
        return {
            "database": "ok",
            "sections": [s.key for s in state.shown_sections()],
            "license": seat_json(app.state.seat),
        }

    def authenticate(token: str) -> Principal | None:
        user = session_user(state.db, token, hours=settings.session_hours)
        if user is None:
            return None
        return Principal(kind="user", id=user.user_id, name=user.login, scopes=frozenset({user.role.value}))

    app = create_app(
        program="manager",
        version=osuite.__version__,
        authenticate=authenticate,
        health=health,
        lifespan=lifespan,
        description=DESCRIPTION,
    )
    app.state.manager = state
    app.state.seat = None

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        return to_login(request)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _exc: NotAllowed) -> Response:
        return page(request, getattr(request.state, "user", None), "not_allowed.html", status_code=403)

    for error in BACKEND_ERRORS:

        @app.exception_handler(error)
        async def _refused(request: Request, exc: Any) -> Response:
            return refused(request, exc)

    app.include_router(frame)
    app.include_router(api)
    for section, router in zip(sections.ALL, sections.ROUTERS, strict=True):
        if section.shown(state.backends):  # a program not installed here has no pages at all
            app.include_router(router)
    mount_static(app, Path(ui.__file__).with_name("static"))
    return app


frame = APIRouter(include_in_schema=False)


@frame.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return page(request, None, "login.html", next=_local(next))


@frame.post("/login")
def login(
    request: Request,
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    state = manager(request)
    if not login.strip() or not password:
        return page(
            request, None, "login.html", status_code=422, next=_local(next), login=login, problem="empty"
        )
    try:
        signed = state.backends.dataserver.sign_in(login.strip(), password)
    except DataServerError as exc:
        if exc.status != 403:
            raise
        return page(
            request, None, "login.html", status_code=401, next=_local(next), login=login, problem="wrong"
        )
    role = role_of(signed.permissions)
    if role is None:
        return page(
            request, None, "login.html", status_code=403, next=_local(next), login=login, problem="role"
        )
    user = User(user_id=signed.user.id, login=signed.user.login, name=signed.user.name, role=role)
    token = open_session(state.db, user, hours=state.settings.session_hours)
    answer = RedirectResponse(_local(next), status_code=303)
    answer.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict")
    return answer


@frame.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        close_session(manager(request).db, token)
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE)
    return answer


@frame.get("/lang/{code}")
def choose_language(request: Request, code: str) -> Response:
    answer = RedirectResponse(_local(request.headers.get("referer") or "/"), status_code=303)
    if code in LANGUAGES:
        answer.set_cookie(LANGUAGE_COOKIE, code, samesite="strict", max_age=365 * 24 * 3600)
    return answer


@frame.get("/")
def home(request: Request, user: CurrentUser) -> Response:
    shown = manager(request).shown_sections()
    return RedirectResponse(shown[0].path if shown else "/login", status_code=303)


def _local(target: str) -> str:
    """Only a path of this site: a login link cannot send a person elsewhere."""
    path = target.split("://", 1)[-1].partition("/")[2] if "://" in target else target
    path = "/" + path.lstrip("/")
    return path if not path.startswith("//") else "/"


api = APIRouter(prefix="/api/v1", tags=["manager"])


@api.get("/me", summary="Who the session belongs to, their role, and the sections they see")
def me(request: Request, user: CurrentUser) -> dict[str, Any]:
    return {
        "login": user.login,
        "name": user.name,
        "role": user.role.value,
        "sections": [s.key for s in manager(request).shown_sections()],
    }


def from_environment() -> FastAPI:
    return build_app(settings_from_environment(ManagerSettings), migrate=False)
