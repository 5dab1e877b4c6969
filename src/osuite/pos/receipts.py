"""The receipt on the screen: items added by scan, article, search or id; quantities and weights;
voided lines; manual discounts; promotions applied by themselves; hold, resume and cancel.

At most one receipt is open at a time. Every change re-prices the whole receipt with the pure rules of
:mod:`osuite.pos.domain.pricing` and saves each line's discount and amount, so what the screen shows,
what the registrar registers and what the data server receives are the same numbers.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, bindparam, func, insert, select, update

from osuite.core.i18n import N_
from osuite.core.ids import new_id
from osuite.core.money import format_money, line_amount
from osuite.devices.scale import ScaleError
from osuite.pos import catalog, shifts
from osuite.pos import tables as t
from osuite.pos.auth import Approval, Cashier, audit, authorize
from osuite.pos.context import Pos
from osuite.pos.domain.errors import DomainError
from osuite.pos.domain.pricing import ManualDiscount, SaleLine, price_receipt
from osuite.pos.domain.promotions import promotions_from_payloads
from osuite.pos.errors import DeviceFailed, Invalid, NotFound, PosError
from osuite.pos.tables import Record

MAX_QUANTITY = Decimal("99999.999")
EDITABLE = ("open",)


class NeedsWeight(PosError):
    """A weighted product without a weight: the cashier puts it on the scale or types the weight."""

    status = 422
    kind = "needs_weight"


class NeedsAgeCheck(PosError):
    status = 409
    kind = "needs_age_check"

    def __init__(self, age: int, name: str) -> None:
        super().__init__(
            N_("{name} is sold from the age of {age}: check the customer's ID and confirm"),
            name=name,
            age=age,
        )
        self.age = age


# --- reading ------------------------------------------------------------------------------------------


# The statements a scan runs, built once with bound parameters: building them cost more than SQLite's work.
_R, _L, _P = t.receipts, t.receipt_lines, t.payments
_ACTIVE = select(_R).where(_R.c.status.in_(("open", "fiscalizing")))
_GET = select(_R).where(_R.c.id == bindparam("id"))
_LINES = select(_L).where(_L.c.receipt_id == bindparam("id")).order_by(_L.c.line_no)
_PAYMENTS = select(_P).where(_P.c.receipt_id == bindparam("id")).order_by(_P.c.created_at, _P.c.id)
_TOTAL = select(func.coalesce(func.sum(_L.c.amount), 0)).where(
    _L.c.receipt_id == bindparam("id"), _L.c.voided.is_(False)
)
_PAID = select(func.coalesce(func.sum(_P.c.amount), 0)).where(
    _P.c.receipt_id == bindparam("id"), _P.c.status == "approved"
)
_LAST_LINE = select(func.max(_L.c.line_no)).where(_L.c.receipt_id == bindparam("id"))


def active(conn: Connection) -> Record | None:
    """The receipt being worked on (open, or stuck at the registrar), if any."""
    return conn.execute(_ACTIVE).mappings().first()


def get(conn: Connection, receipt_id: str) -> Record:
    row = conn.execute(_GET, {"id": receipt_id}).mappings().first()
    if row is None:
        raise NotFound(N_("No receipt {receipt_id} at this till"), receipt_id=receipt_id)
    return row


def lines_of(conn: Connection, receipt_id: str) -> list[Record]:
    return list(conn.execute(_LINES, {"id": receipt_id}).mappings())


def payments_of(conn: Connection, receipt_id: str) -> list[Record]:
    return list(conn.execute(_PAYMENTS, {"id": receipt_id}).mappings())


def total_of(conn: Connection, receipt_id: str) -> int:
    return int(conn.execute(_TOTAL, {"id": receipt_id}).scalar_one())


def paid_of(conn: Connection, receipt_id: str) -> int:
    return int(conn.execute(_PAID, {"id": receipt_id}).scalar_one())


def view(conn: Connection, receipt: Record) -> dict[str, Any]:
    """The receipt as the cashier's screen shows it."""
    lines = lines_of(conn, receipt["id"])
    payments = payments_of(conn, receipt["id"])
    live = [line for line in lines if not line["voided"]]
    total = sum(line["amount"] for line in live)
    paid = sum(p["amount"] for p in payments if p["status"] == "approved")
    return {
        "id": receipt["id"],
        "kind": receipt["kind"],
        "status": receipt["status"],
        "number": receipt["number"],
        "shift_id": receipt["shift_id"],
        "original_receipt_id": receipt["original_receipt_id"],
        "cashier_id": receipt["cashier_id"],
        "opened_at": receipt["opened_at"].isoformat(),
        "closed_at": receipt["closed_at"].isoformat() if receipt["closed_at"] else None,
        "lines": [_line_view(line) for line in lines],
        "gross": sum(line_amount(line["price"], Decimal(line["quantity"])) for line in live),
        "discount": sum(line["discount"] for line in live),
        "total": total,
        "paid": paid,
        "due": max(total - paid, 0),
        "change": sum(p["tendered"] - p["amount"] for p in payments if p["status"] == "approved"),
        "payments": [_payment_view(p) for p in payments],
        "manual_discount": orjson.loads(receipt["manual_discount"]) if receipt["manual_discount"] else None,
        "age_confirmed": bool(receipt["age_confirmed"]),
        "approvals": orjson.loads(receipt["approvals"]),
        "fiscal": orjson.loads(receipt["fiscal"]) if receipt["fiscal"] else None,
        "last_error": receipt["last_error"],
        "card": receipt["card"],
        "loyalty": orjson.loads(receipt["loyalty"]) if receipt["loyalty"] else None,
    }


