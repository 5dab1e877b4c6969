"""The shift: closed after 24 hours, and the cash its drawer holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.pos.domain.errors import InvalidInput, NotEnoughCash
from osuite.pos.domain.shift import (
    DrawerMovement,
    cash_in_drawer,
    check_cash_out,
    check_cash_refund,
    must_close,
)

OPENED = datetime(2025, 3, 7, 8, 0, tzinfo=UTC)


def test_a_shift_must_be_closed_once_open_24_hours() -> None:
    assert not must_close(OPENED, OPENED)
    assert not must_close(OPENED, OPENED + timedelta(hours=23, minutes=59, seconds=59))
    assert must_close(OPENED, OPENED + timedelta(hours=24))
    assert must_close(OPENED, OPENED + timedelta(days=3))


def test_cash_in_the_drawer() -> None:
    movements = [
        DrawerMovement("float", 500_000),
        DrawerMovement("sale", 100_000),
        DrawerMovement("change", 3_500),
        DrawerMovement("refund", 20_000),
        DrawerMovement("cash_in", 10_000),
        DrawerMovement("cash_out", 50_000),
    ]
    assert cash_in_drawer(movements) == 500_000 + 100_000 - 3_500 - 20_000 + 10_000 - 50_000
    assert cash_in_drawer([]) == 0


def test_cash_out_above_what_the_drawer_holds_is_refused() -> None:
    check_cash_out(in_drawer=30_000, amount=30_000)
    with pytest.raises(NotEnoughCash) as refused:
        check_cash_out(in_drawer=30_000, amount=30_001)
    assert str(refused.value) == "Cannot take out 300.01: the drawer holds only 300.00"


def test_a_cash_refund_above_what_the_drawer_holds_is_refused() -> None:
    check_cash_refund(in_drawer=100, amount=100)
    with pytest.raises(NotEnoughCash, match=r"Cannot refund 1\.01 in cash: the drawer holds only 1\.00"):
        check_cash_refund(in_drawer=100, amount=101)


def test_impossible_movements_are_refused() -> None:
    with pytest.raises(InvalidInput):
        DrawerMovement("sale", -1)
    with pytest.raises(InvalidInput, match="not a kind of cash movement"):
        DrawerMovement("theft", 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        check_cash_out(in_drawer=100, amount=-5)


@given(st.lists(st.integers(1, 1_000_000)), st.integers(1, 1_000_000))
def test_what_may_be_taken_out_never_leaves_the_drawer_negative(incomes: list[int], wanted: int) -> None:
    movements = [DrawerMovement("sale", amount) for amount in incomes]
    held = cash_in_drawer(movements)
    try:
        check_cash_out(in_drawer=held, amount=wanted)
    except NotEnoughCash:
        assert wanted > held
    else:
        assert cash_in_drawer([*movements, DrawerMovement("cash_out", wanted)]) >= 0
