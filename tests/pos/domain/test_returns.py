"""Returns: what a line can still give back and for how much; which payments give the refund back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.pos.domain.errors import InvalidInput, RefundTooLarge, ReturnTooLarge
from osuite.pos.domain.returns import OriginalPayment, RefundPart, SoldLine, line_refund, refund_payments

# --- a line's refund ------------------------------------------------------------------------------------


def test_a_partial_return_is_proportional_half_up() -> None:
    three = SoldLine(line_no=1, quantity=Decimal(3), amount=200)
    assert line_refund(three, Decimal(1)) == 67  # 66.67
    assert line_refund(three, Decimal(2)) == 133  # 133.33
    assert line_refund(SoldLine(1, Decimal(2), 101), Decimal(1)) == 51  # 50.5 → 51


def test_returning_everything_that_remains_refunds_exactly_what_remains() -> None:
    after_two = SoldLine(
        line_no=1, quantity=Decimal(3), amount=200, returned_quantity=Decimal(2), returned_amount=134
    )
    assert line_refund(after_two, Decimal(1)) == 66
    assert line_refund(SoldLine(1, Decimal(3), 200), Decimal(3)) == 200


def test_weighed_goods_return_part_of_the_weight() -> None:
    cheese = SoldLine(line_no=4, quantity=Decimal("0.755"), amount=37_750)
    assert line_refund(cheese, Decimal("0.255")) == 12_750
    assert (
        line_refund(SoldLine(4, Decimal("0.755"), 37_750, Decimal("0.255"), 12_750), Decimal("0.5")) == 25_000
    )


def test_a_partial_refund_never_exceeds_what_remains() -> None:
    # 5 kopecks over 10 units: every other single unit rounds 0.5 up, so the cap must hold.
    line = SoldLine(
        line_no=1, quantity=Decimal(10), amount=5, returned_quantity=Decimal(5), returned_amount=5
    )
    assert line_refund(line, Decimal(1)) == 0


def test_returning_more_than_remains_is_refused_naming_the_numbers() -> None:
    line = SoldLine(
        line_no=3, quantity=Decimal(5), amount=500, returned_quantity=Decimal(2), returned_amount=200
    )
    with pytest.raises(ReturnTooLarge) as refused:
        line_refund(line, Decimal(4))
    assert str(refused.value) == (
        "Line 3: 5 sold, 2 already returned, 4 requested; at most 3 can be returned"
    )
    assert refused.value.line_no == 3


@pytest.mark.parametrize("quantity", [Decimal(0), Decimal(-1), Decimal("0.0001")])
def test_an_impossible_quantity_to_return_is_refused(quantity: Decimal) -> None:
    with pytest.raises(InvalidInput):
        line_refund(SoldLine(1, Decimal(5), 500), quantity)


def test_history_returning_more_than_sold_is_refused() -> None:
    with pytest.raises(
        InvalidInput, match=r"Line 2: earlier returns took back 6 for 6\.00, more than the 5 sold"
    ):
        SoldLine(
            line_no=2, quantity=Decimal(5), amount=500, returned_quantity=Decimal(6), returned_amount=600
        )


@st.composite
def sales_and_returns(draw: st.DrawFn) -> tuple[Decimal, int, list[Decimal]]:
    weighed = draw(st.booleans())
    places = 3 if weighed else 0
    sold = draw(st.decimals(min_value=Decimal("0.001") if weighed else 1, max_value=1000, places=places))
    amount = draw(st.integers(0, 10_000_000))
    parts = draw(
        st.lists(st.decimals(min_value=Decimal("0.001") if weighed else 1, max_value=sold, places=places))
    )
    return sold, amount, parts


@given(sales_and_returns(), st.booleans())
def test_refunds_of_a_line_never_exceed_and_finally_equal_its_amount(
    sale: tuple[Decimal, int, list[Decimal]], return_the_rest: bool
) -> None:
    sold, amount, parts = sale
    returned_qty, refunded = Decimal(0), 0
    for part in parts:
        line = SoldLine(1, sold, amount, returned_qty, refunded)
        if part > line.remaining_quantity:
            with pytest.raises(ReturnTooLarge):
                line_refund(line, part)
            continue
        refund = line_refund(line, part)
        assert refund >= 0
        returned_qty += part
        refunded += refund
        assert refunded <= amount
    if return_the_rest and returned_qty < sold:
        refunded += line_refund(SoldLine(1, sold, amount, returned_qty, refunded), sold - returned_qty)
        returned_qty = sold
    if returned_qty == sold:
        assert refunded == amount


# --- where the refund goes ------------------------------------------------------------------------------

CASH = OriginalPayment("CASH", "cash", 1_000, change=200)  # 800 net
CARD = OriginalPayment("CARD", "card", 500)
BONUS = OriginalPayment("BONUS", "bonus", 300)


def test_non_cash_first_cash_the_rest() -> None:
    assert refund_payments(payments=[CASH, CARD], refund=400) == [RefundPart("CARD", "card", 400)]
    assert refund_payments(payments=[CASH, CARD], refund=900) == [
        RefundPart("CASH", "cash", 400),
        RefundPart("CARD", "card", 500),
    ]


def test_non_cash_payments_share_in_proportion() -> None:
    assert refund_payments(payments=[CARD, BONUS, CASH], refund=401) == [
        RefundPart("CARD", "card", 251),
        RefundPart("BONUS", "bonus", 150),
    ]


def test_cash_counts_net_of_change() -> None:
    assert refund_payments(payments=[CASH], refund=800) == [RefundPart("CASH", "cash", 800)]
    with pytest.raises(RefundTooLarge, match=r"refund of 8\.01 is more than the 8\.00"):
        refund_payments(payments=[CASH], refund=801)


def test_earlier_refunds_are_taken_into_account() -> None:
    parts = refund_payments(payments=[CASH, CARD], refund=600, already_refunded={"CARD": 400})
    assert parts == [RefundPart("CASH", "cash", 500), RefundPart("CARD", "card", 100)]
    with pytest.raises(RefundTooLarge) as refused:
        refund_payments(payments=[CASH, CARD], refund=1, already_refunded={"CARD": 500, "CASH": 800})
    assert str(refused.value) == (
        "A refund of 0.01 is more than the 0.00 the receipt's payments can still give back"
        " (paid 13.00, already refunded 13.00)"
    )


def test_two_payments_of_one_type_are_one_pot() -> None:
    two_cards = [OriginalPayment("CARD", "card", 300), OriginalPayment("CARD", "card", 200)]
    assert refund_payments(payments=two_cards, refund=500) == [RefundPart("CARD", "card", 500)]


def test_a_refund_of_nothing_goes_nowhere() -> None:
    assert refund_payments(payments=[CASH, CARD], refund=0) == []


def test_change_above_the_tendered_amount_is_refused() -> None:
    with pytest.raises(
        InvalidInput, match=r"change 5\.00 on the CASH payment is more than the 1\.00 tendered"
    ):
        OriginalPayment("CASH", "cash", 100, change=500)


METHODS = ("cash", "card", "bonus", "gift", "sbp")


@st.composite
def receipts_and_refunds(draw: st.DrawFn) -> tuple[list[OriginalPayment], list[int]]:
    payments = []
    for _ in range(draw(st.integers(1, 5))):
        code = draw(st.sampled_from(("CASH", "CARD", "CARD2", "BONUS", "SBP")))
        method = "cash" if code == "CASH" else draw(st.sampled_from(METHODS[1:]))
        amount = draw(st.integers(1, 100_000))
        change = draw(st.integers(0, amount)) if method == "cash" else 0
        payments.append(OriginalPayment(code, method, amount, change))
    # A payment type always has one method: the first one seen names it, like the catalog would.
    methods: dict[str, str] = {}
    payments = [
        OriginalPayment(p.payment_type, methods.setdefault(p.payment_type, p.method), p.amount, p.change)
        for p in payments
    ]
    total = sum(p.net for p in payments)
    refunds = draw(st.lists(st.integers(0, total), max_size=5))
    return payments, refunds


@given(receipts_and_refunds())
def test_refund_splits_add_up_and_never_exceed_a_payment_type(
    case: tuple[list[OriginalPayment], list[int]],
) -> None:
    payments, refunds = case
    paid: dict[str, int] = {}
    for p in payments:
        paid[p.payment_type] = paid.get(p.payment_type, 0) + p.net
    given_back: dict[str, int] = {}
    for refund in refunds:
        left = sum(paid.values()) - sum(given_back.values())
        if refund > left:
            with pytest.raises(RefundTooLarge):
                refund_payments(payments=payments, refund=refund, already_refunded=given_back)
            continue
        parts = refund_payments(payments=payments, refund=refund, already_refunded=given_back)
        assert sum(p.amount for p in parts) == refund
        assert all(p.amount > 0 for p in parts)
        non_cash_left = sum(paid[c] - given_back.get(c, 0) for c in paid if c != "CASH")
        cash_part = sum(p.amount for p in parts if p.method == "cash")
        assert cash_part == max(0, refund - non_cash_left)  # cash only once non-cash is exhausted
        for part in parts:
            given_back[part.payment_type] = given_back.get(part.payment_type, 0) + part.amount
            assert given_back[part.payment_type] <= paid[part.payment_type]
