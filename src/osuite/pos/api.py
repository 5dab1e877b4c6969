"""The POS's JSON API: thin routes over the use cases. Every route but logging in needs the cashier's
session token. Refusals are problem details whose ``type`` names the case (``needs_approval``,
``needs_weight``, ``needs_age_check``, ``device`` …) so the screen knows which dialog to show."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from osuite.core.http import CurrentPrincipal
from osuite.pos import catalog, checkout, loyalty, receipts, returns, shifts
from osuite.pos.auth import Cashier, login, logout
from osuite.pos.context import Pos
from osuite.pos.wire import (
    Approvable,
    CardIn,
    CashierRead,
    CashIn,
    DiscountIn,
    ItemIn,
    LoggedIn,
    LoginIn,
    PaymentIn,
    PaymentTypeRead,
    ProductRead,
    QuantityIn,
    ReceiptRead,
    ReturnIn,
    ReturnLineIn,
    StatusRead,
)

router = APIRouter(prefix="/api/v1")


# Async because they only read what is at hand: a sync dependency costs a trip through the thread pool.
async def _pos(request: Request) -> Pos:
    pos: Pos = request.app.state.pos
    return pos


async def _cashier(principal: CurrentPrincipal) -> Cashier:
    return Cashier(id=principal.id, name=principal.name, permissions=principal.scopes)


PosDep = Annotated[Pos, Depends(_pos)]
Who = Annotated[Cashier, Depends(_cashier)]
SESSION: list[str | Enum] = ["session"]
SALE: list[str | Enum] = ["receipt"]
SHIFT: list[str | Enum] = ["shift"]
RETURNS: list[str | Enum] = ["returns"]


# --- session and state ------------------------------------------------------------------------------


@router.post("/session", tags=SESSION, summary="Log in with a PIN", openapi_extra={"security": []})
def post_session(body: LoginIn, pos: PosDep) -> LoggedIn:
    with pos.write() as conn:
        token, who = login(conn, body.pin, pos.now())
    return LoggedIn(
        token=token, cashier=CashierRead(id=who.id, name=who.name, permissions=sorted(who.permissions))
    )


@router.get("/session", tags=SESSION, summary="Who is logged in")
def get_session(who: Who) -> CashierRead:
    return CashierRead(id=who.id, name=who.name, permissions=sorted(who.permissions))


@router.delete("/session", tags=SESSION, summary="Log out", status_code=204)
def delete_session(request: Request, pos: PosDep, _who: Who) -> None:
    token = request.headers["authorization"].partition(" ")[2]
    with pos.write() as conn:
        logout(conn, token)


@router.get("/status", tags=SESSION, summary="The till at a glance: terminal, shift, link, open receipt")
def get_status(request: Request, pos: PosDep, _who: Who) -> StatusRead:
    return StatusRead.model_validate(status(request, pos))


def status(request: Request, pos: Pos) -> dict[str, Any]:
    link = request.app.state.link
    with pos.db.read() as conn:
        terminal = conn.execute(catalog.select_terminal()).mappings().first()
        receipt = receipts.active(conn)
        return {
            "terminal": None
            if terminal is None
            else {k: terminal[k] for k in ("client_id", "store_id", "name", "locked", "lock_reason")},
            "shift": shifts.state(pos, conn),
            "link": link.status() if link else None,
            "receipt": receipts.view(conn, receipt) if receipt else None,
            "held": len(receipts.held(conn)),
        }


# --- catalog ----------------------------------------------------------------------------------------


@router.get("/products", tags=SALE, summary="Search products by article or name")
def search_products(
    pos: PosDep,
    _who: Who,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    limit: int = Query(20, ge=1, le=100),
) -> list[ProductRead]:
    with pos.db.read() as conn:
        store_id = pos.terminal(conn).store_id
        return [
            ProductRead.model_validate(p, from_attributes=True)
            for p in catalog.search(conn, store_id, q, limit=limit)
        ]


@router.get("/payment-types", tags=SALE, summary="How customers can pay at this till")
def payment_types(pos: PosDep, _who: Who) -> list[PaymentTypeRead]:
    with pos.db.read() as conn:
        return [PaymentTypeRead.model_validate(p) for p in catalog.payment_types(conn)]


# --- the receipt ------------------------------------------------------------------------------------


@router.get("/receipt", tags=SALE, summary="The open receipt (null when there is none)")
def get_receipt(pos: PosDep, _who: Who) -> ReceiptRead | None:
    with pos.db.read() as conn:
        receipt = receipts.active(conn)
        return None if receipt is None else ReceiptRead.model_validate(receipts.view(conn, receipt))


@router.post("/receipt/items", tags=SALE, summary="Add an item by scan, article or product id")
def add_item(body: ItemIn, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(
        receipts.add_item(
            pos,
            who,
            code=body.code,
            article=body.article,
            product_id=body.product_id,
            quantity=body.quantity,
            weigh=body.weigh,
            age_confirmed=body.age_confirmed,
        )
    )


@router.put("/receipt/lines/{line_no}/quantity", tags=SALE, summary="Change a line's quantity or weight")
def set_quantity(line_no: int, body: QuantityIn, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(
        receipts.set_quantity(pos, who, line_no, body.quantity, body.supervisor_pin)
    )


@router.post("/receipt/lines/{line_no}/void", tags=SALE, summary="Void a line")
def void_line(line_no: int, body: Approvable, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(receipts.void_line(pos, who, line_no, body.supervisor_pin))


@router.post("/receipt/discount", tags=SALE, summary="A manual discount on a line or the whole receipt")
def discount(body: DiscountIn, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(
        receipts.manual_discount(
            pos,
            who,
            percent=body.percent,
            amount=body.amount,
            line_no=body.line_no,
            supervisor_pin=body.supervisor_pin,
        )
    )


@router.put("/receipt/card", tags=SALE, summary="Put the customer's loyalty card on the sale")
def attach_card(body: CardIn, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(loyalty.attach_card(pos, who, body.number))


@router.delete("/receipt/card", tags=SALE, summary="Take the loyalty card off the sale")
def detach_card(pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(loyalty.detach_card(pos, who))


@router.post("/receipt/payments", tags=SALE, summary="Pay (cash, card …); closes the receipt once paid")
def pay(body: PaymentIn, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(checkout.pay(pos, who, body.payment_type, body.amount))


@router.delete(
    "/receipt/payments/{payment_id}", tags=SALE, summary="Remove a payment (a card payment is voided)"
)
def remove_payment(payment_id: str, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(checkout.remove_payment(pos, who, payment_id))


@router.post("/receipt/close", tags=SALE, summary="Retry registering a paid receipt after a device error")
def close(pos: PosDep, _who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(checkout.close(pos))


@router.post("/receipt/hold", tags=SALE, summary="Put the open receipt aside")
def hold(pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(receipts.hold(pos, who))


@router.post("/receipt/cancel", tags=SALE, summary="Cancel the open receipt")
def cancel(body: Approvable, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(checkout.cancel(pos, who, body.supervisor_pin))


@router.get("/receipts/held", tags=SALE, summary="Receipts put aside on this till")
def held(pos: PosDep, _who: Who) -> list[ReceiptRead]:
    with pos.db.read() as conn:
        return [ReceiptRead.model_validate(r) for r in receipts.held(conn)]


@router.post("/receipts/{receipt_id}/resume", tags=SALE, summary="Bring a held receipt back")
def resume(receipt_id: str, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(receipts.resume(pos, who, receipt_id))


@router.post("/receipts/{receipt_id}/cancel", tags=SALE, summary="Cancel a held receipt")
def cancel_held(receipt_id: str, body: Approvable, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(checkout.cancel(pos, who, body.supervisor_pin, receipt_id))


# --- returns ----------------------------------------------------------------------------------------


@router.get("/sales", tags=RETURNS, summary="Find closed sales of this till (for a return)")
def find_sales(
    pos: PosDep,
    _who: Who,
    number: Annotated[int | None, Query(ge=1)] = None,
    fiscal_document_number: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ReceiptRead]:
    with pos.db.read() as conn:
        found = returns.find_sales(
            conn, number=number, fiscal_document_number=fiscal_document_number, limit=limit
        )
        return [ReceiptRead.model_validate(r) for r in found]


@router.get("/sales/{receipt_id}", tags=RETURNS, summary="A closed sale with what is still returnable")
def get_sale(receipt_id: str, pos: PosDep, _who: Who) -> ReceiptRead:
    with pos.db.read() as conn:
        return ReceiptRead.model_validate(returns.sale_view(conn, returns.closed_sale(conn, receipt_id)))


@router.post("/returns", tags=RETURNS, summary="Start a return, by receipt or without one")
def start_return(body: ReturnIn, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(returns.start(pos, who, body.original_receipt_id, body.supervisor_pin))


@router.post("/receipt/return-lines", tags=RETURNS, summary="Return (part of) a line of the original receipt")
def return_line(body: ReturnLineIn, pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(returns.add_line(pos, who, body.original_line_no, body.quantity))


@router.post(
    "/receipt/refund", tags=RETURNS, summary="Pay back a return by receipt the way the sale was paid"
)
def refund(pos: PosDep, who: Who) -> ReceiptRead:
    return ReceiptRead.model_validate(returns.refund(pos, who))


# --- shift ------------------------------------------------------------------------------------------


@router.get("/shift", tags=SHIFT, summary="The open shift (null when closed)")
def get_shift(pos: PosDep, _who: Who) -> dict[str, Any] | None:
    with pos.db.read() as conn:
        return shifts.state(pos, conn)


@router.post("/shift/open", tags=SHIFT, summary="Open a shift (on the registrar too)")
def open_shift(body: Approvable, pos: PosDep, who: Who) -> dict[str, Any]:
    shifts.open_shift(pos, who, body.supervisor_pin)
    with pos.db.read() as conn:
        state = shifts.state(pos, conn)
    assert state is not None
    return state


@router.post("/shift/cash", tags=SHIFT, summary="Put cash in or take it out of the drawer")
def cash(body: CashIn, pos: PosDep, who: Who) -> dict[str, Any]:
    op = shifts.cash_operation(pos, who, body.kind, body.amount, body.reason, body.supervisor_pin)
    return {"id": op["id"], "kind": op["kind"], "amount": op["amount"], "status": op["status"]}


@router.post("/shift/x-report", tags=SHIFT, summary="Print an X report (the shift stays open)")
def x_report(body: Approvable, pos: PosDep, who: Who) -> dict[str, Any]:
    return shifts.x_report(pos, who, body.supervisor_pin)


@router.post("/shift/close", tags=SHIFT, summary="Close the shift with a Z report")
def close_shift(body: Approvable, pos: PosDep, who: Who) -> dict[str, Any]:
    return shifts.close_shift(pos, who, body.supervisor_pin)


@router.post("/drawer/open", tags=SHIFT, summary="Open the cash drawer without a sale", status_code=204)
def open_drawer(body: Approvable, pos: PosDep, who: Who) -> None:
    shifts.open_drawer(pos, who, body.supervisor_pin)


# --- devices ----------------------------------------------------------------------------------------


@router.get("/scale/weight", tags=SALE, summary="The weight on the connected scale, in kg")
def weight(pos: PosDep, _who: Who) -> dict[str, str]:
    return {"weight": f"{receipts.weigh_on_scale(pos):.3f}"}
