"""The back office's side: customers, their cards and accounts, balance adjustments, and the journal
of an account or a customer. Every change is published (see :mod:`.publish`); changes to cards and
balances also leave an audit entry: who, when, what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from osuite.core.i18n import N_
from osuite.core.ids import new_id
from osuite.processing import ledger, programs, tables
from osuite.processing.context import Processing
from osuite.processing.domain import cards as card_rules
from osuite.processing.domain.cards import Card
from osuite.processing.domain.errors import InvalidInput
from osuite.processing.domain.journal import AccountState, Movement
from osuite.processing.domain.rules import GiftCardTerms
from osuite.processing.domain.transactions import Made, adjust, load_gift_card
from osuite.processing.errors import AlreadyExists, CustomerNotFound
from osuite.processing.publish import publish
from osuite.processing.service import Answer, carry_out
from osuite.processing.wire import AdjustmentCreate, CardIssue, CustomerCreate, CustomerUpdate

# --- audit --------------------------------------------------------------------------------------------


def audit(conn: Connection, p: Processing, *, actor: str, action: str, subject: str, **detail: Any) -> None:
    conn.execute(
        insert(tables.audit).values(
            id=new_id(),
            at=p.now(),
            actor=actor or "unknown",
            action=action,
            subject=subject,
            detail=orjson.dumps(detail, default=str).decode(),
        )
    )


# --- customers ----------------------------------------------------------------------------------------


def _customer_row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "phone": row.phone,
        "email": row.email,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def customer_payload(customer: dict[str, Any]) -> dict[str, Any]:
    return {
        **customer,
        "created_at": customer["created_at"].isoformat(),
        "updated_at": customer["updated_at"].isoformat(),
    }


def get_customer(conn: Connection, customer_id: str) -> dict[str, Any]:
    row = conn.execute(select(tables.customers).where(tables.customers.c.id == customer_id)).first()
    if row is None:
        raise CustomerNotFound(customer_id=customer_id)
    return _customer_row(row)


def list_customers(
    conn: Connection, *, phone: str | None = None, after: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Customers by id; pass the last id seen as ``after`` for the next page."""
    c = tables.customers.c
    query = select(tables.customers).order_by(c.id).limit(limit)
    if phone:
        query = query.where(c.phone == phone.strip())
    if after:
        query = query.where(c.id > after)
    return [_customer_row(r) for r in conn.execute(query)]


def _blank(text: str | None) -> str | None:
    return (text or "").strip() or None


def create_customer(conn: Connection, p: Processing, body: CustomerCreate) -> dict[str, Any]:
    customer_id = body.id or new_id()
    c = tables.customers.c
    if conn.execute(select(c.id).where(c.id == customer_id)).first() is not None:
        raise AlreadyExists(N_("A customer with id {customer_id} exists already"), customer_id=customer_id)
    now = p.now()
    customer = {
        "id": customer_id,
        "name": body.name,
        "phone": _blank(body.phone),
        "email": _blank(body.email),
        "created_at": now,
        "updated_at": now,
    }
    conn.execute(insert(tables.customers).values(**customer))
    publish(conn, p, "customer", customer_id, customer_payload(customer))
    return customer


def update_customer(
    conn: Connection, p: Processing, customer_id: str, body: CustomerUpdate
) -> dict[str, Any]:
    current = get_customer(conn, customer_id)
    changed = {"name": body.name, "phone": _blank(body.phone), "email": _blank(body.email)}
    if all(current[k] == v for k, v in changed.items()):
        return current
    customer = {**current, **changed, "updated_at": p.now()}
    conn.execute(update(tables.customers).where(tables.customers.c.id == customer_id).values(**customer))
    publish(conn, p, "customer", customer_id, customer_payload(customer))
    return customer


# --- accounts and cards -------------------------------------------------------------------------------


def card_payload(card: Card, *, created_at: datetime, updated_at: datetime) -> dict[str, Any]:
    return {
        "number": card.number,
        "account_id": card.account_id,
        "status": card.status.value,
        "replaced_by": card.replaced_by,
        "created_at": created_at.isoformat(),
        "updated_at": updated_at.isoformat(),
    }


def account_payload(acc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": acc["id"],
        "customer_id": acc["customer_id"],
        "type": acc["type"],
        "program_id": acc["program_id"],
        "nominal": acc["nominal"],
        "created_at": acc["created_at"].isoformat(),
    }