def _line_view(line: Record) -> dict[str, Any]:
    return {
        "line_no": line["line_no"],
        "product_id": line["product_id"],
        "article": line["article"],
        "name": line["name"],
        "barcode": line["barcode"],
        "unit": line["unit"],
        "weighted": bool(line["weighted"]),
        "vat_rate": line["vat_rate"],
        "quantity": line["quantity"],
        "price": line["price"],
        "discount": line["discount"],
        "amount": line["amount"],
        "discounts": orjson.loads(line["discounts"]),
        "manual_discount": orjson.loads(line["manual_discount"]) if line["manual_discount"] else None,
        "age_limit": line["age_limit"],
        "original_line_no": line["original_line_no"],
        "voided": bool(line["voided"]),
    }


def _payment_view(p: Record) -> dict[str, Any]:
    return {
        "id": p["id"],
        "payment_type": p["payment_type"],
        "method": p["method"],
        "amount": p["amount"],
        "tendered": p["tendered"],
        "change": p["tendered"] - p["amount"],
        "status": p["status"],
        "rrn": p["rrn"],
        "card_mask": p["card_mask"],
        "message": p["message"],
    }


# --- changing -----------------------------------------------------------------------------------------


def editable(conn: Connection) -> Record:
    receipt = active(conn)
    if receipt is None:
        raise PosError(N_("There is no open receipt"))
    if receipt["status"] != "open":
        raise PosError(
            N_(
                "The receipt is being registered by the fiscal registrar: press Retry once the registrar"
                " answers"
            )
        )
    return receipt


def _unpaid(conn: Connection, receipt: Record) -> None:
    if taken(conn, receipt["id"]):
        raise PosError(N_("The receipt is partly paid: remove the payments before changing it"))


def taken(conn: Connection, receipt_id: str) -> list[Record]:
    """The payments that hold money or may: approved ones, and card payments still waiting for an answer."""
    return [p for p in payments_of(conn, receipt_id) if p["status"] in ("approved", "authorizing")]


def still_in_time(pos: Pos, conn: Connection) -> None:
    """Refuse to go on with the open receipt once its shift ran out: the registrar would refuse it."""
    shift = shifts.current(conn)
    if shift is not None and shifts.expired(pos, shift):
        raise PosError(
            N_(
                "The shift has been open for 24 hours and the registrar takes no more receipts in it: hold"
                " this receipt, close the shift with a Z report, open a new one, then resume the receipt"
            )
        )


def open_sale(pos: Pos, conn: Connection, who: Cashier) -> Record:
    """The open receipt, or a new sale when there is none."""
    receipt = active(conn)
    if receipt is not None:
        if receipt["status"] != "open":
            editable(conn)
        still_in_time(pos, conn)
        return receipt
    terminal = pos.terminal(conn)
    pos.may_take_new_work()
    if terminal.locked:
        if terminal.lock_reason:
            raise PosError(
                N_("The till is locked by the administrator: {reason}"), reason=terminal.lock_reason
            )
        raise PosError(N_("The till is locked by the administrator: ask them why"))
    shift = shifts.require_open(pos, conn, for_sale=True)
    row = {
        "id": new_id(),
        "shift_id": shift["id"],
        "kind": "sale",
        "status": "open",
        "cashier_id": who.id,
        "opened_at": pos.now(),
        "approvals": "[]",
    }
    conn.execute(insert(t.receipts).values(row))
    return get(conn, row["id"])


