"""Returns through the API: the sale found by its number or fiscal document number, lines returned in
part, never more than was sold and not yet returned, and the money paid back the way it was paid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from osuite.core.barcodes import DEFAULT_TEMPLATES
from tests.pos.conftest import (
    APPLES_ARTICLE,
    MILK,
    SUPERVISOR_PIN,
    WATER,
    WINE,
    Devices,
    Till,
    promotion,
)


def _sale(till: Till, *scans: tuple[str, str], pay: list[tuple[str, int | None]] | None = None) -> Any:
    for code, quantity in scans:
        till.scan(code, quantity=quantity, age_confirmed=code == WINE)
    closed = None
    for payment_type, amount in pay or [("CASH", None)]:
        closed = till.pay(payment_type, amount)
    assert closed is not None and closed["status"] == "closed"
    return closed


def _return(till: Till, sale_id: str, *lines: tuple[int, str]) -> Any:
    receipt = till.post("/returns", original_receipt_id=sale_id)
    for line_no, quantity in lines:
        receipt = till.post("/receipt/return-lines", original_line_no=line_no, quantity=quantity)
    return receipt


def test_finding_a_sale_by_number_or_fiscal_document_number(open_till: Till) -> None:
    first = _sale(open_till, (MILK, "1"))
    second = _sale(open_till, (WATER, "2"))
    assert [s["id"] for s in open_till.get("/sales")] == [second["id"], first["id"]]
    (found,) = open_till.get("/sales", number=second["number"])
    assert found["id"] == second["id"]
    assert found["returnable"] == {"1": "2.000"}
    (by_fiscal,) = open_till.get("/sales", fiscal_document_number=first["fiscal"]["document_number"])
    assert by_fiscal["id"] == first["id"]
    assert open_till.get("/sales", number=99) == []
    assert open_till.get("/sales", fiscal_document_number=9999) == []
    assert open_till.get(f"/sales/{first['id']}")["lines"][0]["product_id"] == "milk"
    open_till.refused("GET", "/sales/no-such", 404, "not_found")


def test_an_old_sale_is_found_by_its_fiscal_document_number(open_till: Till) -> None:
    oldest = _sale(open_till, (MILK, "1"))
    for _ in range(6):
        _sale(open_till, (WATER, "1"))
    (found,) = open_till.get("/sales", fiscal_document_number=oldest["fiscal"]["document_number"], limit=1)
    assert found["id"] == oldest["id"]


def test_a_line_returned_in_part_then_the_rest_in_a_second_return(open_till: Till, devices: Devices) -> None:
    till = open_till
    sale = _sale(till, (MILK, "3"), (WATER, "1"), pay=[("CASH", 50000)])
    assert sale["change"] == 50000 - 3 * 8990 - 4500

    ret = _return(till, sale["id"], (1, "1"))
    assert ret["kind"] == "return" and ret["original_receipt_id"] == sale["id"]
    (line,) = ret["lines"]
    assert (line["original_line_no"], line["quantity"], line["amount"]) == (1, "1.000", 8990)
    more = till.post("/receipt/return-lines", original_line_no=1, quantity="1")
    assert more["total"] == 2 * 8990
    before = till.receipt()
    problem = till.refused("POST", "/receipt/return-lines", 409, "refused", original_line_no=1, quantity="2")
    assert "at most 1" in problem["detail"]
    till.refused("POST", "/receipt/return-lines", 404, "not_found", original_line_no=7, quantity="1")
    till.refused("POST", "/receipt/return-lines", 422, "invalid", original_line_no=2, quantity="0.5")
    till.refused("POST", "/receipt/items", 409, "refused", code=MILK)
    assert till.receipt() == before
    first = till.post("/receipt/refund")
    assert (first["status"], first["total"]) == ("closed", 2 * 8990)
    assert [(p["payment_type"], p["amount"]) for p in first["payments"]] == [("CASH", 2 * 8990)]

    assert till.get(f"/sales/{sale['id']}")["returnable"] == {"1": "1.000", "2": "1.000"}
    till.post("/returns", original_receipt_id=sale["id"])
    problem = till.refused("POST", "/receipt/return-lines", 409, "refused", original_line_no=1, quantity="2")
    assert "3 sold, 2 already returned" in problem["detail"]
    till.post("/receipt/return-lines", original_line_no=1, quantity="1")
    till.post("/receipt/return-lines", original_line_no=2, quantity="1")
    second = till.post("/receipt/refund")
    assert second["total"] == 8990 + 4500
    assert till.get(f"/sales/{sale['id']}")["returnable"] == {"1": "0.000", "2": "0.000"}
    till.post("/returns", original_receipt_id=sale["id"])
    till.refused("POST", "/receipt/return-lines", 409, "refused", original_line_no=2, quantity="1")

    returns = [d for d in devices.sells() if d["type"] == "sellReturn"]
    assert [r["total"] for r in returns] == [2 * 8990, 8990 + 4500]
    assert [d["payload"].get("original_receipt_id") for d in till.outbox("receipt")] == [None] + [
        sale["id"]
    ] * 2


def test_weighed_and_discounted_lines_refund_what_was_paid_to_the_kopeck(open_till: Till) -> None:
    till = open_till
    till.add_promotions(promotion("p-milk", "percent_off", product_ids=["milk"], percent="10"))
    label = DEFAULT_TEMPLATES[0].build(APPLES_ARTICLE, Decimal("1.234"))
    sale = _sale(till, (label, "1"), (MILK, "3"))
    apples, milk = sale["lines"]
    assert (apples["amount"], milk["amount"]) == (15919, 24273)

    part = _return(till, sale["id"], (1, "0.5"), (2, "1"))
    assert [line["amount"] for line in part["lines"]] == [6450, 8091]  # 15919 × 0.5 / 1.234; 24273 / 3
    till.post("/receipt/refund")
    rest = _return(till, sale["id"], (1, "0.734"), (2, "2"))
    assert [line["amount"] for line in rest["lines"]] == [15919 - 6450, 24273 - 8091]
    assert till.post("/receipt/refund")["total"] == sale["total"] - 6450 - 8091


def test_a_refund_goes_back_the_way_the_sale_was_paid(open_till: Till, devices: Devices) -> None:
    till = open_till
    sale = _sale(till, (WINE, "1"), (MILK, "1"), pay=[("CARD", 50000), ("CASH", 20000)])
    card = sale["payments"][0]
    drawer = till.get("/shift")["drawer"]
    assert drawer == 18890

    _return(till, sale["id"], (1, "1"))  # the wine, 599.00
    # the customer would rather have cash: the till pays back as the sale was paid
    before = till.receipt()
    problem = till.refused("POST", "/receipt/payments", 422, "invalid", payment_type="CASH")
    assert "CARD" in problem["detail"] and "500.00" in problem["detail"]
    assert till.receipt() == before
    refunded = till.post("/receipt/refund")
    assert refunded["status"] == "closed"
    assert [(p["payment_type"], p["amount"]) for p in refunded["payments"]] == [
        ("CARD", 50000),
        ("CASH", 9900),
    ]
    (refund,) = [op for op in devices.card.terminal.operations() if op.result.operation == "refund"]
    assert (refund.result.amount, refund.original_rrn, refund.result.approved) == (50000, card["rrn"], True)
    assert refunded["payments"][0]["rrn"] == refund.result.rrn
    assert till.get("/shift")["drawer"] == drawer - 9900
    (returned,) = [d for d in devices.sells() if d["type"] == "sellReturn"]
    assert returned["payments"] == {"electronically": 50000, "cash": 9900}
    assert returned["total"] == 59900

    _return(till, sale["id"], (2, "1"))  # the milk: only cash is left to give back
    last = till.post("/receipt/refund")
    assert [(p["payment_type"], p["amount"]) for p in last["payments"]] == [("CASH", 8990)]
    assert till.get("/shift")["drawer"] == drawer - 9900 - 8990


def test_cash_the_drawer_does_not_hold_is_not_paid_back(open_till: Till) -> None:
    till = open_till
    sale = _sale(till, (MILK, "1"))
    till.post("/shift/cash", kind="out", amount=8000, supervisor_pin=SUPERVISOR_PIN)
    _return(till, sale["id"], (1, "1"))
    before = till.receipt()
    problem = till.refused("POST", "/receipt/refund", 409, "refused")
    assert "9.90" in problem["detail"] and "89.90" in problem["detail"]
    assert till.receipt() == before
    till.post("/shift/cash", kind="in", amount=10000)
    assert till.post("/receipt/refund")["status"] == "closed"


def test_what_cannot_be_returned(open_till: Till) -> None:
    till = open_till
    till.refused("POST", "/returns", 404, "not_found", original_receipt_id="no-such")
    till.scan(MILK)
    open_receipt = till.receipt()
    problem = till.refused("POST", "/returns", 409, "refused", original_receipt_id=open_receipt["id"])
    assert "A receipt is open" in problem["detail"]
    sale = till.pay("CASH")
    till.post("/returns", original_receipt_id=sale["id"])
    till.post("/receipt/return-lines", original_line_no=1, quantity="1")
    returned = till.post("/receipt/refund")
    problem = till.refused("POST", "/returns", 409, "refused", original_receipt_id=returned["id"])
    assert "closed sale" in problem["detail"]
    assert till.receipt() is None


def test_a_return_without_a_receipt_is_paid_back_in_cash(open_till: Till, devices: Devices) -> None:
    till = open_till.login(SUPERVISOR_PIN)
    till.post("/shift/cash", kind="in", amount=20000)
    till.post("/returns")
    receipt = till.scan(MILK)
    assert (receipt["kind"], receipt["total"]) == ("return", 8990)
    before = till.receipt()
    problem = till.refused("POST", "/receipt/payments", 422, "invalid", payment_type="CARD")
    assert "card" in problem["detail"].lower()
    till.refused("POST", "/receipt/refund", 409, "refused")
    problem = till.refused("POST", "/receipt/payments", 422, "invalid", payment_type="CASH", amount=10000)
    assert "89.90" in problem["detail"]
    assert till.receipt() == before
    assert devices.card.terminal.operations() == []
    closed = till.pay("CASH")
    assert (closed["status"], closed["change"]) == ("closed", 0)
    assert till.get("/shift")["drawer"] == 20000 - 8990
    till.post("/shift/cash", kind="in", amount=60000)
    till.post("/returns")
    assert till.scan(WINE)["total"] == 59900  # giving wine back needs no ID


def test_a_cancelled_return_gives_nothing_back(open_till: Till) -> None:
    till = open_till
    sale = _sale(till, (MILK, "2"))
    _return(till, sale["id"], (1, "2"))
    till.post("/receipt/cancel", supervisor_pin=SUPERVISOR_PIN)
    assert till.get(f"/sales/{sale['id']}")["returnable"] == {"1": "2.000"}
    _return(till, sale["id"], (1, "2"))
    assert till.post("/receipt/refund")["total"] == 2 * 8990


def test_a_sale_paid_with_two_cards_is_refunded_card_by_card(open_till: Till, devices: Devices) -> None:
    till = open_till
    sale = _sale(till, (WINE, "1"), (MILK, "1"), pay=[("CARD", 50000), ("CARD", 10000), ("CASH", 8890)])
    first, second = (p["rrn"] for p in sale["payments"][:2])

    _return(till, sale["id"], (1, "1"))  # the wine, 599.00: 500.00 to the first card, 99.00 to the second
    before = till.receipt()
    problem = till.refused("POST", "/receipt/payments", 422, "invalid", payment_type="CARD")
    assert "500.00" in problem["detail"] and first in problem["detail"]
    assert till.receipt() == before
    wine = till.post("/receipt/refund")
    assert wine["status"] == "closed"
    assert [(p["payment_type"], p["amount"]) for p in wine["payments"]] == [("CARD", 50000), ("CARD", 9900)]

    _return(till, sale["id"], (2, "1"))  # the milk, 89.90: the 1.00 left on the second card, then cash
    milk = till.post("/receipt/refund")
    assert [(p["payment_type"], p["amount"]) for p in milk["payments"]] == [("CARD", 100), ("CASH", 8890)]

    refunds = [
        (op.result.amount, op.original_rrn)
        for op in devices.card.terminal.operations()
        if op.result.operation == "refund" and op.result.approved
    ]
    assert refunds == [(50000, first), (9900, second), (100, second)]
