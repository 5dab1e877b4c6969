"""Returns: by the original receipt (found by its id, number or fiscal document number; partly; never
more than was sold and not yet returned; refunded the way it was paid), or without a receipt (needs the
permission, refunded as the cashier chooses)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, insert, select

from osuite.core.i18n import N_
from osuite.core.ids import new_id
from osuite.core.money import format_money, line_amount
from osuite.pos import checkout, loyalty, receipts, shifts
from osuite.pos import tables as t
from osuite.pos.auth import Cashier, audit, authorize
from osuite.pos.context import Pos
from osuite.pos.domain.errors import DomainError
from osuite.pos.domain.returns import (
    OriginalPayment,
    RefundPart,
    SoldLine,
    line_refund,
    refund_payments,
)
from osuite.pos.errors import NotFound, PosError
from osuite.pos.tables import Record


def find_sales(
    conn: Connection,
    *,
    number: int | None = None,
    fiscal_document_number: int | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Closed sales of this till, newest first, optionally by receipt number or fiscal document number."""
    r = t.receipts.c
    query = select(t.receipts).where(r.kind == "sale", r.status == "closed")
    if number is not None:
        query = query.where(r.number == number)
    query = query.order_by(r.closed_at.desc())
    if fiscal_document_number is None:
        found = list(conn.execute(query.limit(limit)).mappings())
    else:  # the number is inside the mark's JSON: read the sales newest first until it turns up
        found = []
        for row in conn.execute(query.where(r.fiscal.is_not(None))).mappings():
            if orjson.loads(row["fiscal"]).get("document_number") == fiscal_document_number:
                found.append(row)
                if len(found) == limit:
                    break
    return [sale_view(conn, row) for row in found]


def closed_sale(conn: Connection, receipt_id: str) -> Record:
    """A closed sale of this till: what a return by receipt gives back from."""
    sale = receipts.get(conn, receipt_id)
    if sale["kind"] != "sale" or sale["status"] != "closed":
        raise PosError(
            N_("Receipt {receipt_id} is not a closed sale: only a closed sale can be returned"),
            receipt_id=receipt_id,
        )
    return sale


def sale_view(conn: Connection, sale: Record) -> dict[str, Any]:
    """A closed sale with what is still returnable of each line."""
    returned = _returned(conn, sale["id"])
    returnable = {
        str(
            line["line_no"]
        ): f"{Decimal(line['quantity']) - returned.get(line['line_no'], (Decimal(0), 0))[0]:.3f}"
        for line in receipts.lines_of(conn, sale["id"])
        if not line["voided"]
    }
    return {**receipts.view(conn, sale), "returnable": returnable}


def _returned(
    conn: Connection, sale_id: str, *, including_open: bool = True
) -> dict[int, tuple[Decimal, int]]:
    """Per line of the sale: the quantity and amount returns took back (closed ones, and the open one)."""
    statuses = ("closed", "open", "fiscalizing", "held") if including_open else ("closed",)
    rows = conn.execute(
        select(t.receipt_lines.c.original_line_no, t.receipt_lines.c.quantity, t.receipt_lines.c.amount)
        .select_from(t.receipt_lines.join(t.receipts, t.receipts.c.id == t.receipt_lines.c.receipt_id))
        .where(
            t.receipts.c.original_receipt_id == sale_id,
            t.receipts.c.status.in_(statuses),
            t.receipt_lines.c.voided.is_(False),
        )
    )
    taken: dict[int, tuple[Decimal, int]] = {}
    for line_no, quantity, amount in rows:
        qty, money = taken.get(line_no, (Decimal(0), 0))
        taken[line_no] = (qty + Decimal(quantity), money + int(amount))
    return taken


