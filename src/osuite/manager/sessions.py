"""Logins as rows of the Manager's database: the browser holds a random token, the database its digest.
A session slides forward while used and ends when idle for ``session_hours``, or at once on logout.
Also the log of what people did, since the programs behind the Manager only see its key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update

from osuite.core.db import Database
from osuite.core.ids import new_id
from osuite.core.security import new_token, token_digest
from osuite.manager import tables as t
from osuite.manager.roles import Action, Role, may


@dataclass(frozen=True)
class User:
    """The person logged in, as the data server named them."""

    user_id: str
    login: str
    name: str
    role: Role

    def may(self, action: Action) -> bool:
        return may(self.role, action)


def open_session(db: Database, user: User, *, hours: float, now: datetime | None = None) -> str:
    """A new session for ``user``; the token goes to the browser and nowhere else."""
    now = now or datetime.now(UTC)
    token = new_token()
    with db.write() as conn:
        conn.execute(delete(t.sessions).where(t.sessions.c.expires_at < now))
        conn.execute(
            insert(t.sessions).values(
                token_digest=token_digest(token),
                user_id=user.user_id,
                login=user.login,
                name=user.name,
                role=user.role.value,
                created_at=now,
                seen_at=now,
                expires_at=now + timedelta(hours=hours),
            )
        )
    return token


def session_user(db: Database, token: str, *, hours: float, now: datetime | None = None) -> User | None:
    """Who holds ``token``, if their session is alive; using it keeps it alive (written at most once a
    minute, so browsing does not turn every page into a write)."""
    now = now or datetime.now(UTC)
    digest = token_digest(token)
    with db.read() as conn:
        row = conn.execute(select(t.sessions).where(t.sessions.c.token_digest == digest)).mappings().first()
    if row is None or row["expires_at"] <= now:
        return None
    if now - row["seen_at"] > timedelta(minutes=1):
        with db.write() as conn:
            conn.execute(
                update(t.sessions)
                .where(t.sessions.c.token_digest == digest)
                .values(seen_at=now, expires_at=now + timedelta(hours=hours))
            )
    return User(user_id=row["user_id"], login=row["login"], name=row["name"], role=Role(row["role"]))


def close_session(db: Database, token: str) -> None:
    with db.write() as conn:
        conn.execute(delete(t.sessions).where(t.sessions.c.token_digest == token_digest(token)))


def record(db: Database, user: User, section: str, action: str, target: str, detail: str = "") -> None:
    """Remember that ``user`` did ``action`` to ``target`` (a price changed, a card blocked …)."""
    with db.write() as conn:
        conn.execute(
            insert(t.actions).values(
                id=new_id(),
                at=datetime.now(UTC),
                login=user.login,
                section=section,
                action=action,
                target=target[:200],
                detail=detail,
            )
        )
