"""Who is at the till: cashiers log in with their PIN; a restricted action needs the permission or a
supervisor's PIN, and every approval is recorded (in the receipt and in the audit log).

PINs are checked against the hashes the data server published, so logging in works offline. Sessions
are kept in the database (as digests), so a till restarted after a crash keeps its cashier logged in.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Connection, delete, insert, select

from osuite.core.i18n import N_
from osuite.core.security import new_token, token_digest, verify_secret
from osuite.pos import catalog
from osuite.pos import tables as t
from osuite.pos.errors import NeedsApproval, NotLoggedIn, WrongSupervisorPin


@dataclass(frozen=True)
class Cashier:
    id: str
    name: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class Approval:
    action: str
    permission: str
    approved_by: str
    at: datetime
    line_no: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "action": self.action,
            "permission": self.permission,
            "approved_by": self.approved_by,
            "at": self.at.isoformat(),
            "line_no": self.line_no,
        }


_PIN_KEY = secrets.token_bytes(32)
_KNOWN_PINS: dict[bytes, str] = {}
"""A keyed digest of each PIN that worked in this process → whose it was. A PIN hash is slow to check
on purpose, and a store has dozens of people: the person a PIN belonged to last time is checked first,
against the hash the data server published (so a changed PIN or a deactivated person is never let in)."""
_MAX_KNOWN = 10_000


def user_by_pin(conn: Connection, pin: str) -> str | None:
    """The id of the active person with this PIN, or None. (PINs should be unique within a store.)"""
    if not pin.isdigit():
        return None
    tag = hmac.new(_PIN_KEY, pin.encode(), "sha256").digest()
    known = _KNOWN_PINS.get(tag)
    users = catalog.users_with_pin(conn)
    ordered = sorted(users, key=lambda row: row["id"] != known)  # last time's owner first
    for row in ordered:
        if verify_secret(pin, row["pin_hash"]):
            if len(_KNOWN_PINS) >= _MAX_KNOWN:
                _KNOWN_PINS.clear()
            _KNOWN_PINS[tag] = str(row["id"])
            return str(row["id"])
    return None


def cashier(conn: Connection, user_id: str) -> Cashier:
    return Cashier(
        id=user_id,
        name=catalog.user_name(conn, user_id),
        permissions=frozenset(catalog.permissions_of(conn, user_id)),
    )


def login(conn: Connection, pin: str, now: datetime) -> tuple[str, Cashier]:
    user_id = user_by_pin(conn, pin)
    if user_id is None:
        raise NotLoggedIn(N_("Wrong PIN, or the person is not active at this store"))
    who = cashier(conn, user_id)
    if "sell" not in who.permissions:
        raise NotLoggedIn(
            N_(
                "{name} may not work at the till (no 'sell' permission); a supervisor approves at the"
                " till by entering their PIN when asked"
            ),
            name=who.name,
        )
    token = new_token()
    conn.execute(insert(t.sessions).values(digest=token_digest(token), user_id=user_id, created_at=now))
    audit(conn, now, "login", user_id)
    return token, who


def logout(conn: Connection, token: str) -> None:
    conn.execute(delete(t.sessions).where(t.sessions.c.digest == token_digest(token)))


def session(conn: Connection, token: str) -> Cashier:
    user_id = conn.execute(
        select(t.sessions.c.user_id).where(t.sessions.c.digest == token_digest(token))
    ).scalar()
    if user_id is None:
        raise NotLoggedIn(N_("Log in with your PIN"))
    who = cashier(conn, user_id)
    if not who.name:  # deleted or deactivated at the data server since
        raise NotLoggedIn(N_("This person can no longer work at the till"))
    return who


def authorize(
    conn: Connection,
    who: Cashier,
    permission: str,
    action: str,
    supervisor_pin: str | None,
    now: datetime,
    *,
    line_no: int | None = None,
    code: str | None = None,
) -> Approval | None:
    """None when the cashier holds ``permission``; the approval when a supervisor's PIN grants it;
    :class:`NeedsApproval` otherwise. ``action`` says what is asked and that it needs ``{permission}``
    in the cashier's words, a whole sentence marked for translation (``N_("Voiding a line needs the
    permission '{permission}': …")``); ``code`` names it in the approval that is recorded
    (``void_line``, ``discount`` …; the permission's name unless given)."""
    if permission in who.permissions:
        return None
    if not supervisor_pin:
        raise NeedsApproval(permission, action)
    supervisor_id = user_by_pin(conn, supervisor_pin)
    if supervisor_id is None:
        raise WrongSupervisorPin(N_("Wrong supervisor PIN: nothing was done"))
    if permission not in catalog.permissions_of(conn, supervisor_id):
        raise NeedsApproval(
            permission,
            N_(
                "{name} may not approve this either (it needs the permission '{permission}'): ask a"
                " supervisor who may"
            ),
            name=catalog.user_name(conn, supervisor_id),
        )
    return Approval(code or permission, permission, supervisor_id, now, line_no)


def audit(
    conn: Connection,
    now: datetime,
    action: str,
    user_id: str | None,
    *,
    approval: Approval | None = None,
    receipt_id: str | None = None,
    detail: object = "",
) -> None:
    conn.execute(
        insert(t.audit).values(
            at=now,
            action=action,
            user_id=user_id,
            approved_by=approval.approved_by if approval else None,
            receipt_id=receipt_id,
            detail=detail if isinstance(detail, str) else orjson.dumps(detail).decode(),
        )
    )
