"""Licenses: what the store's license allows, until when, and who holds each program's seats."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from osuite.core.i18n import N_
from osuite.manager.web import CurrentUser, Section, backends, page

SECTION = Section("licenses", N_("Licenses"), "/licenses", lambda b: b.license is not None)
router = APIRouter(include_in_schema=False)


@router.get("/licenses")
def licenses(request: Request, user: CurrentUser) -> Response:
    client = backends(request).license
    assert client is not None  # the section is only shown when there is one
    read = client.license()
    days_left = (read.license.valid_until - datetime.now(UTC).date()).days
    return page(request, user, "licenses.html", section="licenses", read=read, days_left=days_left)
