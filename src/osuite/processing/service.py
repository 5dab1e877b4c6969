"""The POS's transactions with the processing center, each one database transaction: look a card up,
hold points for an open receipt, commit or cancel the hold, accrue on the receipt's close, and take
back and give back on a return. The rules are the domain's; this module reads what they need, stores
what they answer, and keeps every call idempotent by the transaction id the POS made for it.

**Idempotency.** The answer to every call that changed something is stored with the call's
fingerprint under its transaction id, in the transaction that made the change. A call whose id is
known gets that answer again (the same request) or is refused (a different one), and changes nothing.
Two copies of one new call racing each other queue on a lock of the id (PostgreSQL; SQLite has one
writer at a time), so the second finds the first one's answer; should two ever both carry it out,
the second to store the id fails, its transaction rolls back, and it is answered again.

**Card status.** A blocked or lost card cannot be looked up, hold or spend points: the cashier is told
why (and which card replaced a lost one). Accruals and returns go to the card's account whatever its
status: they record a sale that happened, and a receipt closed offline must never be lost because the
card was blocked meanwhile. Cancelling a hold is always allowed: it only lets points go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from osuite.core.i18n import N_
from osuite.core.ids import new_id
from osuite.processing import ledger, programs, tables
from osuite.processing.context import Processing
from osuite.processing.domain.allowance import check_allowed, grant
from osuite.processing.domain.cards import Card, account_of
from osuite.processing.domain.errors import InvalidInput
from osuite.processing.domain.journal import AccountState, Kind, Movement
from osuite.processing.domain.rules import (
    POINTS,
    Accrual,
    LineAccrual,
    Payment,
    Program,
    Quote,
    ReceiptLine,
    ReturnedLine,
    SoldLine,
    accrual,
    gift_quote,
    quote,
    return_effects,
    sold_lines,
)
from osuite.processing.domain.transactions import (
    Made,
    Request,
    StoredRequest,
    accrue,
    commit_hold,
    give_back,
    place_hold,
    release_hold,
    replay,
    reverse_accrual,
)
from osuite.processing.errors import AlreadyAccrued, NotHere, SaleNotFound, WrongAccountType
from osuite.processing.journals import Journal
from osuite.processing.publish import publish
from osuite.processing.wire import (
    AccrueRequest,
    AllowanceRequest,
    CancelRequest,
    CommitRequest,
    HoldRequest,
    LookupRequest,
    ReceiptLineIn,
    ReturnRequest,
)

Answer = dict[str, Any]
Work = Callable[[Connection], tuple[str | None, Answer]]


# --- idempotency --------------------------------------------------------------------------------------


def carry_out(
    p: Processing, operation: str, transaction_id: str, request: BaseModel, work: Work
) -> tuple[Answer, bool]:
    """Run ``work`` once for ``transaction_id``; the answer, and whether it was replayed.
    ``request`` is what the caller sent: its fingerprint tells a retry from another request."""
    contents = request.model_dump(exclude={"transaction_id"})
    call = Request(transaction_id, operation, contents)
    for attempt in (1, 2):
        try:
            with p.write() as conn:
                _lock_transaction_id(p, conn, call.transaction_id)
                stored = _stored(conn, call.transaction_id)
                if stored is not None:
                    answer = replay(stored, call)
                    return dict(answer or {}), True
                account_id, answer = work(conn)
                conn.execute(
                    _STORE,
                    {
                        "id": call.transaction_id,
                        "operation": operation,
                        "fingerprint": call.fingerprint,
                        "answer": orjson.dumps(answer).decode(),
                        "account_id": account_id,
                        "created_at": p.now(),
                    },
                )
                return answer, False
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


_ADVISORY_CLASS = 0x0702  # the key space of transaction ids among the advisory locks


def _lock_transaction_id(p: Processing, conn: Connection, transaction_id: str) -> None:
    """Copies of one call wait for each other here, so the second finds the first one's answer. (On
    SQLite the write transaction is the lock.)"""
    if p.db.is_sqlite:
        return
    key = int.from_bytes(hashlib.sha256(transaction_id.encode()).digest()[:4], "big", signed=True)
    conn.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": _ADVISORY_CLASS, "key": key})


_t = tables.transactions.c
_STORED = select(_t.operation, _t.fingerprint, _t.answer).where(_t.id == bindparam("transaction_id"))
_STORE = insert(tables.transactions)


def _stored(conn: Connection, transaction_id: str) -> StoredRequest | None:
    row = conn.execute(_STORED, {"transaction_id": transaction_id}).first()
    if row is None:
        return None
    return StoredRequest(transaction_id, row.operation, row.fingerprint, orjson.loads(row.answer))


# --- helpers ------------------------------------------------------------------------------------------


def receipt_lines(lines: Sequence[ReceiptLineIn]) -> list[ReceiptLine]:
    return [
        ReceiptLine(
            line_no=line.line_no,
            product_id=line.product_id,
            amount=line.amount,
            category_path=tuple(line.category_path),
            quantity=line.quantity,
        )
        for line in lines
    ]


def _spends_points(acc: ledger.Account) -> None:
    if acc.type == ledger.DISCOUNT:
        raise WrongAccountType(
            N_("Card account {account_id} gives a discount; it has no points to spend"), account_id=acc.id
        )


def _quote(
    acc: ledger.Account,
    program: Program,
    st: AccountState,
    lines: list[ReceiptLine],
    total: int | None,
    now: datetime,
    spend: int,
) -> Quote:
    if acc.type == ledger.GIFT:
        return gift_quote(
            st, sum(line.amount for line in lines) if total is None else total, now, spendable=spend
        )
    return quote(
        st,
        program,
        lines,
        now,
        turnover=max(0, acc.turnover),
        spendable=0 if acc.type == ledger.DISCOUNT else spend,
    )


def _balance(p: Processing, journal: Journal, acc: ledger.Account, now: datetime) -> dict[str, int]:
    st = ledger.state(journal, acc, now)
    return ledger.balance(st, now, ledger.spendable(p, st, now))


def _made(p: Processing, now: datetime, transaction_id: str, receipt_id: str | None) -> Made:
    return Made(
        id=new_id(), origin=p.center_id, now=now, transaction_id=transaction_id, receipt_id=receipt_id
    )


def _customer(conn: Connection, customer_id: str | None) -> dict[str, Any] | None:
    if customer_id is None:
        return None
    c = tables.customers.c
    row = conn.execute(select(c.id, c.name, c.phone).where(c.id == customer_id)).first()
    return None if row is None else {"id": row.id, "name": row.name, "phone": row.phone}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# --- lookup -------------------------------------------------------------------------------------------


def lookup(p: Processing, request: LookupRequest) -> Answer:
    """The card, its customer and balance, what points can pay of the receipt, and the discount level.
    Changes nothing, so it needs no transaction id."""
    now = p.now()
    with p.db.read() as conn:
        card = ledger.card(conn, request.card)
        account_of(card)
        acc = ledger.account(conn, card.account_id)
        journal = ledger.journal(conn, p, acc)
        program = programs.get(conn, acc.program_id)
        customer = _customer(conn, acc.customer_id)
    st = ledger.state(journal, acc, now)
    spend = ledger.spendable(p, st, now)
    payable = spend
    if p.allowances is not None:  # a subordinate asks the root for more when a hold needs it
        payable = max(spend, st.available_at(now))
    q = _quote(acc, program.rules, st, receipt_lines(request.lines), request.total, now, payable)
    return {
        "card": card.number,
        "status": card.status.value,
        "account_id": acc.id,
        "account_type": acc.type,
        "program_id": acc.program_id,
        "customer": customer,
        "balance": ledger.balance(st, now, spend),
        "spendable": q.spendable,
        "cap": q.cap,
        "discount_percent": str(q.discount_percent),
        "turnover": max(0, acc.turnover),
    }


# --- holds --------------------------------------------------------------------------------------------


def _spending_card(conn: Connection, number: str) -> tuple[Card, ledger.Account]:
    card = ledger.card(conn, number)
    account_of(card)
    acc = ledger.account(conn, card.account_id, lock=True)
    _spends_points(acc)
    return card, acc


def hold(p: Processing, request: HoldRequest) -> tuple[Answer, bool]:
    """Reserve points for an open receipt until the hold expires, is committed or is cancelled."""

    def work(conn: Connection) -> tuple[str | None, Answer]:
        now = p.now()
        _card, acc = _spending_card(conn, request.card)
        minutes = request.minutes or p.settings.hold_minutes
        if minutes > p.settings.max_hold_minutes:
            raise InvalidInput(
                N_("A hold may last at most {most} minutes, not {minutes}"),
                most=p.settings.max_hold_minutes,
                minutes=minutes,
            )
        expires_at = now + timedelta(minutes=minutes)
        journal = ledger.journal(conn, p, acc)
        st = ledger.state(journal, acc, now)
        spend = ledger.spendable(p, st, now, until=expires_at)
        if request.lines is not None:
            program = programs.get(conn, acc.program_id).rules
            _quote(acc, program, st, receipt_lines(request.lines), None, now, spend).check(request.amount)
        if not p.is_root:
            check_allowed(request.amount, spend)
        made = _made(p, now, request.transaction_id, request.receipt_id)
        movement = place_hold(st, amount=request.amount, expires_at=expires_at, made=made, spendable=spend)
        journal = ledger.record(conn, p, acc, journal, [movement])
        return acc.id, {
            "transaction_id": request.transaction_id,
            "hold_id": movement.id,
            "amount": movement.amount,
            "expires_at": expires_at.isoformat(),
            "balance": _balance(p, journal, acc, now),
        }

    if p.allowances is not None and not _carried_out(p, request.transaction_id):
        minutes = min(request.minutes or p.settings.hold_minutes, p.settings.max_hold_minutes)
        p.allowances(request.card, request.amount, p.now() + timedelta(minutes=minutes))
    return carry_out(p, "hold", request.transaction_id, request, work)


def _carried_out(p: Processing, transaction_id: str) -> bool:
    with p.db.read() as conn:
        return _stored(conn, transaction_id) is not None


def commit(p: Processing, request: CommitRequest) -> tuple[Answer, bool]:
    """Spend at most what the hold reserved, and close it."""

    def work(conn: Connection) -> tuple[str | None, Answer]:
        now = p.now()
        _card, acc = _spending_card(conn, request.card)
        journal = ledger.journal(conn, p, acc)
        st = ledger.state(journal, acc, now)
        held = st.hold(request.hold_id)
        receipt_id = request.receipt_id or (held.receipt_id if held is not None else None)
        spend = ledger.spendable(p, st, now, releasing=request.hold_id)
        made = _made(p, now, request.transaction_id, receipt_id)
        movement = commit_hold(st, hold_id=request.hold_id, amount=request.amount, made=made, spendable=spend)
        journal = ledger.record(conn, p, acc, journal, [movement])
        return acc.id, {
            "transaction_id": request.transaction_id,
            "redemption_id": movement.id,
            "amount": -movement.amount,
            "balance": _balance(p, journal, acc, now),
        }

    return carry_out(p, "commit", request.transaction_id, request, work)


def cancel(p: Processing, request: CancelRequest) -> tuple[Answer, bool]:
    """Let a hold go (the receipt was cancelled, or paid otherwise)."""

    def work(conn: Connection) -> tuple[str | None, Answer]:
        now = p.now()
        card = ledger.card(conn, request.card)
        acc = ledger.account(conn, card.account_id, lock=True)
        journal = ledger.journal(conn, p, acc)
        st = ledger.state(journal, acc, now)
        held = st.hold(request.hold_id)
        made = _made(p, now, request.transaction_id, held.receipt_id if held is not None else None)
        movement = release_hold(st, hold_id=request.hold_id, made=made)
        journal = ledger.record(conn, p, acc, journal, [movement])
        return acc.id, {
            "transaction_id": request.transaction_id,
            "release_id": movement.id,
            "balance": _balance(p, journal, acc, now),
        }

    return carry_out(p, "cancel", request.transaction_id, request, work)


# --- accrual on close ---------------------------------------------------------------------------------


def _sale_row(conn: Connection, receipt_id: str) -> Any:
    s = tables.sales.c
    return conn.execute(select(tables.sales).where(s.receipt_id == receipt_id)).first()


def accrue_receipt(p: Processing, request: AccrueRequest) -> tuple[Answer, bool]:
    """The points a closed receipt earns (none for a discount account, which counts the turnover only),
    and the sale kept for its returns."""

    def work(conn: Connection) -> tuple[str | None, Answer]:
        now = p.now()
        card = ledger.card(conn, request.card)
        acc = ledger.account(conn, card.account_id, lock=True)
        if acc.type == ledger.GIFT:
            raise WrongAccountType(
                N_("Card {number} is a gift card: it pays, it does not earn"), number=card.number
            )
        earlier = _sale_row(conn, request.receipt_id)
        if earlier is not None:
            raise AlreadyAccrued(receipt_id=request.receipt_id, transaction_id=earlier.transaction_id)
        program = programs.get(conn, acc.program_id).rules
        lines = receipt_lines(request.lines)
        payments = [Payment(method=pay.method, amount=pay.amount) for pay in request.payments]
        made = _made(p, now, request.transaction_id, request.receipt_id)
        movement: Movement | None = None
        if acc.type == ledger.BONUS:
            earned, movement = accrue(program, account_id=acc.id, lines=lines, payments=payments, made=made)
        else:
            counted = accrual(Program(), lines, payments)  # checks the payments; earns nothing
            earned = Accrual(
                lines=tuple(LineAccrual(la.line_no, la.base, Decimal(0), 0) for la in counted.lines), total=0
            )
        points_paid = sum(pay.amount for pay in payments if pay.method == POINTS)
        sold = sold_lines(program, lines, earned, points_paid)
        journal = ledger.journal(conn, p, acc)
        redemption = next(
            (m.id for m in journal if m.kind == Kind.REDEMPTION and m.receipt_id == request.receipt_id),
            None,
        )
        total = sum(line.amount for line in lines)
        sale = {
            "receipt_id": request.receipt_id,
            "account_id": acc.id,
            "transaction_id": request.transaction_id,
            "total": total,
            "points_paid": points_paid,
            "accrual_id": movement.id if movement is not None else None,
            "redemption_id": redemption,
            "lines": [
                {
                    "line_no": s.line_no,
                    "quantity": str(s.quantity),
                    "amount": line.amount,
                    "accrued": s.accrued,
                    "redeemed": s.redeemed,
                }
                for s, line in zip(sold, lines, strict=True)
            ],
            "origin": p.center_id,
            "sold_at": now,
        }
        store_sale(conn, p, sale)
        journal = ledger.record(conn, p, acc, journal, [movement] if movement is not None else [])
        publish(conn, p, "sale", request.receipt_id, sale_payload(sale))
        return acc.id, {
            "transaction_id": request.transaction_id,
            "receipt_id": request.receipt_id,
            "accrual_id": sale["accrual_id"],
            "points": earned.total,
            "lines": [
                {"line_no": la.line_no, "base": la.base, "percent": str(la.percent), "points": la.points}
                for la in earned.lines
            ],
            "activates_at": _iso(movement.activates_at or movement.occurred_at) if movement else None,
            "expires_at": _iso(movement.expires_at) if movement else None,
            "turnover": acc.turnover + total,
            "balance": _balance(p, journal, acc, now),
        }

    return carry_out(p, "accrue", request.transaction_id, request, work)


def sale_payload(sale: dict[str, Any]) -> dict[str, Any]:
    return {**sale, "sold_at": sale["sold_at"].isoformat()}


def store_sale(conn: Connection, p: Processing, sale: dict[str, Any]) -> bool:
    """Keep a sale (made here or replicated) and count it in the account's turnover; ``False`` when it
    was kept already."""
    if _sale_row(conn, sale["receipt_id"]) is not None:
        return False
    conn.execute(insert(tables.sales).values(**{**sale, "lines": orjson.dumps(sale["lines"]).decode()}))
    a = tables.accounts.c
    conn.execute(
        update(tables.accounts).where(a.id == sale["account_id"]).values(turnover=a.turnover + sale["total"])
    )
    return True


# --- returns ------------------------------------------------------------------------------------------


def _share(whole: int, part: Decimal, of: Decimal) -> int:
    if part == of:
        return whole
    return int((Decimal(whole) * part / of).to_integral_value(rounding=ROUND_HALF_UP))


def _returned_so_far(conn: Connection, receipt_id: str) -> dict[int, dict[str, Any]]:
    r = tables.returns.c
    totals: dict[int, dict[str, Any]] = {}
    for stored in conn.execute(select(r.lines).where(r.receipt_id == receipt_id)).scalars():
        for line in orjson.loads(stored):
            seen = totals.setdefault(line["line_no"], {"quantity": Decimal(0), "reverse": 0, "give_back": 0})
            seen["quantity"] += Decimal(line["quantity"])
            seen["reverse"] += line["reverse"]
            seen["give_back"] += line["give_back"]
    return totals


def return_goods(p: Processing, request: ReturnRequest) -> tuple[Answer, bool]:
    """Take back the returned lines' share of the sale's accrual and give back the points that paid for
    them, in proportion to the quantity returned."""

    def work(conn: Connection) -> tuple[str | None, Answer]:
        now = p.now()
        card = ledger.card(conn, request.card)
        acc = ledger.account(conn, card.account_id, lock=True)
        sale = _sale_row(conn, request.receipt_id)
        if sale is None or sale.account_id != acc.id:
            raise SaleNotFound(receipt_id=request.receipt_id)
        sold_rows = {line["line_no"]: line for line in orjson.loads(sale.lines)}
        before = _returned_so_far(conn, request.receipt_id)
        sold = [
            SoldLine(
                line_no=n,
                quantity=Decimal(line["quantity"]),
                accrued=line["accrued"],
                redeemed=line["redeemed"],
                returned_quantity=before.get(n, {}).get("quantity", Decimal(0)),
                reversed=before.get(n, {}).get("reverse", 0),
                refunded=before.get(n, {}).get("give_back", 0),
            )
            for n, line in sold_rows.items()
        ]
        returned = [ReturnedLine(line_no=line.line_no, quantity=line.quantity) for line in request.lines]
        effects = return_effects(sold, returned)
        journal = ledger.journal(conn, p, acc)
        st = ledger.state(journal, acc, now)
        new: list[Movement] = []
        unrecovered = 0
        taken = 0
        if effects.reverse and sale.accrual_id:
            made = _made(p, now, request.transaction_id, request.receipt_id)
            reversal = reverse_accrual(st, accrual_id=sale.accrual_id, due=effects.reverse, made=made)
            unrecovered = reversal.unrecovered
            if reversal.movement is not None:
                new.append(reversal.movement)
                taken = -reversal.movement.amount
        if effects.give_back:
            program = programs.get(conn, acc.program_id).rules
            made = _made(p, now, request.transaction_id, request.receipt_id)
            new.append(
                give_back(
                    program,
                    account_id=acc.id,
                    redemption_id=sale.redemption_id or sale.receipt_id,
                    amount=effects.give_back,
                    made=made,
                )
            )
        amount = 0
        lines = []
        by_line = {line.line_no: line for line in effects.lines}
        for item in request.lines:
            row = sold_rows[item.line_no]
            quantity = Decimal(row["quantity"])
            done = before.get(item.line_no, {}).get("quantity", Decimal(0))
            amount += _share(row["amount"], done + item.quantity, quantity) - _share(
                row["amount"], done, quantity
            )
            effect = by_line[item.line_no]
            lines.append(
                {
                    "line_no": item.line_no,
                    "quantity": str(item.quantity),
                    "reverse": effect.reverse,
                    "give_back": effect.give_back,
                }
            )
        goods_return = {
            "id": request.transaction_id,
            "receipt_id": request.receipt_id,
            "account_id": acc.id,
            "amount": amount,
            "lines": lines,
            "origin": p.center_id,
            "returned_at": now,
        }
        store_return(conn, p, goods_return)
        journal = ledger.record(conn, p, acc, journal, new)
        publish(conn, p, "return", request.transaction_id, return_payload(goods_return))
        return acc.id, {
            "transaction_id": request.transaction_id,
            "receipt_id": request.receipt_id,
            "reversed": taken,
            "unrecovered": unrecovered,
            "given_back": effects.give_back,
            "lines": [
                {"line_no": line["line_no"], "reverse": line["reverse"], "give_back": line["give_back"]}
                for line in lines
            ],
            "turnover": max(0, acc.turnover - amount),
            "balance": _balance(p, journal, acc, now),
        }

    return carry_out(p, "return", request.transaction_id, request, work)


def return_payload(goods_return: dict[str, Any]) -> dict[str, Any]:
    return {**goods_return, "returned_at": goods_return["returned_at"].isoformat()}


def store_return(conn: Connection, p: Processing, goods_return: dict[str, Any]) -> bool:
    """Keep a return (made here or replicated) and take it off the account's turnover; ``False`` when
    it was kept already."""
    r = tables.returns.c
    if conn.execute(select(r.id).where(r.id == goods_return["id"])).first() is not None:
        return False
    conn.execute(
        insert(tables.returns).values(
            **{**goods_return, "lines": orjson.dumps(goods_return["lines"]).decode()}
        )
    )
    a = tables.accounts.c
    conn.execute(
        update(tables.accounts)
        .where(a.id == goods_return["account_id"])
        .values(turnover=a.turnover - goods_return["amount"])
    )
    return True


# --- allowances (at the root) -------------------------------------------------------------------------


def lend(p: Processing, request: AllowanceRequest, *, subordinate: str) -> tuple[Answer, bool]:
    """Lend ``subordinate`` up to ``request.amount`` points of the account for a while (see
    :mod:`~osuite.processing.domain.allowance`): perhaps less, perhaps nothing. The answer carries the
    grant's movement, so the subordinate can spend within it at once."""

    def work(conn: Connection) -> tuple[str | None, Answer]:
        if not p.is_root:
            raise NotHere(N_("Only the root center lends allowances"))
        now = p.now()
        if request.card is not None:
            account_id = ledger.card(conn, request.card).account_id
        elif request.account_id is not None:
            account_id = request.account_id
        else:
            raise InvalidInput(N_("An allowance names the card or the account"))
        acc = ledger.account(conn, account_id, lock=True)
        _spends_points(acc)
        journal = ledger.journal(conn, p, acc)
        st = ledger.state(journal, acc, now)
        hours = request.hours or p.settings.grant_hours
        made = Made(id=new_id(), origin=p.center_id, now=now, transaction_id=request.transaction_id)
        decision = grant(
            st, st.grants, subordinate, request.amount, now, made=made, duration=timedelta(hours=hours)
        )
        if decision.movement is not None:
            ledger.record(conn, p, acc, journal, [decision.movement])
        return acc.id, {
            "transaction_id": request.transaction_id,
            "account_id": acc.id,
            "grant_id": decision.movement.id if decision.movement is not None else None,
            "amount": decision.amount,
            "expires_at": _iso(decision.expires_at),
            "movement": decision.movement.to_json() if decision.movement is not None else None,
        }

    return carry_out(p, "allow", request.transaction_id, request, work)