def add_item(
    pos: Pos,
    who: Cashier,
    *,
    code: str | None = None,
    article: str | None = None,
    product_id: str | None = None,
    quantity: Decimal | None = None,
    weigh: bool = False,
    age_confirmed: bool = False,
) -> dict[str, Any]:
    """Add what was scanned or chosen. ``quantity`` multiplies a pack's count; for weighted goods it is
    the weight in kg (or ``weigh`` reads it from the scale)."""
    if [code, article, product_id].count(None) != 2:
        raise Invalid(N_("Give exactly one of: code (a scan), article, product_id"))
    if "sell" not in who.permissions:
        raise PosError(N_("{name} may not sell"), name=who.name)
    with pos.write() as conn:
        terminal = pos.terminal(conn)
        if code is not None:
            found = _lookup(lambda: catalog.by_scan(conn, terminal.store_id, code))
        elif article is not None:
            found = catalog.Found(
                _lookup(lambda: catalog.product_by_article(conn, terminal.store_id, article)), None
            )
        else:
            assert product_id is not None
            found = catalog.Found(
                _lookup(lambda: catalog.product_by_id(conn, terminal.store_id, product_id)), None
            )
        product = found.product
        if not product.active:
            raise PosError(N_("{name} is not on sale (withdrawn from the catalog)"), name=product.name)
        price = found.price if found.price is not None else product.price
        if price is None:
            raise PosError(N_("{name} has no price at this store: ask the administrator"), name=product.name)
        qty = _quantity(pos, product, found, quantity, weigh)
        receipt = open_sale(pos, conn, who)
        if receipt["kind"] == "return" and receipt["original_receipt_id"] is not None:
            raise PosError(N_("This is a return by receipt: choose lines of the original receipt"))
        _unpaid(conn, receipt)
        restricted = product.age_limit and receipt["kind"] == "sale"  # giving back needs no ID
        if restricted and not (receipt["age_confirmed"] or age_confirmed):
            raise NeedsAgeCheck(product.age_limit, product.name)
        if restricted and age_confirmed and not receipt["age_confirmed"]:
            conn.execute(
                update(t.receipts).where(t.receipts.c.id == receipt["id"]).values(age_confirmed=True)
            )
            audit(conn, pos.now(), "age_confirmed", who.id, receipt_id=receipt["id"], detail=product.name)
        line_no = next_line_no(conn, receipt["id"])
        conn.execute(
            insert(t.receipt_lines).values(
                receipt_id=receipt["id"],
                line_no=line_no,
                product_id=product.id,
                article=product.article,
                name=product.name,
                barcode=found.barcode,
                unit=product.unit,
                weighted=product.weighted,
                vat_rate=product.vat_rate,
                category_ids=orjson.dumps(catalog.ancestors(conn, product.category_id)).decode(),
                age_limit=product.age_limit,
                quantity=f"{qty:.3f}",
                price=price,
                discounts="[]",
            )
        )
        reprice(pos, conn, receipt["id"])
        return {**view(conn, get(conn, receipt["id"])), "added_line_no": line_no}


def _lookup(find: Any) -> Any:
    try:
        return find()
    except catalog.NotFound as exc:
        raise NotFound(exc.template, **exc.params) from None
    except catalog.LabelMismatch as exc:
        raise Invalid(exc.template, **exc.params) from None


