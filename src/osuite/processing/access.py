"""Who may call the processing center: API keys (the back office's, read-only ones, and those of the
POS terminals and stores, printed by ``osuite processing key``) and the tokens of enrolled
subordinates. Tokens are stored only as hashes; a revoked one stops working within seconds."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from osuite.core.db import after_commit
from osuite.core.http import Principal
from osuite.core.i18n import N_
from osuite.core.ids import new_id
from osuite.core.security import code_digest, new_code, new_token, token_digest
from osuite.processing import tables
from osuite.processing.context import KEY_SCOPES, READ, SUBORDINATE, SYNC, Processing
from osuite.processing.domain.errors import InvalidInput
from osuite.processing.errors import NotFound, NotHere, Refused


class EnrollmentRefused(Refused):
    status = 403
    kind = "enrollment_refused"


class SecondRoot(Refused):
    """There is exactly one root in a network."""

    status = 409
    kind = "second_root"

    def __init__(self) -> None:
        super().__init__(
            N_(
                "This network already has its root: a center that says it is a root cannot enroll with"
                " one. Start it with --role subordinate and a database of its own."
            )
        )


def create_key(conn: Connection, p: Processing, *, name: str, scope: str = "manage") -> dict[str, Any]:
    """A new API key; its token is in the answer and nowhere else."""
    if scope not in KEY_SCOPES:
        raise InvalidInput(
            N_("{scope} is not a scope; use one of {scopes}"), scope=repr(scope), scopes=", ".join(KEY_SCOPES)
        )
    if not name.strip():
        raise InvalidInput(N_("A key needs the name of who will use it"))
    token = new_token()
    key_id = new_id()
    scopes = sorted(KEY_SCOPES[scope])
    conn.execute(
        insert(tables.api_keys).values(
            id=key_id,
            name=name.strip(),
            token_digest=token_digest(token),
            scopes=" ".join(scopes),
            created_at=p.now(),
        )
    )
    return {"id": key_id, "name": name.strip(), "scopes": scopes, "token": token}


def revoke_key(conn: Connection, p: Processing, key_id: str) -> None:
    k = tables.api_keys.c
    done = conn.execute(
        update(tables.api_keys).where(k.id == key_id, k.revoked_at.is_(None)).values(revoked_at=p.now())
    ).rowcount
    if done != 1:
        raise NotFound(N_("There is no API key {key_id} in use"), key_id=key_id)
    after_commit(conn, _cache.clear)


# --- subordinates -------------------------------------------------------------------------------------


def issue_code(conn: Connection, p: Processing, *, name: str = "") -> dict[str, Any]:
    """A one-time code for a new subordinate (only a root issues them)."""
    if not p.is_root:
        raise NotHere(N_("Only the root center enrolls subordinates"))
    code = new_code()
    now = p.now()
    expires = now + timedelta(hours=p.settings.enrollment_code_hours)
    conn.execute(
        insert(tables.enrollment_codes).values(
            digest=code_digest(code), name=name or "subordinate", created_at=now, expires_at=expires
        )
    )
    return {"code": code, "expires_at": expires}


def enroll(
    conn: Connection, p: Processing, *, code: str, role: str, center_id: str, name: str = ""
) -> dict[str, Any]:
    """Trade a one-time code for a subordinate's token. A center that says it is a root is refused:
    there is exactly one root, and it is this one."""
    if not p.is_root:
        raise NotHere(N_("Only the root center enrolls subordinates"))
    if role == "root" or center_id == p.center_id:
        raise SecondRoot()
    e = tables.enrollment_codes.c
    found = conn.execute(select(tables.enrollment_codes).where(e.digest == code_digest(code))).first()
    now = p.now()
    if found is None:
        raise EnrollmentRefused(N_("This enrollment code is unknown; ask the root for a new one"))
    if found.used_at is not None:
        raise EnrollmentRefused(N_("This enrollment code was already used; ask the root for a new one"))
    if found.expires_at < now:
        raise EnrollmentRefused(N_("This enrollment code has expired; ask the root for a new one"))
    s = tables.subordinates.c
    if conn.execute(select(s.id).where(s.id == center_id)).first() is not None:
        raise EnrollmentRefused(N_("Center {center_id} is enrolled already"), center_id=center_id)
    claimed = conn.execute(
        update(tables.enrollment_codes)
        .where(e.digest == found.digest, e.used_at.is_(None))
        .values(used_at=now, center_id=center_id)
    ).rowcount
    if claimed != 1:
        raise EnrollmentRefused(N_("This enrollment code was already used; ask the root for a new one"))
    token = new_token()
    conn.execute(
        insert(tables.subordinates).values(
            id=center_id, name=name or found.name, token_digest=token_digest(token), enrolled_at=now
        )
    )
    return {"center_id": center_id, "root_id": p.center_id, "token": token}


def revoke_subordinate(conn: Connection, p: Processing, center_id: str) -> None:
    s = tables.subordinates.c
    done = conn.execute(
        update(tables.subordinates)
        .where(s.id == center_id, s.revoked_at.is_(None))
        .values(revoked_at=p.now())
    ).rowcount
    if done != 1:
        raise NotFound(N_("There is no enrolled subordinate {center_id}"), center_id=center_id)
    after_commit(conn, _cache.clear)


# --- who a token is -----------------------------------------------------------------------------------

_CACHE_SECONDS = 5.0
_cache: dict[tuple[int, str], tuple[float, Principal | None]] = {}


class Authenticator:
    """Finds the key or subordinate a bearer token belongs to; answers are kept a few seconds, so the
    hot path does not read the database on every call."""

    def __init__(self, p: Processing) -> None:
        self.p = p

    def __call__(self, token: str) -> Principal | None:
        key = (id(self.p), token_digest(token))
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.p.db.read() as conn:
            principal = _lookup(conn, key[1])
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[key] = (now + _CACHE_SECONDS, principal)
        return principal


def _lookup(conn: Connection, digest: str) -> Principal | None:
    k = tables.api_keys.c
    key = conn.execute(
        select(k.id, k.name, k.scopes).where(k.token_digest == digest, k.revoked_at.is_(None))
    ).first()
    if key is not None:
        return Principal(kind="key", id=key.id, name=key.name, scopes=frozenset(key.scopes.split()))
    s = tables.subordinates.c
    sub = conn.execute(select(s.id, s.name).where(s.token_digest == digest, s.revoked_at.is_(None))).first()
    if sub is not None:
        return Principal(
            kind="subordinate", id=sub.id, name=sub.name, scopes=frozenset({SYNC, SUBORDINATE, READ})
        )
    return None