def start(
    pos: Pos, who: Cashier, original_receipt_id: str | None, supervisor_pin: str | None = None
) -> dict[str, Any]:
    with pos.write() as conn:
        if receipts.active(conn) is not None:
            raise PosError(N_("A receipt is open: finish, hold or cancel it before a return"))
        pos.may_take_new_work()
        shift = shifts.require_open(pos, conn, for_sale=True)
        if original_receipt_id is None:
            approval = authorize(
                conn,
                who,
                "return_without_receipt",
                N_(
                    "A return without a receipt needs the permission '{permission}': ask a supervisor to"
                    " enter their PIN"
                ),
                supervisor_pin,
                pos.now(),
            )
        else:
            approval = authorize(
                conn,
                who,
                "return",
                N_("A return needs the permission '{permission}': ask a supervisor to enter their PIN"),
                supervisor_pin,
                pos.now(),
            )
            sale = closed_sale(conn, original_receipt_id)
        row = {
            "id": new_id(),
            "shift_id": shift["id"],
            "kind": "return",
            "status": "open",
            "original_receipt_id": original_receipt_id,
            "cashier_id": who.id,
            "opened_at": pos.now(),
            "approvals": orjson.dumps([approval.as_json()] if approval else []).decode(),
        }
        conn.execute(insert(t.receipts).values(row))
        if original_receipt_id is not None:
            loyalty.start_return(conn, row["id"], sale)
        audit(
            conn,
            pos.now(),
            "start_return",
            who.id,
            approval=approval,
            receipt_id=row["id"],
            detail={"original_receipt_id": original_receipt_id},
        )
        return receipts.view(conn, receipts.get(conn, row["id"]))


def add_line(pos: Pos, who: Cashier, original_line_no: int, quantity: Decimal) -> dict[str, Any]:
    with pos.write() as conn:
        receipt = receipts.editable(conn)
        if receipt["kind"] != "return" or receipt["original_receipt_id"] is None:
            raise PosError(N_("Lines of an original receipt are added to a return by receipt"))
        if receipts.paid_of(conn, receipt["id"]):
            raise PosError(N_("The refund has started: remove its payments before changing the return"))
        sold = {
            line["line_no"]: line
            for line in receipts.lines_of(conn, receipt["original_receipt_id"])
            if not line["voided"]
        }
        original = sold.get(original_line_no)
        if original is None:
            raise NotFound(N_("The original receipt has no line {line_no}"), line_no=original_line_no)
        qty = receipts.checked_quantity(quantity, bool(original["weighted"]) or original["unit"] != "pcs")
        taken_qty, taken_amount = _returned(conn, receipt["original_receipt_id"]).get(
            original_line_no, (Decimal(0), 0)
        )
        try:
            refund = line_refund(
                SoldLine(
                    line_no=original_line_no,
                    quantity=Decimal(original["quantity"]),
                    amount=original["amount"],
                    returned_quantity=taken_qty,
                    returned_amount=taken_amount,
                ),
                qty,
            )
        except DomainError as exc:
            raise PosError(exc.template, **exc.params) from None
        line_no = receipts.next_line_no(conn, receipt["id"])
        conn.execute(
            insert(t.receipt_lines).values(
                **{
                    k: original[k]
                    for k in (
                        "product_id",
                        "article",
                        "name",
                        "barcode",
                        "unit",
                        "weighted",
                        "vat_rate",
                        "category_ids",
                        "age_limit",
                        "price",
                    )
                },
                receipt_id=receipt["id"],
                line_no=line_no,
                quantity=f"{qty:.3f}",
                original_line_no=original_line_no,
                discount=max(0, line_amount(original["price"], qty) - refund),
                amount=refund,
                discounts="[]",
            )
        )
        audit(
            conn,
            pos.now(),
            "return_line",
            who.id,
            receipt_id=receipt["id"],
            detail={"original_line_no": original_line_no, "quantity": f"{qty:.3f}", "refund": refund},
        )
        return {**receipts.view(conn, receipts.get(conn, receipt["id"])), "added_line_no": line_no}


