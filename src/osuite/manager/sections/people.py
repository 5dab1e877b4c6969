"""People: the data server's people (being built)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from osuite.core.i18n import N_
from osuite.manager.web import CurrentUser, Section, page

SECTION = Section("people", N_("People"), "/people", lambda _backends: True)
router = APIRouter(include_in_schema=False)


@router.get("/people")
def index(request: Request, user: CurrentUser) -> Response:
    return page(request, user, "people.html", section="people")
