"""The document rules, alone: receipts built the way a POS builds them always pass, and a single kopeck
out of place anywhere is caught and named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from osuite.core.money import line_amount, spread
from osuite.dataserver.documents_rules import receipt_problems, sender_problems, z_report_problems
from osuite.dataserver.wire.documents import (
    LineDiscount,
    Payment,
    ReceiptDocument,
    ReceiptLine,
    ZReportDocument,
)

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999.999"), places=3)
SOURCES = ("promotion", "manual", "loyalty")


@st.composite
def lines(draw: st.DrawFn, line_no: int) -> ReceiptLine:
    price = draw(st.integers(0, 10_000_000))
    quantity = draw(quantities)
    gross = line_amount(price, quantity)
    discount = draw(st.integers(0, gross))
    discounts = None
    if draw(st.booleans()):
        weights = draw(st.lists(st.integers(1, 100), min_size=1, max_size=3))
        discounts = [
            LineDiscount(source=draw(st.sampled_from(SOURCES)), amount=part)
            for part in spread(discount, weights)
        ]
    return ReceiptLine(
        line_no=line_no,
        name="Товар",
        quantity=quantity,
        price=price,
        discount=discount,
        amount=gross - discount,
        vat_rate="20",
        discounts=discounts,
    )


@st.composite
def receipts(draw: st.DrawFn) -> ReceiptDocument:
    count = draw(st.integers(1, 6))
    receipt_lines = [draw(lines(n)) for n in range(1, count + 1)]
    total = sum(li.amount for li in receipt_lines)
    payments = []
    if total:
        cuts = sorted(draw(st.sets(st.integers(1, total - 1), max_size=2)) if total > 1 else set())
        bounds = [0, *cuts, total]
        payments = [
            Payment(payment_type=draw(st.sampled_from(("cash", "card", "bonus"))), amount=b - a)
            for a, b in pairwise(bounds)
        ]
    kind = draw(st.sampled_from(("sale", "return")))
    opened = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 10**7)))
    return ReceiptDocument(
        store_id="store",
        terminal_id="terminal",
        shift_id="shift",
        number=1,
        kind=kind,
        original_receipt_id=draw(st.none() | st.just("sale-id")) if kind == "return" else None,
        opened_at=opened,
        closed_at=opened + timedelta(seconds=draw(st.integers(0, 3600))),
        lines=receipt_lines,
        payments=payments,
        discount_total=sum(li.discount for li in receipt_lines),
        total=total,
    )


@given(receipts())
def test_a_receipt_built_with_line_amount_passes(receipt: ReceiptDocument) -> None:
    assert receipt_problems(receipt) == []


def _money_places(receipt: ReceiptDocument) -> list[tuple[str, Any]]:
    places: list[tuple[str, Any]] = [("total", None), ("discount_total", None)]
    for n, li in enumerate(receipt.lines):
        places += [("line.amount", n), ("line.discount", n)]
        places += [("part", (n, k)) for k in range(len(li.discounts or []))]
    places += [("payment", n) for n in range(len(receipt.payments))]
    return places


def _nudge(receipt: ReceiptDocument, place: tuple[str, Any], delta: int) -> ReceiptDocument:
    what, where = place
    if what in ("total", "discount_total"):
        return receipt.model_copy(update={what: getattr(receipt, what) + delta})
    if what == "payment":
        payments = list(receipt.payments)
        payments[where] = payments[where].model_copy(update={"amount": payments[where].amount + delta})
        return receipt.model_copy(update={"payments": payments})
    n = where[0] if what == "part" else where
    line = receipt.lines[n]
    if what == "part":
        parts = list(line.discounts or [])
        parts[where[1]] = parts[where[1]].model_copy(update={"amount": parts[where[1]].amount + delta})
        line = line.model_copy(update={"discounts": parts})
    else:
        field = what.split(".")[1]
        line = line.model_copy(update={field: getattr(line, field) + delta})
    changed = list(receipt.lines)
    changed[n] = line
    return receipt.model_copy(update={"lines": changed})


@given(st.data(), receipts(), st.sampled_from((-1, 1)))
def test_a_kopeck_out_of_place_anywhere_is_caught(
    data: st.DataObject, receipt: ReceiptDocument, delta: int
) -> None:
    place = data.draw(st.sampled_from(_money_places(receipt)))

    problems = receipt_problems(_nudge(receipt, place, delta))

    assert problems, place
    if place[0].startswith("line.") or place[0] == "part":
        line_no = receipt.lines[place[1] if place[0] != "part" else place[1][0]].line_no
        assert any(p.startswith(f"line {line_no}: ") for p in problems), problems


def _line(**changes: Any) -> ReceiptLine:
    fields: dict[str, Any] = {
        "line_no": 2,
        "name": "Молоко",
        "quantity": Decimal("3"),
        "price": 500,
        "discount": 0,
        "amount": 1500,
        "vat_rate": "10",
    }
    return ReceiptLine(**{**fields, **changes})


def _receipt(*receipt_lines: ReceiptLine, **changes: Any) -> ReceiptDocument:
    total = sum(li.amount for li in receipt_lines)
    fields: dict[str, Any] = {
        "store_id": "s",
        "terminal_id": "t",
        "shift_id": "sh",
        "number": 7,
        "kind": "sale",
        "opened_at": datetime(2025, 3, 1, 10, tzinfo=UTC),
        "closed_at": datetime(2025, 3, 1, 10, 1, tzinfo=UTC),
        "lines": list(receipt_lines),
        "payments": [Payment(payment_type="cash", amount=total)] if total else [],
        "discount_total": sum(li.discount for li in receipt_lines),
        "total": total,
    }
    return ReceiptDocument(**{**fields, **changes})


def test_the_reason_names_the_line_and_the_numbers() -> None:
    bad = _receipt(_line(amount=1000), total=1000, payments=[Payment(payment_type="cash", amount=1000)])

    assert receipt_problems(bad) == ["line 2: amount 1000 but price 500 × 3.000 - discount 0 = 1500"]


def test_a_half_kopeck_rounds_up_once_at_the_line() -> None:
    weighed = _line(price=12999, quantity=Decimal("0.5"), amount=6500)  # 6499.5 → 6500

    assert receipt_problems(_receipt(weighed)) == []
    assert receipt_problems(_receipt(_line(price=12999, quantity=Decimal("0.5"), amount=6499))) != []


def test_a_quantity_has_at_most_three_places_and_five_whole_digits() -> None:
    assert receipt_problems(_receipt(_line(quantity=Decimal("3.0000")))) == []
    assert receipt_problems(_receipt(_line(quantity=Decimal("3.0001"), amount=1500))) == [
        "line 2: quantity 3.0001 has more than 3 decimal places"
    ]
    assert receipt_problems(_receipt(_line(quantity=Decimal("100000"), price=1, amount=100000))) == [
        "line 2: quantity 100000 is more than 99999.999"
    ]


def test_a_return_may_come_without_its_sale_but_a_sale_never_names_one() -> None:
    assert receipt_problems(_receipt(_line(), kind="return")) == []
    assert receipt_problems(_receipt(_line(), kind="return", original_receipt_id="x")) == []
    assert receipt_problems(_receipt(_line(), original_receipt_id="x")) == [
        "a sale cannot have an original_receipt_id; only a return refers to a sale"
    ]


def test_a_free_receipt_needs_no_payment() -> None:
    free = _line(discount=1500, amount=0)

    assert receipt_problems(_receipt(free)) == []


def test_senders() -> None:
    def check(store: str, terminal: str, *, relay: bool = False) -> list[str]:
        return sender_problems(
            store_id=store, terminal_id=terminal, sender_id="t1", sender_store_id="s1", relay=relay
        )

    assert check("s1", "t1") == []
    assert check("s1", "t2") == ["terminal_id t2 is not the sending terminal t1"]
    assert check("s2", "t1") == ["store_id s2 is not the sender's store s1"]
    assert check("s1", "t2", relay=True) == []
    assert check("s2", "t2", relay=True) == ["store_id s2 is not the sender's store s1"]


def test_z_report_payment_types_add_up() -> None:
    def z(by_type: list[dict[str, Any]]) -> ZReportDocument:
        return ZReportDocument.model_validate(
            {
                "store_id": "s",
                "terminal_id": "t",
                "shift_id": "sh",
                "number": 1,
                "closed_at": "2025-03-01T22:00:00+03:00",
                "totals": {
                    "sales_count": 2,
                    "sales_sum": 300,
                    "returns_count": 1,
                    "returns_sum": 50,
                    "by_payment_type": by_type,
                },
            }
        )

    assert z_report_problems(z([])) == []
    assert (
        z_report_problems(
            z([{"payment_type": "cash", "sales": 100, "returns": 50}, {"payment_type": "card", "sales": 200}])
        )
        == []
    )
    assert z_report_problems(
        z([{"payment_type": "cash", "sales": 100, "returns": 50}, {"payment_type": "cash", "sales": 199}])
    ) == [
        "payment types repeat in by_payment_type: cash",
        "by_payment_type sales add up to 299 but sales_sum is 300",
    ]
