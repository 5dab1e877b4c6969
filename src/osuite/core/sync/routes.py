"""The center's sync endpoints: ``GET /api/v1/sync/changes`` and ``POST /api/v1/sync/documents``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from osuite.core.http import Principal, requires
from osuite.core.jsonvalues import BIGINT
from osuite.core.sync.changelog import ChangeLog, Page
from osuite.core.sync.intake import Intake
from osuite.core.sync.wire import MAX_BATCH, ChangesPage, DocumentIn, DocumentsBatch, IntakeAnswer

SYNC_SCOPE = "sync"
MAX_WAIT = 60.0

Audiences = Callable[[Principal], list[str]]
# The request body is read raw (see `documents`), so its schema is spelled out for the OpenAPI document.
_BATCH_SCHEMA = {
    "title": "DocumentsBatch",
    "type": "object",
    "properties": {
        "documents": {"type": "array", "items": DocumentIn.model_json_schema(), "maxItems": MAX_BATCH}
    },
    "required": ["documents"],
}
SyncClient = Annotated[Principal, Depends(requires(SYNC_SCOPE))]


def sync_router(*, changelog: ChangeLog, intake: Intake, audiences: Audiences) -> APIRouter:
    router = APIRouter(prefix="/api/v1/sync", tags=["sync"])

    @router.get(
        "/changes",
        response_model=ChangesPage,
        summary="The next page of reference-data changes for the calling client",
        description=(
            "Send the `next` of the previous page as `since` (0 the first time: the answer is a snapshot "
            "of everything current). With `wait` > 0 an empty answer is held until a change arrives or "
            "the wait ends. `reset: true` means the cursor is too old: start again from 0."
        ),
    )
    async def changes(
        principal: SyncClient,
        since: Annotated[int, Query(ge=0, le=BIGINT)] = 0,
        limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0,
        snapshot: Annotated[
            bool, Query(description="true while loading a snapshot (paging from 0): never answered reset")
        ] = False,
    ) -> Response:
        groups = audiences(principal)
        deadline = time.monotonic() + wait
        while True:
            version = changelog.notifier.version
            page = await run_in_threadpool(_read, changelog, since, groups, limit, snapshot)
            remaining = deadline - time.monotonic()
            if page.rows or page.reset or remaining <= 0:
                return Response(_encode(page), media_type="application/json")
            # Re-check at least every few seconds: a NOTIFY lost with a dropped listener costs latency,
            # never a change.
            await changelog.notifier.wait(version, min(remaining, 5.0))

    @router.post(
        "/documents",
        response_model=IntakeAnswer,
        summary="Hand documents to the center; answers which ids it holds and which it refuses",
        description=(
            "Idempotent by document id: sending a batch again stores nothing twice. Mark as delivered "
            "exactly the ids in `held`; `rejected` ones will never be accepted as sent."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _BATCH_SCHEMA}},
            }
        },
    )
    def documents(request_body: Annotated[bytes, Depends(_raw_body)], principal: SyncClient) -> Response:
        # The hot path of every store: validate the bytes in one pass with pydantic-core's JSON parser
        # rather than the stdlib json module plus a second validation.
        try:
            batch = DocumentsBatch.model_validate_json(request_body)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        answer = intake.accept(principal, batch.documents)
        return Response(orjson.dumps(answer.model_dump()), media_type="application/json")

    return router


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _read(changelog: ChangeLog, since: int, groups: list[str], limit: int, snapshot: bool) -> Page:
    with changelog.db.read() as conn:
        return changelog.read(conn, since=since, audiences=groups, limit=limit, snapshot=snapshot)


def _encode(page: Page) -> bytes:
    """Serialize with the stored payload text passed through untouched (the catalog path is hot)."""
    return orjson.dumps(
        {
            "changes": [
                {
                    "seq": seq,
                    "entity": entity,
                    "key": key,
                    "op": op,
                    "payload": orjson.Fragment(payload) if payload is not None else None,
                }
                for seq, entity, key, op, payload in page.rows
            ],
            "next": page.next,
            "has_more": page.has_more,
            "reset": page.reset,
            "horizon": page.horizon,
        }
    )
