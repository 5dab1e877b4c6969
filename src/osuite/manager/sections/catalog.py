"""Catalog: the data server's catalog (being built)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from osuite.core.i18n import N_
from osuite.manager.web import CurrentUser, Section, page

SECTION = Section("catalog", N_("Catalog"), "/catalog", lambda _backends: True)
router = APIRouter(include_in_schema=False)


@router.get("/catalog")
def index(request: Request, user: CurrentUser) -> Response:
    return page(request, user, "catalog.html", section="catalog")
