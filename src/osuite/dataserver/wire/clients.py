"""Stores, enrollment, clients, heartbeats and commands on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from osuite.core.jsonvalues import Counter, JsonObject

CLIENT_KINDS = (
    "pos",
    "scales",
    "dataserver",
    "processing",
    "printing",
    "restaurant",
    "tickets",
    "manager",
    "other",
)
"""What may enroll: each kind is a program of the suite (``other`` for anything else)."""

COMMANDS = (
    "reload",
    "apply_settings",
    "close_shift",
    "lock",
    "unlock",
    "send_logs",
    "reload_catalog",
    "upload_scales",
)
"""What an administrator may ask a client to do; a client ignores (fails) what it cannot do."""

COMMAND_RESULT = "command_result"
"""The document kind a client reports a command's outcome with."""


class EnrollRequest(BaseModel):
    code: str = Field(min_length=4, max_length=40, description="The one-time code an administrator issued")
    name: str | None = Field(default=None, max_length=200, description="How this client is shown")
    version: str | None = Field(default=None, max_length=64)


class Enrolled(BaseModel):
    client_id: str
    token: str = Field(description="Keep it: it is shown once and stored at the server only as a hash")
    store_id: str
    kind: str
    name: str


# --- stores -----------------------------------------------------------------------------------------


class StoreCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, description="Short code people type, e.g. S001")
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=400)
    timezone: str = Field(default="Europe/Moscow", max_length=64, description="IANA zone, e.g. Europe/Moscow")


class StoreUpdate(StoreCreate):
    """The whole store as it should be from now on (PUT replaces every field)."""

    active: bool = True


class StoreRead(BaseModel):
    id: str
    code: str
    name: str
    address: str
    timezone: str
    active: bool
    updated_at: datetime


# --- enrollment codes -------------------------------------------------------------------------------


class EnrollmentCodeCreate(BaseModel):
    kind: str = Field(default="pos", description=f"One of: {', '.join(CLIENT_KINDS)}")
    name: str = Field(default="", max_length=200, description="How the new client is shown, e.g. 'POS 3'")


class EnrollmentCodeIssued(BaseModel):
    code: str = Field(description="Shown once: the server keeps only its hash")
    store_id: str
    kind: str
    name: str
    expires_at: datetime


# --- heartbeats and live state ----------------------------------------------------------------------


class ShiftState(BaseModel):
    open: bool
    number: Counter | None = None
    opened_at: datetime | None = None


class DeviceState(BaseModel):
    status: Literal["ok", "error", "absent"]
    message: str = Field(default="", max_length=1000)


class HeartbeatIn(BaseModel):
    """What a client tells its data server about itself every minute or so."""

    version: str = Field(min_length=1, max_length=64)
    shift: ShiftState | None = None
    queue_length: Counter = Field(default=0, description="Documents waiting to be delivered")
    last_sync_at: datetime | None = None
    sync_cursor: Counter | None = None
    devices: dict[str, DeviceState] = Field(default_factory=dict, max_length=100)
    license: JsonObject | None = None
    extra: JsonObject = Field(
        default_factory=dict, max_length=200, description="Program-specific state, shown as is"
    )


class HeartbeatAnswer(BaseModel):
    commands_pending: int = Field(description="More than 0: fetch GET /api/v1/clients/me/commands")
    server_time: datetime


class DeviceError(BaseModel):
    device: str
    message: str


class ClientRead(BaseModel):
    """A client and its live state as of its last heartbeat."""

    id: str
    store_id: str
    kind: str
    name: str
    enrolled_at: datetime
    revoked: bool
    revoked_at: datetime | None = None
    status: Literal["online", "offline", "revoked"]
    online: bool
    last_heartbeat_at: datetime | None = None
    version: str | None = None
    shift_open: bool | None = Field(default=None, description="None until the client has reported a shift")
    shift: ShiftState | None = None
    queue_length: int | None = Field(default=None, description="Documents waiting at the client")
    last_sync_at: datetime | None = None
    sync_cursor: int | None = None
    devices: dict[str, DeviceState] = Field(default_factory=dict)
    device_errors: list[DeviceError] = Field(default_factory=list)
    license: dict[str, Any] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


# --- API keys ---------------------------------------------------------------------------------------


Scope = Literal["manage", "read"]


def _all_scopes() -> list[Scope]:
    return ["manage", "read"]


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="Who will use it, e.g. 'manager'")
    scopes: list[Scope] = Field(
        default_factory=_all_scopes, min_length=1, description="manage: change things; read: look and export"
    )


class ApiKeyCreated(BaseModel):
    id: str
    name: str
    token: str = Field(description="Shown once: the server keeps only its hash")
    scopes: list[str]


class ApiKeyRead(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None = None


# --- commands ---------------------------------------------------------------------------------------


class CommandCreate(BaseModel):
    command: str = Field(
        description=f"One of: {', '.join(COMMANDS)}", json_schema_extra={"enum": list(COMMANDS)}
    )
    args: JsonObject = Field(default_factory=dict, max_length=100)


class CommandRead(BaseModel):
    id: str = Field(description="Run a command at most once per id: it is delivered until its result arrives")
    client_id: str
    command: str
    args: dict[str, Any]
    status: Literal["queued", "sent", "done", "failed"]
    created_at: datetime
    sent_at: datetime | None = None
    finished_at: datetime | None = None
    result: str | None = Field(default=None, description="The output the client reported")


class CommandResultBody(BaseModel):
    """The payload of a ``command_result`` document a client sends to report how a command went."""

    command_id: str = Field(min_length=36, max_length=36)
    status: Literal["done", "failed"]
    output: str = Field(default="", max_length=100_000)
    at: AwareDatetime = Field(description="When the client finished, with its UTC offset")