def _quantity(
    pos: Pos, product: catalog.Product, found: catalog.Found, given: Decimal | None, weigh: bool
) -> Decimal:
    if product.weighted and found.quantity is None and found.price is None:
        if given is not None:
            qty = given
        elif weigh or pos.scale is not None:
            try:
                qty = weigh_on_scale(pos)
            except NotFound:
                raise NeedsWeight(
                    N_("{name}: no scale is connected to this till; type the weight"), name=product.name
                ) from None
            except DeviceFailed as exc:  # the scale's own words
                raise NeedsWeight(
                    N_("{name}: {reason}; type the weight"), name=product.name, reason=exc.message
                ) from None
        else:
            raise NeedsWeight(
                N_("{name} is sold by weight: put it on the scale or type the weight"), name=product.name
            )
    else:
        if given is not None and (found.quantity is not None or found.price is not None):
            given = checked_quantity(given, False)  # how many packs or labelled items: whole
        qty = (found.quantity or Decimal(1)) * (given if given is not None else Decimal(1))
    return checked_quantity(qty, product.weighted or product.unit != "pcs")


def weigh_on_scale(pos: Pos) -> Decimal:
    """The weight on the till's scale; one request at a time, as the screen asking for the weight and a
    sale reading it share the scale's connection."""
    if pos.scale is None:
        raise NotFound(N_("No scale is connected to this till"))
    try:
        with pos.scale_lock:
            return pos.scale.weight()
    except ScaleError as exc:
        raise DeviceFailed("scale", str(exc.code), exc.message) from None


def checked_quantity(qty: Decimal, fractional: bool) -> Decimal:
    try:
        qty = Decimal(qty)
        exact = qty.quantize(Decimal("0.001"))
    except (InvalidOperation, TypeError):
        raise Invalid(N_("{qty} is not a quantity"), qty=repr(qty)) from None
    if not qty.is_finite() or qty <= 0 or qty > MAX_QUANTITY:
        raise Invalid(N_("The quantity must be more than 0 and at most {limit}"), limit=str(MAX_QUANTITY))
    if exact != qty:
        raise Invalid(N_("{qty} has more than 3 decimal places"), qty=str(qty))
    if not fractional and qty != qty.to_integral_value():
        raise Invalid(N_("{qty} is not a whole number of pieces"), qty=str(qty))
    return exact


def next_line_no(conn: Connection, receipt_id: str) -> int:
    last = conn.execute(_LAST_LINE, {"id": receipt_id}).scalar()
    return int(last or 0) + 1


def _update_line(conn: Connection, receipt_id: str, line_no: int, **values: Any) -> None:
    c = t.receipt_lines.c
    conn.execute(
        update(t.receipt_lines).where(c.receipt_id == receipt_id, c.line_no == line_no).values(values)
    )


def _line(conn: Connection, receipt_id: str, line_no: int) -> Record:
    line = (
        conn.execute(
            select(t.receipt_lines).where(
                t.receipt_lines.c.receipt_id == receipt_id, t.receipt_lines.c.line_no == line_no
            )
        )
        .mappings()
        .first()
    )
    if line is None or line["voided"]:
        raise NotFound(N_("There is no line {line_no} on the receipt"), line_no=line_no)
    return line


def set_quantity(
    pos: Pos, who: Cashier, line_no: int, quantity: Decimal, supervisor_pin: str | None = None
) -> dict[str, Any]:
    with pos.write() as conn:
        receipt = editable(conn)
        _unpaid(conn, receipt)
        line = _line(conn, receipt["id"], line_no)
        if line["original_line_no"] is not None:
            raise PosError(N_("Change a returned line by removing it and choosing it again"))
        qty = checked_quantity(quantity, bool(line["weighted"]) or line["unit"] != "pcs")
        approval = None
        if qty < Decimal(line["quantity"]):  # taking goods off the receipt is a (partial) void
            approval = authorize(
                conn,
                who,
                "void_line",
                N_(
                    "Lowering a quantity needs the permission '{permission}': ask a supervisor to enter"
                    " their PIN"
                ),
                supervisor_pin,
                pos.now(),
                line_no=line_no,
                code="set_quantity",
            )
            record_approval(conn, receipt, approval)
        _update_line(conn, receipt["id"], line_no, quantity=f"{qty:.3f}")
        audit(
            conn,
            pos.now(),
            "set_quantity",
            who.id,
            approval=approval,
            receipt_id=receipt["id"],
            detail={"line_no": line_no, "from": line["quantity"], "to": f"{qty:.3f}"},
        )
        reprice(pos, conn, receipt["id"])
        return view(conn, get(conn, receipt["id"]))


