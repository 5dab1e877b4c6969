"""Paying and closing a receipt, and mending what a crash interrupted.

The order of work is what keeps a receipt from being lost or registered twice:

1. A card payment is saved as ``authorizing`` before the terminal is asked, under the payment's id;
   the terminal's answer then marks it ``approved`` or ``declined``. A payment left ``authorizing``
   (a timeout, a crash) is settled by asking the terminal with the same id (:func:`settle_card`).
2. When the receipt is paid, it is saved as ``fiscalizing`` before the registrar is asked, with the
   receipt's id as the registrar's key. The registrar's mark then closes it here, with its document in
   the outbox, in one transaction.
3. On start (:func:`reconcile`), a receipt left ``fiscalizing`` is looked up on the registrar by its
   id: registered → closed here with that mark; not registered → open again, with its payments.
   Registering again with the same key is harmless too: the registrar answers the mark it holds.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from osuite.core.i18n import N_
from osuite.core.ids import new_id
from osuite.core.money import format_money
from osuite.dataserver.wire import documents as wire
from osuite.devices.fiscal import FiscalError, FiscalItem, FiscalMark, FiscalPayment, FiscalReceipt
from osuite.devices.payment import CardErrorCode, CardResult, CardTerminalError
from osuite.pos import catalog, documents, loyalty, receipts, registrar, shifts
from osuite.pos import tables as t
from osuite.pos.auth import Cashier, audit, authorize
from osuite.pos.context import Pos
from osuite.pos.domain.errors import DomainError
from osuite.pos.domain.payments import Tender, payment_status
from osuite.pos.domain.shift import check_cash_refund
from osuite.pos.errors import DeviceFailed, Invalid, NotFound, PosError
from osuite.pos.tables import Record

log = logging.getLogger("osuite.pos")


def pay(pos: Pos, who: Cashier, payment_type: str, amount: int | None = None) -> dict[str, Any]:
    """Take a payment (a refund on a return). Cash may be more than is due: the rest is change. A card
    payment goes through the terminal. Once the receipt is paid in full it is closed at once."""
    with pos.lock:  # the till does one thing at a time, devices included
        return _pay(pos, who, payment_type, amount)


def _pay(pos: Pos, who: Cashier, payment_type: str, amount: int | None) -> dict[str, Any]:
    settle_pending(pos)
    with pos.write() as conn:
        receipt = receipts.editable(conn)
        receipts.still_in_time(pos, conn)
        kind = _lookup_type(conn, payment_type)
        total = receipts.total_of(conn, receipt["id"])
        if not any(not line["voided"] for line in receipts.lines_of(conn, receipt["id"])):
            raise PosError(N_("The receipt is empty"))
        _no_pending(conn, receipt["id"])
        due = total - receipts.paid_of(conn, receipt["id"])
        if due <= 0:
            raise PosError(N_("The receipt is paid in full: press Retry to register it"))
        tendered = due if amount is None else amount
        try:
            change = payment_status(due, [Tender(kind["method"], tendered)]).change
        except DomainError as exc:
            raise Invalid(exc.template, **exc.params) from None
        if receipt["kind"] == "return":
            _refund_allowed(conn, receipt, kind, tendered, due)
            if kind["method"] == "cash":
                try:
                    check_cash_refund(
                        in_drawer=shifts.drawer_cash(conn, receipt["shift_id"]), amount=tendered
                    )
                except DomainError as exc:
                    raise PosError(exc.template, **exc.params) from None
        points = kind["method"] in loyalty.POINTS_METHODS and receipt["kind"] == "sale"
        if points:
            loyalty.check_points_payment(conn, receipt)
        payment = {
            "id": new_id(),
            "receipt_id": receipt["id"],
            "payment_type": payment_type,
            "method": kind["method"],
            "amount": tendered - change,
            "tendered": tendered,
            "status": "authorizing" if kind["method"] == "card" or points else "approved",
            "created_at": pos.now(),
        }
        conn.execute(insert(t.payments).values(payment))
        audit(
            conn,
            pos.now(),
            "payment",
            who.id,
            receipt_id=receipt["id"],
            detail={"type": payment_type, "amount": payment["amount"], "tendered": payment["tendered"]},
        )
    if payment["method"] == "card":
        _card(pos, receipt, payment)
    elif points:  # a return gives points back through the center's return, when the receipt closes
        loyalty.hold(pos, receipt, payment)
    with pos.db.read() as conn:
        paid_in_full = receipts.paid_of(conn, receipt["id"]) >= receipts.total_of(conn, receipt["id"])
    if paid_in_full:
        return close(pos)
    with pos.db.read() as conn:
        return receipts.view(conn, receipts.get(conn, receipt["id"]))


def _refund_allowed(conn: Connection, receipt: Record, kind: Record, tendered: int, due: int) -> None:
    """A return pays back exactly what is due: by receipt, the way the sale was paid; without one, in
    cash (the card it was paid with is unknown)."""
    if tendered > due:
        raise Invalid(
            N_("A refund pays back exactly what is due ({due}), not {amount}"),
            due=format_money(due),
            amount=format_money(tendered),
        )
    if receipt["original_receipt_id"] is None:
        if kind["method"] != "cash":
            raise Invalid(
                N_("A return without a receipt is paid back in cash: the card it was paid with is unknown")
            )
        return
    from osuite.pos import returns

    plan = {part.payment_type: part.amount for part in returns.refund_plan(conn, receipt)}
    if tendered > plan.get(kind["code"], 0):
        asked = {"payment_type": kind["code"], "amount": format_money(tendered)}
        if not plan:
            raise Invalid(
                N_(
                    "A return is paid back the way the sale was paid: nothing is left; not {payment_type}"
                    " {amount} (Refund does it)"
                ),
                **asked,
            )
        raise Invalid(
            N_(
                "A return is paid back the way the sale was paid: {listing}; not {payment_type} {amount}"
                " (Refund does it)"
            ),
            listing=", ".join(f"{code} {format_money(amount)}" for code, amount in plan.items()),
            **asked,
        )
    if kind["method"] == "card":
        sources = returns.card_refund_sources(conn, receipt, kind["code"])
        if sources and tendered > sources[0][1]:
            raise Invalid(
                N_(
                    "The sale was paid with more than one card: at most {amount} goes back to the card of"
                    " RRN {rrn} in one refund (Refund splits it)"
                ),
                amount=format_money(sources[0][1]),
                rrn=sources[0][0],
            )


def _lookup_type(conn: Connection, code: str) -> Record:
    try:
        return catalog.payment_type(conn, code)
    except catalog.NotFound as exc:
        raise NotFound(exc.template, **exc.params) from None


def _card(pos: Pos, receipt: Record, payment: Record) -> None:
    """Ask the terminal; a decline is recorded and told, no answer leaves the payment to settle."""
    if pos.card is None:
        _set_card(pos, payment["id"], None, N_("No card terminal is connected to this till"))
        raise DeviceFailed(
            "card", "absent", N_("No card terminal is connected to this till: take another payment")
        )
    rrn = None
    if receipt["kind"] != "sale":  # a refund goes back to the card the sale was paid with
        with pos.db.read() as conn:
            sources = _card_sources(conn, receipt, payment["payment_type"])
        if not sources:
            _set_card(
                pos,
                payment["id"],
                None,
                N_("The original card payment is unknown: refund in cash or another way"),
            )
            raise DeviceFailed(
                "card",
                CardErrorCode.INVALID.value,
                N_("The original card payment is unknown: no money was taken; refund in cash or another way"),
            )
        rrn = sources[0][0]
    try:
        if rrn is None:
            result = pos.card.pay(payment["id"], payment["amount"])
        else:
            result = pos.card.refund(payment["id"], payment["amount"], rrn)
    except CardTerminalError as exc:
        if exc.code is not CardErrorCode.TIMEOUT:  # refused, busy or never reached: nothing happened
            _set_card(pos, payment["id"], None, exc.message)
            raise DeviceFailed(
                "card",
                str(exc.code),
                N_("{reason} (no money was taken: try again or take another payment)"),
                reason=exc.message,
            ) from exc
        settle_card(pos, payment["id"])  # no answer: ask the terminal what became of it
        status = _status_of(pos, payment["id"])
        if status == "approved":
            return  # the answer was lost on its way, the money moved
        if status == "declined":
            raise DeviceFailed(
                "card",
                str(exc.code),
                N_(
                    "{reason}: the terminal has no record of the payment, no money was taken; try again"
                    " or take another payment"
                ),
                reason=exc.message,
            ) from exc
        raise DeviceFailed(
            "card",
            str(exc.code),
            N_("{reason}: whether the money moved is not known yet; check the terminal, then press Retry"),
            reason=exc.message,
        ) from exc
    _set_card(pos, payment["id"], result, result.message)
    if not result.approved:
        raise DeviceFailed("card", "declined", N_("The card was declined: {reason}"), reason=result.message)


def _card_sources(conn: Connection, receipt: Record, payment_type: str) -> list[tuple[str, int]]:
    if receipt["original_receipt_id"] is None:
        return []
    from osuite.pos import returns

    return returns.card_refund_sources(conn, receipt, payment_type)


def _set_card(pos: Pos, payment_id: str, result: CardResult | None, message: str) -> None:
    with pos.write() as conn:
        values: dict[str, Any] = {"status": "declined", "message": message}
        if result is not None:
            values = {
                "status": "approved" if result.approved else "declined",
                "message": result.message,
                "rrn": result.rrn,
                "auth_code": result.auth_code,
                "card_mask": result.card_mask,
                "slip": orjson.dumps(list(result.slip)).decode(),
            }
        conn.execute(update(t.payments).where(t.payments.c.id == payment_id).values(values))


def settle_card(pos: Pos, payment_id: str) -> None:
    """A card payment with no answer: ask the terminal what became of it. Still no answer: it stays
    ``authorizing`` and the receipt cannot close until it is settled."""
    if pos.card is None:
        return
    try:
        result = pos.card.find(payment_id)
    except CardTerminalError:
        return
    if result is None:
        _set_card(pos, payment_id, None, N_("The terminal has no record of this payment: no money was taken"))
    else:
        _set_card(pos, payment_id, result, result.message)


def _status_of(pos: Pos, payment_id: str) -> str:
    with pos.db.read() as conn:
        status = conn.execute(select(t.payments.c.status).where(t.payments.c.id == payment_id)).scalar_one()
        return str(status)


def settle_payment(pos: Pos, payment: Record) -> None:
    """Ask whoever took a payment still waiting for an answer: the card terminal, or the processing
    center for points."""
    if payment["method"] in loyalty.POINTS_METHODS:
        try:
            loyalty.settle(pos, payment)
        except PosError as exc:
            log.info("points payment %s is not settled yet: %s", payment["id"], exc.message)
    else:
        settle_card(pos, payment["id"])


def settle_pending(pos: Pos) -> None:
    """Settle the payments of the active receipt still waiting for an answer."""
    with pos.db.read() as conn:
        receipt = receipts.active(conn)
        if receipt is None:
            return
        pending = [p for p in receipts.payments_of(conn, receipt["id"]) if p["status"] == "authorizing"]
    for payment in pending:
        settle_payment(pos, payment)


def _no_pending(conn: Connection, receipt_id: str) -> None:
    if any(p["status"] == "authorizing" for p in receipts.payments_of(conn, receipt_id)):
        raise PosError(
            N_("A card payment has no answer from the terminal yet: check the terminal, then press Retry")
        )


def remove_payment(pos: Pos, who: Cashier, payment_id: str) -> dict[str, Any]:
    """Take a payment off the open receipt (a card payment is voided at the terminal)."""
    with pos.lock:  # the till does one thing at a time, the card terminal included
        return _remove_payment(pos, who, payment_id)


def _remove_payment(pos: Pos, who: Cashier, payment_id: str) -> dict[str, Any]:
    with pos.write() as conn:
        receipt = receipts.editable(conn)
        payment = (
            conn.execute(
                select(t.payments).where(
                    t.payments.c.id == payment_id, t.payments.c.receipt_id == receipt["id"]
                )
            )
            .mappings()
            .first()
        )
        if payment is None or payment["status"] not in ("approved", "authorizing"):
            raise NotFound(N_("No such payment on the open receipt"))
        if receipt["kind"] == "return" and payment["method"] == "card":
            raise PosError(
                N_("Money has gone back to the customer's card: a card refund cannot be taken back")
            )
    if payment["method"] == "card":
        _void_card(pos, payment)
    elif payment["method"] in loyalty.POINTS_METHODS and receipt["kind"] == "sale":
        loyalty.release(pos, payment)
    with pos.write() as conn:
        conn.execute(update(t.payments).where(t.payments.c.id == payment_id).values(status="cancelled"))
        audit(
            conn,
            pos.now(),
            "remove_payment",
            who.id,
            receipt_id=receipt["id"],
            detail={"payment": payment_id},
        )
        return receipts.view(conn, receipts.get(conn, receipt["id"]))


def _void_card(pos: Pos, payment: Record) -> None:
    if payment["status"] == "authorizing":
        settle_card(pos, payment["id"])
        with pos.db.read() as conn:
            payment = (
                conn.execute(select(t.payments).where(t.payments.c.id == payment["id"])).mappings().one()
            )
        if payment["status"] == "authorizing":
            raise DeviceFailed(
                "card",
                "unreachable",
                N_("The card terminal does not answer: the payment cannot be voided yet"),
            )
    if payment["status"] != "approved":
        return
    if pos.card is None:
        raise DeviceFailed(
            "card", "absent", N_("No card terminal is connected: the card payment cannot be voided")
        )
    try:
        result = pos.card.cancel(f"{payment['id']}-void", payment["rrn"], payment["amount"])
    except CardTerminalError as exc:
        raise DeviceFailed("card", str(exc.code), exc.message) from exc
    if not result.approved:
        raise DeviceFailed(
            "card",
            "declined",
            N_("The terminal refused to void the payment: {reason}"),
            reason=result.message,
        )


def void_card_payments(pos: Pos, receipt_id: str) -> None:
    with pos.db.read() as conn:
        cards = [
            p
            for p in receipts.payments_of(conn, receipt_id)
            if p["method"] == "card" and p["status"] in ("approved", "authorizing")
        ]
    for payment in cards:
        _void_card(pos, payment)
        with pos.write() as conn:
            conn.execute(
                update(t.payments).where(t.payments.c.id == payment["id"]).values(status="cancelled")
            )


def close(pos: Pos) -> dict[str, Any]:
    """Register the paid receipt and close it; on a registrar error it stays open (or, with no answer
    at all, ``fiscalizing``) with the message, and calling this again retries."""
    with pos.lock:
        return _close(pos)


def _close(pos: Pos) -> dict[str, Any]:
    settle_pending(pos)
    with pos.db.read() as conn:
        receipt = receipts.active(conn)
        if receipt is None:
            raise PosError(N_("There is no open receipt"))
        if receipt["status"] == "open":
            _closable(conn, receipt)
    if receipt["status"] == "open":
        loyalty.settle_receipt(pos, receipt)  # the card's points, before the registrar prints them
    with pos.write() as conn:
        receipt = receipts.get(conn, receipt["id"])
        if receipt["status"] == "open":
            _closable(conn, receipt)  # a points payment the center refused is due again
            conn.execute(
                update(t.receipts).where(t.receipts.c.id == receipt["id"]).values(status="fiscalizing")
            )
        fiscal_receipt = _fiscal_receipt(conn, receipt)
    try:
        mark = pos.registrar.register(fiscal_receipt)
    except FiscalError as exc:
        with pos.write() as conn:
            values: dict[str, Any] = {"last_error": exc.message}
            if exc.registered_nothing:
                values["status"] = "open"
            conn.execute(update(t.receipts).where(t.receipts.c.id == receipt["id"]).values(values))
        raise registrar.failed(exc) from exc
    return _closed(pos, receipt["id"], mark)


def _closable(conn: Connection, receipt: Record) -> None:
    if not any(not line["voided"] for line in receipts.lines_of(conn, receipt["id"])):
        raise PosError(N_("The receipt is empty: add goods, or cancel it"))
    _no_pending(conn, receipt["id"])
    total = receipts.total_of(conn, receipt["id"])
    paid = receipts.paid_of(conn, receipt["id"])
    if paid < total:
        raise PosError(
            N_("The receipt is not paid in full: {due} of {total} is still due"),
            due=format_money(total - paid),
            total=format_money(total),
        )


def _closed(pos: Pos, receipt_id: str, mark: FiscalMark) -> dict[str, Any]:
    with pos.write() as conn:
        terminal = pos.terminal(conn)
        done = receipts.get(conn, receipt_id)
        if done["status"] == "closed":  # already saved (a retry that crossed another one)
            return receipts.view(conn, done)
        conn.execute(
            update(t.receipts)
            .where(t.receipts.c.id == receipt_id)
            .values(
                status="closed",
                closed_at=pos.now(),
                number=max(mark.number_in_shift, 1),
                fiscal=orjson.dumps(registrar.mark_json(mark)).decode(),
                last_error=None,
            )
        )
        receipt = receipts.get(conn, receipt_id)
        documents.queue(
            pos, conn, wire.RECEIPT, documents.receipt_document(conn, terminal, receipt), receipt_id
        )
        loyalty.closed(pos, conn, receipt)
        audit(
            conn,
            pos.now(),
            "close_receipt",
            receipt["cashier_id"],
            receipt_id=receipt_id,
            detail={"total": receipts.total_of(conn, receipt_id), "fiscal_sign": mark.fiscal_sign},
        )
        view = receipts.view(conn, receipt)
    loyalty.wake(pos)
    return view


def _fiscal_receipt(conn: Connection, receipt: Record) -> FiscalReceipt:
    lines = [line for line in receipts.lines_of(conn, receipt["id"]) if not line["voided"]]
    payments = [p for p in receipts.payments_of(conn, receipt["id"]) if p["status"] == "approved"]
    slips: list[str] = []
    for p in payments:
        if p["slip"]:
            slips += orjson.loads(p["slip"])
    return FiscalReceipt(
        key=receipt["id"],
        kind=receipt["kind"],
        cashier=catalog.user_name(conn, receipt["cashier_id"]),
        items=tuple(
            FiscalItem(
                name=line["name"],
                price=line["price"],
                quantity=Decimal(line["quantity"]),
                amount=line["amount"],
                vat_rate=line["vat_rate"],
                unit=line["unit"],
            )
            for line in lines
        ),
        payments=tuple(FiscalPayment(method=p["method"], amount=p["tendered"]) for p in payments),
        total=sum(line["amount"] for line in lines),
        footer=(*slips, *loyalty.receipt_footer(receipt)),
    )


def unsettled(pos: Pos) -> bool:
    """Something waits on a device's answer: a card payment, a receipt or a cash operation."""
    with pos.db.read() as conn:
        return any(
            conn.execute(select(table.c.status).where(table.c.status.in_(states)).limit(1)).first()
            for table, states in (
                (t.payments, ("authorizing",)),
                (t.receipts, ("fiscalizing",)),
                (t.cash_operations, ("fiscalizing",)),
            )
        )