def card_read(card: Card) -> dict[str, Any]:
    return {
        "number": card.number,
        "account_id": card.account_id,
        "status": card.status.value,
        "replaced_by": card.replaced_by,
    }


def _check_number_free(conn: Connection, number: str) -> None:
    c = tables.cards.c
    owner = conn.execute(select(c.account_id).where(c.number == number)).scalar()
    if owner is not None:
        raise AlreadyExists(
            N_("Card {number} exists already (account {account_id})"), number=number, account_id=owner
        )


def _insert_card(conn: Connection, p: Processing, card: Card) -> None:
    now = p.now()
    conn.execute(
        insert(tables.cards).values(
            number=card.number,
            account_id=card.account_id,
            status=card.status.value,
            replaced_by=card.replaced_by,
            created_at=now,
            updated_at=now,
        )
    )
    publish(conn, p, "card", card.number, card_payload(card, created_at=now, updated_at=now))


def issue_card(conn: Connection, p: Processing, body: CardIssue, *, actor: str) -> dict[str, Any]:
    """A new card: on a new account of ``type`` for the customer (a gift card loaded with its
    nominal), or on an existing account (``account_id``: a second card of a family, say)."""
    number = body.number
    _check_number_free(conn, number)
    if body.account_id is not None:
        acc = ledger.account(conn, body.account_id)
        card = Card(number=number, account_id=acc.id)
        _insert_card(conn, p, card)
        audit(conn, p, actor=actor, action="card_issued", subject=number, account_id=acc.id)
        return card_read(card)
    if body.customer_id is not None:
        get_customer(conn, body.customer_id)
    program = programs.get(conn, body.program_id)
    if body.type == ledger.GIFT:
        if body.nominal is None:
            raise InvalidInput(N_("A gift card needs its nominal"))
    elif body.nominal is not None:
        raise InvalidInput(N_("Only a gift card has a nominal"))
    now = p.now()
    new_account: dict[str, Any] = {
        "id": new_id(),
        "customer_id": body.customer_id,
        "type": body.type,
        "program_id": program.id,
        "nominal": body.nominal,
        "created_at": now,
    }
    store_account(conn, new_account)
    publish(conn, p, "account", new_account["id"], account_payload(new_account))
    card = Card(number=number, account_id=new_account["id"])
    _insert_card(conn, p, card)
    if body.type == ledger.GIFT and body.nominal is not None:
        terms = GiftCardTerms(nominal=body.nominal, valid_days=program.gift_valid_days)
        load = load_gift_card(
            terms, account_id=new_account["id"], made=Made(id=new_id(), origin=p.center_id, now=now)
        )
        locked = ledger.account(conn, new_account["id"], lock=True)
        ledger.record(conn, p, locked, (), [load])
    audit(
        conn,
        p,
        actor=actor,
        action="card_issued",
        subject=number,
        account_id=new_account["id"],
        type=body.type,
    )
    return card_read(card)


def store_account(conn: Connection, acc: dict[str, Any]) -> bool:
    """Keep an account (made here or replicated); ``False`` when it was kept already."""
    a = tables.accounts.c
    if conn.execute(select(a.id).where(a.id == acc["id"])).first() is not None:
        return False
    conn.execute(insert(tables.accounts).values(**acc, version=0, turnover=0))
    return True


def _save_card(conn: Connection, p: Processing, card: Card) -> None:
    now = p.now()
    c = tables.cards.c
    conn.execute(
        update(tables.cards)
        .where(c.number == card.number)
        .values(status=card.status.value, replaced_by=card.replaced_by, updated_at=now)
    )
    created = conn.execute(select(c.created_at).where(c.number == card.number)).scalar_one()
    publish(conn, p, "card", card.number, card_payload(card, created_at=created, updated_at=now))


def block_card(conn: Connection, p: Processing, number: str, *, actor: str) -> dict[str, Any]:
    card = card_rules.block(ledger.card(conn, number))
    _save_card(conn, p, card)
    audit(conn, p, actor=actor, action="card_blocked", subject=card.number)
    return card_read(card)


def unblock_card(conn: Connection, p: Processing, number: str, *, actor: str) -> dict[str, Any]:
    card = card_rules.unblock(ledger.card(conn, number))
    _save_card(conn, p, card)
    audit(conn, p, actor=actor, action="card_unblocked", subject=card.number)
    return card_read(card)


