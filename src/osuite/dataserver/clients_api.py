"""HTTP routes for enrollment, stores, clients, API keys, heartbeats and the command queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from osuite.dataserver import clients, commands
from osuite.dataserver.context import DS, Admin, Client, Reader
from osuite.dataserver.wire.clients import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    ClientRead,
    CommandCreate,
    CommandRead,
    Enrolled,
    EnrollmentCodeCreate,
    EnrollmentCodeIssued,
    EnrollRequest,
    HeartbeatAnswer,
    HeartbeatIn,
    StoreCreate,
    StoreRead,
    StoreUpdate,
)

router = APIRouter(prefix="/api/v1")

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
After = Annotated[str | None, Query(description="The last id (code, for stores) of the previous page")]
Before = Annotated[str | None, Query(description="The last id of the previous page (older come next)")]
StoreFilter = Annotated[str | None, Query(description="Only clients of this store (id)")]
KindFilter = Annotated[str | None, Query(description="Only clients of this kind, e.g. pos")]

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


# --- stores -----------------------------------------------------------------------------------------


@router.get("/stores", response_model=list[StoreRead], tags=["stores"], summary="Stores, by code")
def list_stores(_who: Reader, ds: DS, after: After = None, limit: Limit = 500) -> list[dict[str, Any]]:
    with ds.db.read() as conn:
        return clients.list_stores(conn, after=after, limit=limit)


@router.post("/stores", response_model=StoreRead, status_code=201, tags=["stores"], summary="Add a store")
def create_store(body: StoreCreate, _who: Admin, ds: DS) -> dict[str, Any]:
    with ds.db.write() as conn:
        return clients.create_store(conn, ds, **body.model_dump())


@router.get("/stores/{store_id}", response_model=StoreRead, tags=["stores"], summary="A store by id or code")
def get_store(store_id: str, _who: Reader, ds: DS) -> dict[str, Any]:
    with ds.db.read() as conn:
        return clients.find_store(conn, store_id)


@router.put(
    "/stores/{store_id}",
    response_model=StoreRead,
    tags=["stores"],
    summary="Replace a store's fields; its clients receive the change",
)
def update_store(store_id: str, body: StoreUpdate, _who: Admin, ds: DS) -> dict[str, Any]:
    with ds.db.write() as conn:
        return clients.update_store(conn, ds, store_id=store_id, **body.model_dump())


@router.post(
    "/stores/{store_id}/enrollment-codes",
    response_model=EnrollmentCodeIssued,
    status_code=201,
    tags=["clients"],
    summary="Issue a one-time code a new client of this store enrolls with (shown once)",
)
def issue_enrollment_code(store_id: str, body: EnrollmentCodeCreate, _who: Admin, ds: DS) -> dict[str, Any]:
    with ds.db.write() as conn:
        return clients.issue_enrollment_code(conn, ds, store_id=store_id, kind=body.kind, name=body.name)


# --- the calling client itself (before /clients/{client_id}, so "me" is not taken for an id) ----------


@router.get("/clients/me", response_model=ClientRead, tags=["clients"], summary="The calling client")
def get_me(me: Client, ds: DS) -> dict[str, Any]:
    with ds.db.read() as conn:
        return clients.get_client(conn, ds, client_id=me.id)


@router.post(
    "/clients/me/heartbeat",
    response_model=HeartbeatAnswer,
    tags=["clients"],
    summary="Report the calling client's state; the answer says whether commands wait",
)
def heartbeat(body: HeartbeatIn, me: Client, ds: DS) -> HeartbeatAnswer:
    with ds.db.write() as conn:
        now = clients.record_heartbeat(conn, client_id=me.id, heartbeat=body)
        pending = commands.pending_count(conn, client_id=me.id)
    return HeartbeatAnswer(commands_pending=pending, server_time=now)


@router.get(
    "/clients/me/commands",
    response_model=list[CommandRead],
    tags=["commands"],
    summary="Commands the calling client has not reported on yet (run each id at most once)",
    description=(
        "Returns every command without a result, oldest first, and marks the new ones sent. A command "
        "stays here until its `command_result` document arrives, so run each id at most once."
    ),
)
def fetch_commands(me: Client, ds: DS) -> list[dict[str, Any]]:
    with ds.db.write() as conn:
        return commands.fetch_for_client(conn, client_id=me.id)


# --- clients ----------------------------------------------------------------------------------------


@router.get(
    "/clients",
    response_model=list[ClientRead],
    tags=["clients"],
    summary="Enrolled clients with their live state (online, shift, queue, device errors)",
)
def list_clients(
    _who: Reader,
    ds: DS,
    store_id: StoreFilter = None,
    kind: KindFilter = None,
    after: After = None,
    limit: Limit = 500,
) -> list[dict[str, Any]]:
    with ds.db.read() as conn:
        return clients.list_clients(conn, ds, store_id=store_id, kind=kind, after=after, limit=limit)


@router.get("/clients/{client_id}", response_model=ClientRead, tags=["clients"], summary="A client")
def get_client(client_id: str, _who: Reader, ds: DS) -> dict[str, Any]:
    with ds.db.read() as conn:
        return clients.get_client(conn, ds, client_id=client_id)


@router.post(
    "/clients/{client_id}/revoke",
    response_model=ClientRead,
    tags=["clients"],
    summary="Cut a client off: its token stops working at once",
)
def revoke_client(client_id: str, _who: Admin, ds: DS) -> dict[str, Any]:
    with ds.db.write() as conn:
        clients.revoke_client(conn, client_id)
        return clients.get_client(conn, ds, client_id=client_id)


@router.post(
    "/clients/{client_id}/commands",
    response_model=CommandRead,
    status_code=201,
    tags=["commands"],
    summary="Queue a command for a client",
)
def send_command(client_id: str, body: CommandCreate, who: Admin, ds: DS) -> dict[str, Any]:
    with ds.db.write() as conn:
        return commands.queue_command(
            conn, client_id=client_id, command=body.command, args=body.args, by=who.name or who.id
        )


@router.get(
    "/clients/{client_id}/commands",
    response_model=list[CommandRead],
    tags=["commands"],
    summary="A client's commands, newest first, with status and result",
)
def command_history(
    client_id: str, _who: Reader, ds: DS, before: Before = None, limit: Limit = 100
) -> list[dict[str, Any]]:
    with ds.db.read() as conn:
        return commands.list_commands(conn, client_id=client_id, before=before, limit=limit)


# --- API keys ---------------------------------------------------------------------------------------


@router.get("/api-keys", response_model=list[ApiKeyRead], tags=["api keys"], summary="API keys (no tokens)")
def list_api_keys(_who: Admin, ds: DS) -> list[dict[str, Any]]:
    with ds.db.read() as conn:
        return clients.list_api_keys(conn)


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=201,
    tags=["api keys"],
    summary="Create an API key for the management API (the token is shown once)",
)
def create_api_key(body: ApiKeyCreate, _who: Admin, ds: DS) -> dict[str, Any]:
    with ds.db.write() as conn:
        return clients.create_api_key(conn, name=body.name, scopes=frozenset(body.scopes))


@router.post(
    "/api-keys/{key_id}/revoke",
    response_model=ApiKeyRead,
    tags=["api keys"],
    summary="Revoke an API key: it stops working at once",
)
def revoke_api_key(key_id: str, _who: Admin, ds: DS) -> dict[str, Any]:
    with ds.db.write() as conn:
        clients.revoke_api_key(conn, key_id)
        return clients.get_api_key(conn, key_id)