def reconcile(pos: Pos) -> None:
    """On start: settle card payments left without an answer, and finish or reopen a receipt left
    ``fiscalizing`` by asking the registrar about its key."""
    with pos.db.read() as conn:
        authorizing = list(
            conn.execute(select(t.payments).where(t.payments.c.status == "authorizing")).mappings()
        )
        stuck = list(
            conn.execute(select(t.receipts.c.id).where(t.receipts.c.status == "fiscalizing")).scalars()
        )
    for payment in authorizing:
        settle_payment(pos, payment)
    for receipt_id in stuck:
        mark = registrar.find(pos.registrar, receipt_id)
        if mark is not None:
            _closed(pos, receipt_id, mark)
        else:
            with pos.write() as conn:
                conn.execute(
                    update(t.receipts)
                    .where(t.receipts.c.id == receipt_id)
                    .values(
                        status="open",
                        last_error=N_("The registrar has not registered this receipt: press Retry"),
                    )
                )


def cancel(
    pos: Pos, who: Cashier, supervisor_pin: str | None = None, receipt_id: str | None = None
) -> dict[str, Any]:
    """Cancel the open receipt (or a held one). Card payments already approved are voided at the
    terminal first; if that fails, the receipt stays as it was. Cash taken is handed back."""
    with pos.lock:  # the till does one thing at a time, the card terminal included
        return _cancel(pos, who, supervisor_pin, receipt_id)


