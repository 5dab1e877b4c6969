"""What every section of the Manager shares: who is logged in and what their role allows, the page
frame with the sections this installation has, and how a refusal of the program behind a page is shown.

A section is a module of :mod:`osuite.manager.sections` with a :class:`Section` and a router; its
routes take :data:`CurrentUser` (or :func:`allowed` for a change), reach programs through
:func:`backends`, render with :func:`page`, and record what a person changed with :func:`remember`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from osuite.core.db import Database
from osuite.core.i18n import language_of
from osuite.core.web import templates
from osuite.manager.backends import BackendError, Backends
from osuite.manager.roles import TITLES, Action
from osuite.manager.sessions import User, record, session_user
from osuite.manager.settings import ManagerSettings

SESSION_COOKIE, LANGUAGE_COOKIE = "manager_session", "manager_language"
TEMPLATES = "osuite.manager.ui"


@dataclass(frozen=True)
class Section:
    key: str
    title: str  # English, marked with N_; shown translated
    path: str
    shown: Callable[[Backends], bool]
    """Whether this installation has the program behind the section."""


@dataclass
class Manager:
    """What the app keeps in ``app.state.manager``."""

    settings: ManagerSettings
    db: Database
    backends: Backends
    sections: tuple[Section, ...]

    def shown_sections(self) -> list[Section]:
        return [s for s in self.sections if s.shown(self.backends)]


class NotSignedIn(Exception):
    """Raised by :func:`signed_in`; the app sends the person to the login page."""


class NotAllowed(Exception):
    """Raised by :func:`allowed`; the app shows a page that says the role does not allow it."""


def manager(request: Request) -> Manager:
    found: Manager = request.app.state.manager
    return found


def backends(request: Request) -> Backends:
    return manager(request).backends


def language(request: Request) -> str:
    return language_of(request.cookies.get(LANGUAGE_COOKIE))


def signed_in(request: Request) -> User:
    """The browser's session cookie, or the same token as a bearer token (a script)."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    token = request.cookies.get(SESSION_COOKIE) or (bearer if scheme.lower() == "bearer" else "")
    state = manager(request)
    user = session_user(state.db, token, hours=state.settings.session_hours) if token else None
    if user is None:
        raise NotSignedIn
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(signed_in)]


def allowed(action: Action) -> Callable[[Request], User]:
    """A dependency: the person logged in, when their role allows ``action``."""

    def check(request: Request) -> User:
        user = signed_in(request)
        if not user.may(action):
            raise NotAllowed
        return user

    return check


def page(
    request: Request, user: User | None, name: str, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """``name`` rendered in the person's language inside the Manager's frame (a template that extends
    ``base.html``) or alone (an htmx fragment)."""
    env = templates(TEMPLATES, language(request))
    state = manager(request)
    html = env.get_template(name).render(
        request=request,
        user=user,
        sections=state.shown_sections(),
        Action=Action,
        role_titles=TITLES,
        **values,
    )
    return HTMLResponse(html, status_code=status_code)


def remember(request: Request, user: User, section: str, action: str, target: str, detail: str = "") -> None:
    record(manager(request).db, user, section, action, target, detail)


def to_login(request: Request) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def refused(request: Request, error: BackendError) -> Response:
    """A program behind the page refused or did not answer: its words, in a page or in the alert area
    of the page an htmx request came from; nothing was changed."""
    status = error.status if 400 <= error.status < 500 else 502
    user = getattr(request.state, "user", None)
    if request.headers.get("hx-request"):
        answer = page(request, user, "alert.html", status_code=200, error=error)
        answer.headers.update({"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"})
        return answer
    return page(request, user, "refused.html", status_code=status, error=error)
