"""Stores, the clients enrolled in them, administrators' API keys, and who a bearer token is.

A client (a POS terminal, a scale server, a store data server …) joins with a one-time code that an
administrator issues for a store; it receives a token that is stored only as a hash. Revoking a client
makes its token worthless at once.
"""

from __future__ import annotations

import functools
import time
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from osuite.core.db import after_commit
from osuite.core.http import Principal, Problem, conflict, not_found
from osuite.core.ids import new_id
from osuite.core.security import code_digest, new_code, new_token, token_digest
from osuite.core.sync.changelog import Change
from osuite.core.sync.wire import EVERYONE, client_audience, store_audience
from osuite.dataserver import tables
from osuite.dataserver.context import CLIENT, MANAGE, READ, RELAY, DataServer
from osuite.dataserver.wire.clients import CLIENT_KINDS, HeartbeatIn

ADMIN_SCOPES = frozenset({MANAGE, READ})


def create_store(
    conn: Connection,
    ds: DataServer,
    *,
    code: str,
    name: str,
    address: str = "",
    timezone: str = "Europe/Moscow",
    store_id: str | None = None,
) -> dict[str, Any]:
    code = code.strip()
    if not code or not name.strip():
        raise Problem(422, "Invalid store", "a store needs a code and a name")
    _check_timezone(timezone)
    if conn.execute(select(tables.stores.c.id).where(tables.stores.c.code == code)).first():
        raise conflict(f"a store with code {code!r} already exists")
    if store_id and conn.execute(select(tables.stores.c.id).where(tables.stores.c.id == store_id)).first():
        raise conflict(f"a store with id {store_id} already exists")
    row = {
        "id": store_id or new_id(),
        "code": code,
        "name": name.strip(),
        "address": address,
        "timezone": timezone,
        "active": True,
        "updated_at": datetime.now(UTC),
    }
    conn.execute(insert(tables.stores).values(**row))
    publish_store(conn, ds, row)
    return row


def update_store(
    conn: Connection,
    ds: DataServer,
    *,
    store_id: str,
    code: str,
    name: str,
    address: str,
    timezone: str,
    active: bool,
) -> dict[str, Any]:
    """Replace a store's fields and republish it, so every client sees the new name or address."""
    current = get_store(conn, store_id)
    code = code.strip()
    if not code or not name.strip():
        raise Problem(422, "Invalid store", "a store needs a code and a name")
    _check_timezone(timezone)
    s = tables.stores.c
    if code != current["code"] and conn.execute(select(s.id).where(s.code == code)).first():
        raise conflict(f"a store with code {code!r} already exists")
    values = {
        "code": code,
        "name": name.strip(),
        "address": address,
        "timezone": timezone,
        "active": active,
        "updated_at": datetime.now(UTC),
    }
    conn.execute(update(tables.stores).where(s.id == store_id).values(**values))
    row = {**current, **values}
    publish_store(conn, ds, row)
    return row