def void_line(pos: Pos, who: Cashier, line_no: int, supervisor_pin: str | None = None) -> dict[str, Any]:
    with pos.write() as conn:
        receipt = editable(conn)
        _unpaid(conn, receipt)
        line = _line(conn, receipt["id"], line_no)
        approval = authorize(
            conn,
            who,
            "void_line",
            N_("Voiding a line needs the permission '{permission}': ask a supervisor to enter their PIN"),
            supervisor_pin,
            pos.now(),
            line_no=line_no,
        )
        record_approval(conn, receipt, approval)
        _update_line(conn, receipt["id"], line_no, voided=True, discount=0, amount=0, discounts="[]")
        audit(
            conn,
            pos.now(),
            "void_line",
            who.id,
            approval=approval,
            receipt_id=receipt["id"],
            detail={"line_no": line_no, "name": line["name"], "quantity": line["quantity"]},
        )
        reprice(pos, conn, receipt["id"])
        return view(conn, get(conn, receipt["id"]))


def manual_discount(
    pos: Pos,
    who: Cashier,
    *,
    percent: Decimal | None = None,
    amount: int | None = None,
    line_no: int | None = None,
    supervisor_pin: str | None = None,
) -> dict[str, Any]:
    """A discount by hand on a line or (``line_no`` None) on the whole receipt; neither percent nor
    amount takes it away."""
    discount = None
    if percent is not None or amount is not None:
        try:
            discount = ManualDiscount(percent=None if percent is None else Decimal(percent), amount=amount)
        except DomainError as exc:
            raise Invalid(exc.template, **exc.params) from None
    with pos.write() as conn:
        receipt = editable(conn)
        if receipt["kind"] != "sale":
            raise PosError(N_("Discounts are given on sales, not returns"))
        _unpaid(conn, receipt)
        if line_no is None:
            base = sum(
                line_amount(line["price"], Decimal(line["quantity"]))
                for line in lines_of(conn, receipt["id"])
                if not line["voided"]
            )
        else:
            line = _line(conn, receipt["id"], line_no)
            base = line_amount(line["price"], Decimal(line["quantity"]))
        if discount is not None and discount.amount is not None and discount.amount > base:
            money = {"amount": format_money(discount.amount), "base": format_money(base)}
            if line_no is None:
                raise Invalid(N_("A discount of {amount} is more than the receipt's {base}"), **money)
            raise Invalid(
                N_("A discount of {amount} is more than line {line_no}'s {base}"), line_no=line_no, **money
            )
        approval = authorize(
            conn,
            who,
            "discount",
            N_("A manual discount needs the permission '{permission}': ask a supervisor to enter their PIN"),
            supervisor_pin,
            pos.now(),
            line_no=line_no,
        )
        record_approval(conn, receipt, approval)
        stored = None if discount is None else orjson.dumps(_discount_json(discount)).decode()
        if line_no is None:
            conn.execute(
                update(t.receipts).where(t.receipts.c.id == receipt["id"]).values(manual_discount=stored)
            )
        else:
            _update_line(conn, receipt["id"], line_no, manual_discount=stored)
        audit(
            conn,
            pos.now(),
            "discount",
            who.id,
            approval=approval,
            receipt_id=receipt["id"],
            detail={"line_no": line_no, "discount": None if discount is None else _discount_json(discount)},
        )
        reprice(pos, conn, receipt["id"])
        return view(conn, get(conn, receipt["id"]))


def _discount_json(discount: ManualDiscount) -> dict[str, Any]:
    if discount.percent is not None:
        return {"percent": str(discount.percent)}
    return {"amount": discount.amount}


def _manual(raw: str | None) -> ManualDiscount | None:
    if not raw:
        return None
    data = orjson.loads(raw)
    if "percent" in data:
        return ManualDiscount(percent=Decimal(data["percent"]))
    return ManualDiscount(amount=int(data["amount"]))


def record_approval(conn: Connection, receipt: Record, approval: Approval | None) -> None:
    """Keep a supervisor's approval with the receipt; it goes up with the receipt's document."""
    if approval is None:
        return
    approvals = [*orjson.loads(receipt["approvals"]), approval.as_json()]
    conn.execute(
        update(t.receipts)
        .where(t.receipts.c.id == receipt["id"])
        .values(approvals=orjson.dumps(approvals).decode())
    )


