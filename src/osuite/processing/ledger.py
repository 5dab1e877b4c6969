"""Accounts and their journals as the service layer uses them: find a card's account and lock it, read
its movements (from memory when current), derive its state, say what this center may spend of it, and
store new movements.

**Locking.** Every write that touches an account's balance locks the account's row first
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time anyway) and keeps it until the
transaction ends, so two tills spending one account queue there, and each sees the other's movements.
One account per transaction: no lock order to get wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update

from osuite.core.db import after_commit
from osuite.processing import tables
from osuite.processing.context import Processing
from osuite.processing.domain.allowance import root_spendable, subordinate_spendable
from osuite.processing.domain.cards import Card, CardStatus
from osuite.processing.domain.journal import AccountState, Movement, derive
from osuite.processing.errors import AccountNotFound, CardNotFound
from osuite.processing.journals import Journal
from osuite.processing.publish import publish_movements

BONUS, DISCOUNT, GIFT = "bonus", "discount", "gift"
ACCOUNT_TYPES = (BONUS, DISCOUNT, GIFT)


@dataclass(frozen=True)
class Account:
    id: str
    customer_id: str | None
    type: str
    program_id: str
    nominal: int | None
    turnover: int
    version: int


_a = tables.accounts.c
_ACCOUNT_COLUMNS = (_a.id, _a.customer_id, _a.type, _a.program_id, _a.nominal, _a.turnover, _a.version)


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        customer_id=row.customer_id,
        type=row.type,
        program_id=row.program_id,
        nominal=row.nominal,
        turnover=int(row.turnover),
        version=int(row.version),
    )


# The hot statements are built once, with bound parameters: building one costs more than SQLite's work.
_c = tables.cards.c
_ACCOUNT = select(*_ACCOUNT_COLUMNS).where(_a.id == bindparam("account_id"))
_ACCOUNT_LOCKED = _ACCOUNT.with_for_update()
_CARD = select(_c.number, _c.account_id, _c.status, _c.replaced_by).where(_c.number == bindparam("number"))
_ADD_MOVEMENTS = insert(tables.movements)
_BUMP_VERSION = (
    update(tables.accounts)
    .where(_a.id == bindparam("account_id"))
    .values(version=_a.version + bindparam("n"))
)


def account(conn: Connection, account_id: str, *, lock: bool = False) -> Account:
    row = conn.execute(_ACCOUNT_LOCKED if lock else _ACCOUNT, {"account_id": account_id}).first()
    if row is None:
        raise AccountNotFound(account_id=account_id)
    return _account(row)


def card(conn: Connection, number: str) -> Card:
    row = conn.execute(_CARD, {"number": number.strip()}).first()
    if row is None:
        raise CardNotFound(number=number)
    return Card(number=row.number, account_id=row.account_id, status=row.status, replaced_by=row.replaced_by)


def card_and_account(conn: Connection, number: str, *, lock: bool = False) -> tuple[Card, Account]:
    """A card and its account (locked for the transaction when ``lock``)."""
    found = card(conn, number)
    return found, account(conn, found.account_id, lock=lock)


def cards_of(conn: Connection, account_id: str) -> list[Card]:
    c = tables.cards.c
    rows = conn.execute(
        select(c.number, c.account_id, c.status, c.replaced_by)
        .where(c.account_id == account_id)
        .order_by(c.created_at, c.number)
    )
    return [
        Card(number=r.number, account_id=r.account_id, status=r.status, replaced_by=r.replaced_by)
        for r in rows
    ]


def is_active(found: Card) -> bool:
    return found.status == CardStatus.ACTIVE


def journal(conn: Connection, p: Processing, acc: Account) -> Journal:
    return p.journals.of(conn, acc.id, acc.version)


def state(movements: Sequence[Movement], acc: Account, now: datetime) -> AccountState:
    return derive(movements, as_of=now, account_id=acc.id)


def spendable(
    p: Processing,
    st: AccountState,
    now: datetime,
    *,
    until: datetime | None = None,
    releasing: str | None = None,
) -> int:
    """What this center may spend of the account now: at the root, what no grant or hold of its own
    keeps; at a subordinate, what its grants still allow (:mod:`~osuite.processing.domain.allowance`)."""
    if p.is_root:
        return root_spendable(st, now, root=p.center_id, releasing=releasing)
    return subordinate_spendable(st, p.center_id, now, until=until, releasing=releasing)


def balance(st: AccountState, now: datetime, spend: int | None = None) -> dict[str, int]:
    out = {
        "active": max(0, st.active_at(now)),
        "pending": st.pending,
        "held": st.held_at(now),
        "available": st.available_at(now),
    }
    if spend is not None:
        out["spendable"] = spend
    return out


def movement_rows(movements: Sequence[Movement], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "account_id": m.account_id,
            "kind": m.kind.value,
            "amount": m.amount,
            "occurred_at": m.occurred_at,
            "origin": m.origin,
            "body": orjson.dumps(m.to_json()).decode(),
            "recorded_at": now,
        }
        for m in movements
    ]


def record(conn: Connection, p: Processing, acc: Account, known: Journal, new: Sequence[Movement]) -> Journal:
    """Store ``new`` movements of the (locked) account whose journal is ``known``, publish them, and
    keep the longer journal in memory once the transaction commits; the new journal."""
    if not new:
        return known
    conn.execute(_ADD_MOVEMENTS, movement_rows(new, p.now()))
    conn.execute(_BUMP_VERSION, {"account_id": acc.id, "n": len(new)})
    publish_movements(conn, p, new)
    longer = known + tuple(new)
    version = acc.version + len(new)
    after_commit(conn, lambda: p.journals.remember(acc.id, version, longer))
    return longer