def list_stores(conn: Connection, *, after: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Stores by code; pass the last code seen as ``after`` for the next page."""
    s = tables.stores.c
    query = select(tables.stores).order_by(s.code).limit(limit)
    if after:
        query = query.where(s.code > after)
    return [_store(r) for r in conn.execute(query).mappings()]


def _store(row: Any) -> dict[str, Any]:
    return {**row, "updated_at": _aware(row["updated_at"])}


def publish_store(conn: Connection, ds: DataServer, row: dict[str, Any]) -> None:
    payload = {k: row[k] for k in ("id", "code", "name", "address", "timezone", "active")}
    ds.changelog.record(conn, [Change("store", row["id"], EVERYONE, payload)])


def get_store(conn: Connection, store_id: str) -> dict[str, Any]:
    row = conn.execute(select(tables.stores).where(tables.stores.c.id == store_id)).mappings().first()
    if row is None:
        raise not_found("store", store_id)
    return _store(row)


def find_store(conn: Connection, id_or_code: str) -> dict[str, Any]:
    """A store by id or by its short code, as an IT person types it on the command line."""
    s = tables.stores.c
    row = (
        conn.execute(select(tables.stores).where((s.id == id_or_code) | (s.code == id_or_code)))
        .mappings()
        .first()
    )
    if row is None:
        raise not_found("store", id_or_code)
    return _store(row)


def issue_enrollment_code(
    conn: Connection, ds: DataServer, *, store_id: str, kind: str, name: str
) -> dict[str, Any]:
    """A one-time code for a new client of ``kind`` in the store; shown once, stored hashed."""
    if kind not in CLIENT_KINDS:
        raise Problem(422, "Invalid client kind", f"kind must be one of {', '.join(CLIENT_KINDS)}")
    if not get_store(conn, store_id)["active"]:
        raise conflict(f"store {store_id} is closed (inactive): reopen it before adding clients")
    code = new_code()
    now = datetime.now(UTC)
    expires = now + timedelta(hours=ds.settings.enrollment_code_hours)
    conn.execute(
        insert(tables.enrollment_codes).values(
            digest=code_digest(code),
            store_id=store_id,
            kind=kind,
            name=name or kind,
            created_at=now,
            expires_at=expires,
        )
    )
    return {"code": code, "store_id": store_id, "kind": kind, "name": name or kind, "expires_at": expires}


def enroll(
    conn: Connection, *, code: str, name: str | None = None, version: str | None = None
) -> dict[str, Any]:
    """Trade a one-time code for a client id and token. A used or expired code is refused."""
    e = tables.enrollment_codes.c
    found = (
        conn.execute(select(tables.enrollment_codes).where(e.digest == code_digest(code))).mappings().first()
    )
    now = datetime.now(UTC)
    if found is None:
        raise Problem(403, "Enrollment refused", "this enrollment code is unknown; ask for a new one")
    if found["used_at"] is not None:
        raise Problem(403, "Enrollment refused", "this enrollment code was already used; ask for a new one")
    if _aware(found["expires_at"]) < now:
        raise Problem(403, "Enrollment refused", "this enrollment code has expired; ask for a new one")
    client_id = new_id()
    token = new_token()
    claimed = conn.execute(
        update(tables.enrollment_codes)
        .where(e.digest == found["digest"], e.used_at.is_(None))
        .values(used_at=now, client_id=client_id)
    ).rowcount
    if claimed != 1:  # another enrollment took the code a moment ago
        raise Problem(403, "Enrollment refused", "this enrollment code was already used; ask for a new one")
    conn.execute(
        insert(tables.clients).values(
            id=client_id,
            store_id=found["store_id"],
            kind=found["kind"],
            name=name or found["name"],
            token_digest=token_digest(token),
            enrolled_at=now,
            version=version,
        )
    )
    return {
        "client_id": client_id,
        "token": token,
        "store_id": found["store_id"],
        "kind": found["kind"],
        "name": name or found["name"],
    }


def revoke_client(conn: Connection, client_id: str) -> None:
    c = tables.clients.c
    if conn.execute(select(c.id).where(c.id == client_id)).first() is None:
        raise not_found("client", client_id)
    conn.execute(
        update(tables.clients)
        .where(c.id == client_id, c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    _forget_tokens(conn)


def create_api_key(conn: Connection, *, name: str, scopes: frozenset[str] = ADMIN_SCOPES) -> dict[str, Any]:
    unknown = scopes - ADMIN_SCOPES
    if unknown:
        raise Problem(422, "Invalid scopes", f"unknown scopes: {', '.join(sorted(unknown))}")
    token = new_token()
    key_id = new_id()
    conn.execute(
        insert(tables.api_keys).values(
            id=key_id,
            name=name,
            token_digest=token_digest(token),
            scopes=" ".join(sorted(scopes)),
            created_at=datetime.now(UTC),
        )
    )
    return {"id": key_id, "name": name, "token": token, "scopes": sorted(scopes)}


def revoke_api_key(conn: Connection, key_id: str) -> None:
    k = tables.api_keys.c
    if conn.execute(select(k.id).where(k.id == key_id)).first() is None:
        raise not_found("API key", key_id)
    conn.execute(
        update(tables.api_keys)
        .where(k.id == key_id, k.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    _forget_tokens(conn)


def list_api_keys(conn: Connection) -> list[dict[str, Any]]:
    k = tables.api_keys.c
    rows = conn.execute(
        select(k.id, k.name, k.scopes, k.created_at, k.revoked_at).order_by(k.created_at)
    ).mappings()
    return [
        {
            **r,
            "scopes": r["scopes"].split(),
            "created_at": _aware(r["created_at"]),
            "revoked_at": _aware(r["revoked_at"]) if r["revoked_at"] else None,
        }
        for r in rows
    ]


def get_api_key(conn: Connection, key_id: str) -> dict[str, Any]:
    for key in list_api_keys(conn):
        if key["id"] == key_id:
            return key
    raise not_found("API key", key_id)


# --- clients and their live state -------------------------------------------------------------------


def get_client_row(conn: Connection, client_id: str) -> dict[str, Any]:
    row = conn.execute(select(tables.clients).where(tables.clients.c.id == client_id)).mappings().first()
    if row is None:
        raise not_found("client", client_id)
    return dict(row)


def get_client(conn: Connection, ds: DataServer, *, client_id: str) -> dict[str, Any]:
    return live_state(get_client_row(conn, client_id), now=datetime.now(UTC), ds=ds)


def list_clients(
    conn: Connection,
    ds: DataServer,
    *,
    store_id: str | None = None,
    kind: str | None = None,
    after: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Clients in enrollment order with their live state; pass the last id seen as ``after``."""
    c = tables.clients.c
    query = select(tables.clients).order_by(c.id).limit(limit)
    if store_id:
        query = query.where(c.store_id == store_id)
    if kind:
        query = query.where(c.kind == kind)
    if after:
        query = query.where(c.id > after)
    now = datetime.now(UTC)
    return [live_state(dict(r), now=now, ds=ds) for r in conn.execute(query).mappings()]


def live_state(row: dict[str, Any], *, now: datetime, ds: DataServer) -> dict[str, Any]:
    """A client row as people read it: online or not, and what its last heartbeat said."""
    return client_view(row, now=now, offline_after=timedelta(seconds=ds.settings.offline_after_seconds))


def client_view(row: dict[str, Any], *, now: datetime, offline_after: timedelta) -> dict[str, Any]:
    """Pure: online means not revoked and heard from within ``offline_after``."""
    state: dict[str, Any] = orjson.loads(row["state"]) if row.get("state") else {}
    heard = _aware(row["last_heartbeat_at"]) if row.get("last_heartbeat_at") else None
    revoked = row.get("revoked_at") is not None
    online = not revoked and heard is not None and now - heard <= offline_after
    devices: dict[str, Any] = state.get("devices") or {}
    shift = state.get("shift")
    return {
        "id": row["id"],
        "store_id": row["store_id"],
        "kind": row["kind"],
        "name": row["name"],
        "enrolled_at": _aware(row["enrolled_at"]),
        "revoked": revoked,
        "revoked_at": _aware(row["revoked_at"]) if revoked else None,
        "status": "revoked" if revoked else "online" if online else "offline",
        "online": online,
        "last_heartbeat_at": heard,
        "version": row.get("version"),
        "shift_open": bool(shift and shift.get("open")) if "shift" in state else None,
        "shift": shift,
        "queue_length": state.get("queue_length"),
        "last_sync_at": state.get("last_sync_at"),
        "sync_cursor": state.get("sync_cursor"),
        "devices": devices,
        "device_errors": [
            {"device": name, "message": d.get("message", "")}
            for name, d in sorted(devices.items())
            if d.get("status") == "error"
        ],
        "license": state.get("license"),
        "extra": state.get("extra") or {},
    }


def record_heartbeat(conn: Connection, *, client_id: str, heartbeat: HeartbeatIn) -> datetime:
    """Keep the last heartbeat as the client's state; when it was heard is the server's clock."""
    now = datetime.now(UTC)
    c = tables.clients.c
    done = conn.execute(
        update(tables.clients)
        .where(c.id == client_id, c.revoked_at.is_(None))
        .values(
            state=orjson.dumps(heartbeat.model_dump(mode="json")).decode(),
            version=heartbeat.version,
            last_heartbeat_at=now,
        )
    ).rowcount
    if done != 1:
        raise not_found("client", client_id)
    return now


# Tokens are checked on every request; a short cache keeps the ingest path off the database while a
# revocation still takes effect within seconds (and at once in this process).
_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, Principal | None]] = {}