def reprice(pos: Pos, conn: Connection, receipt_id: str) -> None:
    """Price every live line of a sale again: promotions, manual discounts, receipt discounts."""
    receipt = get(conn, receipt_id)
    if receipt["kind"] != "sale":
        _plain(conn, receipt_id)
        return
    terminal = pos.terminal(conn)
    live = [line for line in lines_of(conn, receipt_id) if not line["voided"]]
    zone = ZoneInfo(catalog.store_timezone(conn, terminal.store_id))
    try:
        priced = price_receipt(
            lines=[
                SaleLine(
                    line_no=line["line_no"],
                    product_id=line["product_id"] or "",
                    quantity=Decimal(line["quantity"]),
                    price=line["price"],
                    category_ids=frozenset(orjson.loads(line["category_ids"])),
                    weighted=bool(line["weighted"]),
                    manual_discount=_manual(line["manual_discount"]),
                )
                for line in live
            ],
            promotions=promotions_from_payloads(catalog.promotions(conn)),
            store_id=terminal.store_id,
            moment=pos.now().astimezone(zone).replace(tzinfo=None),
            manual_discount=_manual(receipt["manual_discount"]),
        )
    except DomainError as exc:
        raise Invalid(exc.template, **exc.params) from None
    current = {line["line_no"]: line for line in live}
    changed = []
    for priced_line in priced.lines:
        discounts = orjson.dumps(
            [
                {"source": d.source, "promotion_id": d.promotion_id, "name": d.name, "amount": d.amount}
                for d in priced_line.discounts
                if d.amount
            ]
        ).decode()
        line = current[priced_line.line_no]
        if (line["discount"], line["amount"], line["discounts"]) != (
            priced_line.discount,
            priced_line.amount,
            discounts,
        ):
            changed.append(
                {
                    "no": priced_line.line_no,
                    "discount": priced_line.discount,
                    "amount": priced_line.amount,
                    "discounts": discounts,
                }
            )
    if changed:  # usually only the line just added: one statement, executed for each
        c = t.receipt_lines.c
        conn.execute(
            update(t.receipt_lines)
            .where(c.receipt_id == receipt_id, c.line_no == bindparam("no"))
            .values(
                discount=bindparam("discount"), amount=bindparam("amount"), discounts=bindparam("discounts")
            ),
            changed,
        )


def _plain(conn: Connection, receipt_id: str) -> None:
    """A return without a receipt is priced at today's prices with no promotions; a return by receipt
    keeps the amounts worked out when its lines were chosen."""
    for line in lines_of(conn, receipt_id):
        if line["voided"] or line["original_line_no"] is not None:
            continue
        amount = line_amount(line["price"], Decimal(line["quantity"]))
        _update_line(conn, receipt_id, line["line_no"], discount=0, amount=amount)


def hold(pos: Pos, who: Cashier) -> dict[str, Any]:
    with pos.write() as conn:
        receipt = editable(conn)
        if taken(conn, receipt["id"]):
            raise PosError(N_("A receipt with payments cannot be held: finish or remove the payments"))
        if not [line for line in lines_of(conn, receipt["id"]) if not line["voided"]]:
            raise PosError(N_("The receipt is empty: nothing to hold"))
        conn.execute(update(t.receipts).where(t.receipts.c.id == receipt["id"]).values(status="held"))
        audit(conn, pos.now(), "hold", who.id, receipt_id=receipt["id"])
        return view(conn, get(conn, receipt["id"]))


def held(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.receipts).where(t.receipts.c.status == "held").order_by(t.receipts.c.opened_at)
    ).mappings()
    return [view(conn, r) for r in rows]


def resume(pos: Pos, who: Cashier, receipt_id: str) -> dict[str, Any]:
    with pos.write() as conn:
        receipt = get(conn, receipt_id)
        if receipt["status"] != "held":
            raise PosError(
                N_("Only a held receipt can be resumed; this one is {status}"), status=receipt["status"]
            )
        if active(conn) is not None:
            raise PosError(N_("Another receipt is open: finish, hold or cancel it first"))
        pos.may_take_new_work()
        shift = shifts.require_open(pos, conn, for_sale=True)
        conn.execute(
            update(t.receipts)
            .where(t.receipts.c.id == receipt_id)
            .values(status="open", shift_id=shift["id"])
        )
        audit(conn, pos.now(), "resume", who.id, receipt_id=receipt_id)
        reprice(pos, conn, receipt_id)  # promotions may have changed while it waited
        return view(conn, get(conn, receipt_id))
