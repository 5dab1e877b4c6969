"""Sales: the data server's sales (being built)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from osuite.core.i18n import N_
from osuite.manager.web import CurrentUser, Section, page

SECTION = Section("sales", N_("Sales"), "/sales", lambda _backends: True)
router = APIRouter(include_in_schema=False)


@router.get("/sales")
def index(request: Request, user: CurrentUser) -> Response:
    return page(request, user, "sales.html", section="sales")