def card_lost(
    conn: Connection, p: Processing, number: str, *, replacement: str | None, actor: str
) -> dict[str, Any]:
    """Mark a card lost for good; with ``replacement``, a new card on the same account (the points stay
    with the customer). A lost card not replaced yet may be replaced later the same way."""
    card = ledger.card(conn, number)
    if replacement is None:
        if card.status == card_rules.CardStatus.LOST:
            return card_read(card)
        lost = Card(number=card.number, account_id=card.account_id, status=card_rules.CardStatus.LOST)
        _save_card(conn, p, lost)
        audit(conn, p, actor=actor, action="card_lost", subject=card.number)
        return card_read(lost)
    _check_number_free(conn, replacement)
    if card.status == card_rules.CardStatus.LOST and card.replaced_by is None:
        card = Card(number=card.number, account_id=card.account_id)  # as it was before it was lost
    old, new = card_rules.replace_card(card, replacement)
    _save_card(conn, p, old)
    _insert_card(conn, p, new)
    audit(conn, p, actor=actor, action="card_replaced", subject=old.number, replaced_by=new.number)
    return card_read(old)


# --- balances and journals ----------------------------------------------------------------------------


def account_view(conn: Connection, p: Processing, account_id: str) -> dict[str, Any]:
    acc = ledger.account(conn, account_id)
    now = p.now()
    st = ledger.state(ledger.journal(conn, p, acc), acc, now)
    return {
        "id": acc.id,
        "customer_id": acc.customer_id,
        "type": acc.type,
        "program_id": acc.program_id,
        "nominal": acc.nominal,
        "turnover": max(0, acc.turnover),
        "cards": [card_read(card) for card in ledger.cards_of(conn, acc.id)],
        "balance": ledger.balance(st, now, ledger.spendable(p, st, now)),
    }


def _movement_read(m: Movement) -> dict[str, Any]:
    return m.to_json()


def journal_view(conn: Connection, p: Processing, account_id: str) -> dict[str, Any]:
    acc = ledger.account(conn, account_id)
    now = p.now()
    st: AccountState = ledger.state(ledger.journal(conn, p, acc), acc, now)
    return {
        "account_id": acc.id,
        "balance": ledger.balance(st, now, ledger.spendable(p, st, now)),
        "movements": [_movement_read(m) for m in st.movements],
    }


def customer_journal(conn: Connection, p: Processing, customer_id: str) -> dict[str, Any]:
    customer = get_customer(conn, customer_id)
    a = tables.accounts.c
    ids = conn.execute(
        select(a.id).where(a.customer_id == customer_id).order_by(a.created_at, a.id)
    ).scalars()
    return {"customer": customer, "accounts": [journal_view(conn, p, account_id) for account_id in ids]}


def adjust_balance(
    p: Processing, account_id: str, body: AdjustmentCreate, *, actor: str
) -> tuple[Answer, bool]:
    """An operator's correction with a reason and who made it; a debit takes no more than this center
    may spend. Retries are safe when the caller gives a transaction id."""
    transaction_id = body.transaction_id or new_id()
    who = body.actor.strip() or actor

    def work(conn: Connection) -> tuple[str | None, Answer]:
        now = p.now()
        acc = ledger.account(conn, account_id, lock=True)
        journal = ledger.journal(conn, p, acc)
        st = ledger.state(journal, acc, now)
        spend = ledger.spendable(p, st, now)
        made = Made(id=new_id(), origin=p.center_id, now=now, transaction_id=transaction_id)
        movement = adjust(
            st,
            amount=body.amount,
            reason=body.reason.strip(),
            actor=who,
            made=made,
            expires_at=body.expires_at,
            spendable=spend,
        )
        journal = ledger.record(conn, p, acc, journal, [movement])
        audit(
            conn,
            p,
            actor=who,
            action="balance_adjusted",
            subject=acc.id,
            amount=body.amount,
            reason=body.reason.strip(),
            movement_id=movement.id,
        )
        after = ledger.state(journal, acc, now)
        return acc.id, {
            "transaction_id": transaction_id,
            "movement_id": movement.id,
            "amount": movement.amount,
            "balance": ledger.balance(after, now, ledger.spendable(p, after, now)),
        }

    return carry_out(p, "adjust", transaction_id, body.model_copy(update={"actor": who}), work)
