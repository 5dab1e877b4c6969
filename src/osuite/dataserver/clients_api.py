"""HTTP routes for enrollment, stores, clients, API keys, heartbeats and the command queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from osuite.dataserver import clients
from osuite.dataserver.context import DS
from osuite.dataserver.wire.clients import Enrolled, EnrollRequest

router = APIRouter(prefix="/api/v1")

_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "The code is unknown, used or expired (problem details say which)"}
}


@router.post(
    "/enroll",
    response_model=Enrolled,
    tags=["clients"],
    summary="Trade a one-time enrollment code for a client id and token (no bearer token needed)",
    responses=_REFUSED,
)
def enroll(body: EnrollRequest, ds: DS) -> Enrolled:
    # The one-time code is the credential here, so this route takes no principal.
    with ds.db.write() as conn:
        enrolled = clients.enroll(conn, code=body.code, name=body.name, version=body.version)
    return Enrolled.model_validate(enrolled)
