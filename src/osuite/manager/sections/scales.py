"""Scales (being built)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from osuite.core.i18n import N_
from osuite.manager.web import CurrentUser, Section, page

SECTION = Section("scales", N_("Scales"), "/scales", lambda b: b.scales is not None)
router = APIRouter(include_in_schema=False)


@router.get("/scales")
def index(request: Request, user: CurrentUser) -> Response:
    return page(request, user, "scales.html", section="scales")