def _forget_tokens(conn: Connection) -> None:
    """Drop cached principals once the revocation commits: clearing before the commit would let a
    request in between cache the still-valid principal again for the cache's lifetime."""
    after_commit(conn, _cache.clear)


class Authenticator:
    def __init__(self, ds: DataServer) -> None:
        self.ds = ds

    def __call__(self, token: str) -> Principal | None:
        digest = token_digest(token)
        hit = _cache.get(digest)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1]
        with self.ds.db.read() as conn:
            principal = _lookup(conn, digest)
        if len(_cache) > 10000:
            _cache.clear()
        _cache[digest] = (now + _CACHE_SECONDS, principal)
        return principal


def _lookup(conn: Connection, digest: str) -> Principal | None:
    c = tables.clients.c
    client = conn.execute(
        select(c.id, c.kind, c.name, c.store_id).where(c.token_digest == digest, c.revoked_at.is_(None))
    ).first()
    if client is not None:
        scopes = {"sync", CLIENT} | ({RELAY} if client.kind == "dataserver" else set())
        return Principal(
            kind=client.kind,
            id=client.id,
            name=client.name,
            scopes=frozenset(scopes),
            store_id=client.store_id,
        )
    k = tables.api_keys.c
    key = conn.execute(
        select(k.id, k.name, k.scopes).where(k.token_digest == digest, k.revoked_at.is_(None))
    ).first()
    if key is not None:
        return Principal(kind="admin", id=key.id, name=key.name, scopes=frozenset(key.scopes.split()))
    return None


def audiences(principal: Principal) -> list[str]:
    """Which parts of the change log a client sees: everyone's, its store's, and its own."""
    groups = [EVERYONE, client_audience(principal.id)]
    if principal.store_id:
        groups.append(store_audience(principal.store_id))
    return groups


@functools.cache
def _known_timezones() -> frozenset[str]:
    """Read once: listing the zones walks the tz database on disk. Empty where there is none (then any
    name is let through rather than refusing every store)."""
    return frozenset(zoneinfo.available_timezones())


def _check_timezone(name: str) -> None:
    known = _known_timezones()
    if known and name not in known:
        raise Problem(
            422, "Invalid store", f"unknown time zone {name!r}: use an IANA name like Europe/Moscow"
        )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
