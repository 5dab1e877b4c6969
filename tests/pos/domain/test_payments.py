"""Paying a receipt: what is due, when it is paid, and change only from cash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.pos.domain.errors import InvalidInput, Overpayment
from osuite.pos.domain.payments import PaymentStatus, Tender, payment_status


def test_nothing_tendered_everything_due() -> None:
    assert payment_status(1_000, []) == PaymentStatus(total=1_000, tendered=0, due=1_000, change=0)
    assert not payment_status(1_000, []).fully_paid


def test_a_receipt_of_zero_is_paid_with_nothing() -> None:
    assert payment_status(0, []).fully_paid


def test_split_payment_card_then_cash_with_change() -> None:
    status = payment_status(1_000, [Tender("card", 600), Tender("cash", 500)])
    assert status == PaymentStatus(total=1_000, tendered=1_100, due=0, change=100)
    assert status.fully_paid


def test_partly_paid() -> None:
    status = payment_status(1_000, [Tender("card", 300), Tender("cash", 200)])
    assert (status.due, status.change, status.fully_paid) == (500, 0, False)


def test_a_card_above_what_is_due_is_refused() -> None:
    with pytest.raises(Overpayment) as refused:
        payment_status(1_000, [Tender("cash", 400), Tender("card", 700)])
    assert str(refused.value) == (
        "A card payment of 7.00 is more than the 6.00 still due; only cash can be more"
        " (the rest is given back as change)"
    )


def test_a_card_after_the_receipt_is_paid_is_refused() -> None:
    with pytest.raises(
        Overpayment, match=r"Nothing is due any more: the card payment of 1\.00 cannot be taken"
    ):
        payment_status(1_000, [Tender("cash", 5_000), Tender("card", 100)])


def test_a_payment_of_nothing_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must be more than zero"):
        Tender("cash", 0)
    with pytest.raises(InvalidInput):
        Tender("card", -100)


tenders = st.lists(
    st.builds(
        Tender, method=st.sampled_from(["cash", "card", "bonus", "gift"]), amount=st.integers(1, 100_000)
    ),
    max_size=6,
)


@given(st.integers(0, 300_000), tenders)
def test_change_is_never_negative_and_cash_covers_it(total: int, offered: list[Tender]) -> None:
    try:
        status = payment_status(total, offered)
    except Overpayment:
        return
    cash = sum(t.amount for t in offered if t.method == "cash")
    non_cash = sum(t.amount for t in offered if t.method != "cash")
    assert status.change >= 0 and status.due >= 0
    assert status.change <= cash
    assert non_cash <= total
    assert status.tendered - status.change + status.due == total
    assert status.fully_paid == (status.tendered >= total)


@given(st.integers(0, 300_000), tenders)
def test_only_non_cash_is_ever_refused(total: int, offered: list[Tender]) -> None:
    cash_only = [t for t in offered if t.method == "cash"]
    payment_status(total, cash_only)