def _cancel(pos: Pos, who: Cashier, supervisor_pin: str | None, receipt_id: str | None) -> dict[str, Any]:
    with pos.write() as conn:
        receipt = receipts.get(conn, receipt_id) if receipt_id else receipts.editable(conn)
        if receipt["status"] not in ("open", "held"):
            raise PosError(
                N_("Only an open or held receipt can be cancelled; this one is {status}"),
                status=receipt["status"],
            )
        if receipt["kind"] == "return" and any(
            p["method"] == "card" for p in receipts.taken(conn, receipt["id"])
        ):
            raise PosError(
                N_(
                    "Money has gone back to the customer's card: finish the return (Refund, or Retry), it"
                    " cannot be cancelled"
                )
            )
        approval = authorize(
            conn,
            who,
            "cancel_receipt",
            N_(
                "Cancelling a receipt needs the permission '{permission}': ask a supervisor to enter their"
                " PIN"
            ),
            supervisor_pin,
            pos.now(),
        )
    void_card_payments(pos, receipt["id"])
    if receipt["kind"] == "sale":
        loyalty.release_held(pos, receipt["id"])
    with pos.write() as conn:
        receipt = receipts.get(conn, receipt["id"])
        receipts.record_approval(conn, receipt, approval)
        loyalty.cancelled(pos, conn, receipt)
        conn.execute(
            update(t.receipts)
            .where(t.receipts.c.id == receipt["id"])
            .values(status="cancelled", closed_at=pos.now())
        )
        conn.execute(  # cash taken is handed back: nothing of the receipt stays paid
            update(t.payments)
            .where(t.payments.c.receipt_id == receipt["id"], t.payments.c.status == "approved")
            .values(status="cancelled")
        )
        audit(
            conn,
            pos.now(),
            "cancel_receipt",
            who.id,
            approval=approval,
            receipt_id=receipt["id"],
            detail={"total": receipts.total_of(conn, receipt["id"])},
        )
        view = receipts.view(conn, receipts.get(conn, receipt["id"]))
    loyalty.wake(pos)
    return view
