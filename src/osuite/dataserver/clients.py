"""Stores, the clients enrolled in them, administrators' API keys, and who a bearer token is.

A client (a POS terminal, a scale server, a store data server …) joins with a one-time code that an
administrator issues for a store; it receives a token that is stored only as a hash. Revoking a client
makes its token worthless at once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from osuite.core.http import Principal, Problem, conflict, not_found
from osuite.core.ids import new_id
from osuite.core.security import code_digest, new_code, new_token, token_digest
from osuite.core.sync.changelog import Change
from osuite.core.sync.wire import EVERYONE, client_audience, store_audience
from osuite.dataserver import tables
from osuite.dataserver.context import CLIENT, MANAGE, READ, RELAY, DataServer

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
    if conn.execute(select(tables.stores.c.id).where(tables.stores.c.code == code)).first():
        raise conflict(f"a store with code {code!r} already exists")
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


def publish_store(conn: Connection, ds: DataServer, row: dict[str, Any]) -> None:
    payload = {k: row[k] for k in ("id", "code", "name", "address", "timezone", "active")}
    ds.changelog.record(conn, [Change("store", row["id"], EVERYONE, payload)])


def get_store(conn: Connection, store_id: str) -> dict[str, Any]:
    row = conn.execute(select(tables.stores).where(tables.stores.c.id == store_id)).mappings().first()
    if row is None:
        raise not_found("store", store_id)
    return dict(row)


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
    return dict(row)


def issue_enrollment_code(
    conn: Connection, ds: DataServer, *, store_id: str, kind: str, name: str
) -> dict[str, Any]:
    """A one-time code for a new client of ``kind`` in the store; shown once, stored hashed."""
    if kind not in CLIENT_KINDS:
        raise Problem(422, "Invalid client kind", f"kind must be one of {', '.join(CLIENT_KINDS)}")
    get_store(conn, store_id)
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
    _cache.clear()


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
    if (
        conn.execute(
            update(tables.api_keys).where(k.id == key_id).values(revoked_at=datetime.now(UTC))
        ).rowcount
        == 0
    ):
        raise not_found("API key", key_id)
    _cache.clear()


# Tokens are checked on every request; a short cache keeps the ingest path off the database while a
# revocation still takes effect within seconds (and at once in this process).
_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, Principal | None]] = {}


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


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
