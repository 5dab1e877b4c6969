"""The emulated registrar's rules without any I/O: random days at the till keep the counters consistent,
and a refused task changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.devices.atol_wire import AtolError, rubles
from osuite.devices.registrar_rules import Refusal, RegistrarState, apply, counters, plan

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=3)))


def sale(amounts: list[int], payments: dict[str, int], kind: str = "sell") -> dict[str, Any]:
    return {
        "type": kind,
        "items": [
            {
                "type": "position",
                "name": f"Товар {n}",
                "price": rubles(a),
                "quantity": Decimal(1),
                "amount": rubles(a),
                "tax": {"type": "vat20"},
            }
            for n, a in enumerate(amounts)
        ],
        "payments": [{"type": t, "sum": rubles(s)} for t, s in payments.items()],
        "total": rubles(sum(amounts)),
    }


def register(state: RegistrarState, task: dict[str, Any], now: datetime = T0) -> dict[str, Any]:
    document = plan(state, task, now)
    apply(state, document)
    return document


amount = st.integers(min_value=0, max_value=10**7)
operation = st.one_of(
    st.tuples(st.just("sell"), st.lists(amount, min_size=1, max_size=3), st.integers(0, 10**6), amount),
    st.tuples(st.just("sellReturn"), st.lists(amount, min_size=1, max_size=3), st.integers(0, 10**6), amount),
    st.tuples(st.just("cashIn"), amount),
    st.tuples(st.just("cashOut"), amount),
)


@given(st.lists(operation, max_size=25))
def test_random_days_keep_the_counters_consistent(operations: list[tuple[Any, ...]]) -> None:
    state = RegistrarState()
    register(state, {"type": "openShift"})
    numbers = [1]
    drawer = 0
    for op in operations:
        if op[0] in ("cashIn", "cashOut"):
            task: dict[str, Any] = {"type": op[0], "cashSum": rubles(op[1])}
        else:
            kind, amounts, card, cash_extra = op
            total = sum(amounts)
            card = min(card, total)
            task = sale(amounts, {"electronically": card, "cash": total - card + cash_extra}, kind)
        before = state.copy()
        try:
            document = register(state, task)
        except Refusal as refusal:
            assert state == before
            assert refusal.code in (AtolError.NO_CASH, AtolError.INVALID_SUM)
            continue
        numbers.append(document["number"])
        drawer += document["cash"]
        assert state.cash_in_drawer == drawer >= 0
    assert numbers == list(range(1, len(numbers) + 1))
    shift = counters(state)
    for kind in ("sell", "sellReturn"):
        assert sum(shift[kind]["payments"].values()) == shift[kind]["sum"]
    cash_net = shift["sell"]["payments"].get("cash", 0) - shift["sellReturn"]["payments"].get("cash", 0)
    assert drawer == shift["income"]["sum"] - shift["outcome"]["sum"] + cash_net
    assert shift["receipts"] == shift["sell"]["count"] + shift["sellReturn"]["count"]


def test_the_24_hour_limit_is_exclusive() -> None:
    state = RegistrarState()
    register(state, {"type": "openShift"})
    register(state, sale([100], {"cash": 100}), T0 + timedelta(hours=24))
    with pytest.raises(Refusal) as refused:
        plan(state, sale([100], {"cash": 100}), T0 + timedelta(hours=24, seconds=1))
    assert refused.value.code is AtolError.SHIFT_EXPIRED
    assert plan(state, {"type": "reportX"}, T0 + timedelta(hours=30))["number"] == 0
    assert plan(state, {"type": "closeShift"}, T0 + timedelta(hours=30))["number"] == 3


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"quantity": Decimal("0")}, AtolError.INVALID_QUANTITY),
        ({"quantity": Decimal("1.0001")}, AtolError.INVALID_QUANTITY),
        ({"quantity": Decimal("-1")}, AtolError.INVALID_QUANTITY),
        ({"price": Decimal("1.001")}, AtolError.INVALID_SUM),
        ({"price": 1.5}, AtolError.INVALID_SUM),
        ({"tax": {"type": "vat18"}}, AtolError.INVALID_TAX_TYPE),
        ({"tax": None}, AtolError.INVALID_TAX_TYPE),
        ({"measurementUnit": "bushel"}, AtolError.INVALID_PARAM),
        ({"name": ""}, AtolError.INVALID_PARAM),
        ({"type": "gift"}, AtolError.INVALID_PARAM),
    ],
)
def test_bad_positions(change: dict[str, Any], code: AtolError) -> None:
    state = RegistrarState()
    register(state, {"type": "openShift"})
    task = sale([100], {"cash": 100})
    task["items"][0] |= change
    with pytest.raises(Refusal) as refused:
        plan(state, task, T0)
    assert refused.value.code is code


def test_bad_payments() -> None:
    state = RegistrarState()
    register(state, {"type": "openShift"})
    for payments, code in [
        ([{"type": "bitcoin", "sum": 1}], AtolError.INVALID_PAYMENT_TYPE),
        ([{"type": "cash", "sum": -1}, {"type": "cash", "sum": 2}], AtolError.INVALID_SUM),
        ([{"type": "cash"}], AtolError.NO_REQUIRED_PARAM),
    ]:
        task = sale([100], {}) | {"payments": payments}
        with pytest.raises(Refusal) as refused:
            plan(state, task, T0)
        assert refused.value.code is code