def refund_plan(conn: Connection, receipt: Record) -> list[RefundPart]:
    """What is still due on a return by receipt, split over the sale's payment types (cards first)."""
    due = receipts.total_of(conn, receipt["id"]) - receipts.paid_of(conn, receipt["id"])
    sale_payments = [
        p for p in receipts.payments_of(conn, receipt["original_receipt_id"]) if p["status"] == "approved"
    ]
    earlier: dict[str, int] = {}
    for code, amount in conn.execute(
        select(t.payments.c.payment_type, func.sum(t.payments.c.amount))
        .select_from(t.payments.join(t.receipts, t.receipts.c.id == t.payments.c.receipt_id))
        .where(
            and_(
                t.receipts.c.original_receipt_id == receipt["original_receipt_id"],
                t.receipts.c.status != "cancelled",
                t.payments.c.status == "approved",
            )
        )
        .group_by(t.payments.c.payment_type)
    ):
        earlier[code] = int(amount)
    try:
        return refund_payments(
            payments=[
                OriginalPayment(p["payment_type"], p["method"], p["tendered"], p["tendered"] - p["amount"])
                for p in sale_payments
            ],
            refund=max(due, 0),
            already_refunded=earlier,
        )
    except DomainError as exc:
        raise PosError(exc.template, **exc.params) from None


def card_refund_sources(conn: Connection, receipt: Record, payment_type: str) -> list[tuple[str, int]]:
    """The sale's card payments of ``payment_type`` that can still take money back, as (rrn, how much),
    in the order they were paid. A terminal refunds a payment only up to its own amount, so a sale
    paid with two cards is refunded card by card, always filling the earliest first: what earlier
    returns gave back through the type is therefore known per payment."""
    sale_id = receipt["original_receipt_id"]
    cards = [
        p
        for p in receipts.payments_of(conn, sale_id)
        if p["status"] == "approved"
        and p["method"] == "card"
        and p["payment_type"] == payment_type
        and p["rrn"]
    ]
    refunded = int(
        conn.execute(
            select(func.coalesce(func.sum(t.payments.c.amount), 0))
            .select_from(t.payments.join(t.receipts, t.receipts.c.id == t.payments.c.receipt_id))
            .where(
                t.receipts.c.original_receipt_id == sale_id,
                t.receipts.c.status != "cancelled",
                t.payments.c.status == "approved",
                t.payments.c.payment_type == payment_type,
            )
        ).scalar_one()
    )
    sources = []
    for card in cards:
        taken = min(card["amount"], refunded)
        refunded -= taken
        if card["amount"] > taken:
            sources.append((str(card["rrn"]), card["amount"] - taken))
    return sources


def _steps(conn: Connection, receipt: Record, parts: list[RefundPart]) -> list[tuple[str, int]]:
    """The refund as the payments to take: a card part split over the card payments it goes back to."""
    steps: list[tuple[str, int]] = []
    for part in parts:
        left = part.amount
        if part.method == "card":
            for _rrn, room in card_refund_sources(conn, receipt, part.payment_type):
                chunk = min(left, room)
                steps.append((part.payment_type, chunk))
                left -= chunk
                if not left:
                    break
        if left:
            steps.append((part.payment_type, left))
    return steps


def refund(pos: Pos, who: Cashier) -> dict[str, Any]:
    """Pay back a return by receipt the way the sale was paid (cards first, then cash), and close it."""
    with pos.write() as conn:
        receipt = receipts.editable(conn)
        if receipt["kind"] != "return" or receipt["original_receipt_id"] is None:
            raise PosError(
                N_("A return without a receipt is paid back as the cashier chooses: take a payment (cash)")
            )
        due = receipts.total_of(conn, receipt["id"]) - receipts.paid_of(conn, receipt["id"])
        parts = refund_plan(conn, receipt)
        in_cash = sum(part.amount for part in parts if part.method == "cash")
        drawer = shifts.drawer_cash(conn, receipt["shift_id"])
        if in_cash > drawer:  # found out before a card is refunded, not half way
            raise PosError(
                N_(
                    "The drawer holds {in_drawer}: not enough to pay back {amount} in cash; put cash in first"
                ),
                in_drawer=format_money(drawer),
                amount=format_money(in_cash),
            )
        steps = _steps(conn, receipt, parts)
    if due <= 0:
        return checkout.close(pos)
    result: dict[str, Any] = {}
    for payment_type, amount in steps:
        result = checkout.pay(pos, who, payment_type, amount)
    return result
