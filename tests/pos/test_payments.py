"""Paying through the API: cash with change, cards approved, declined or lost in a timeout, mixed
payments, payments taken back, and what may not be paid."""

from __future__ import annotations

from typing import Any

import pytest

from osuite.devices.card_terminal import HttpCardTerminal
from tests.pos.conftest import MILK, WATER, WINE, Devices, Till


def _operations(devices: Devices) -> list[tuple[str, int, bool]]:
    return [
        (op.result.operation, op.result.amount, op.result.approved)
        for op in devices.card.terminal.operations()
    ]


def _short_card_timeout(till: Till, devices: Devices, seconds: float = 0.4) -> None:
    """The cardholder's time runs out sooner than a real terminal's 90 s."""
    old = till.pos.card
    till.pos.card = HttpCardTerminal(devices.card_url, timeout=seconds)
    if old is not None:
        old.close()


def test_cash_with_change(open_till: Till, devices: Devices) -> None:
    open_till.scan(MILK)
    closed = open_till.pay("CASH", 10000)
    assert (closed["status"], closed["paid"], closed["due"], closed["change"]) == ("closed", 8990, 0, 1010)
    (payment,) = closed["payments"]
    assert (payment["amount"], payment["tendered"], payment["change"]) == (8990, 10000, 1010)
    assert closed["number"] == 1 and closed["fiscal"]["document_number"] >= 2
    (sold,) = devices.sells()
    assert (sold["total"], sold["tendered"], sold["change"], sold["payments"]) == (
        8990,
        {"cash": 10000},
        1010,
        {"cash": 8990},
    )
    assert open_till.get("/shift")["drawer"] == 8990
    payments = open_till.document(closed["id"])["payments"]
    assert payments == [
        {"payment_type": "CASH", "amount": 8990, "extra": {"tendered": 10000, "change": 1010}}
    ]
    assert open_till.receipt() is None


def test_cash_exactly_what_is_due_when_no_amount_is_given(open_till: Till) -> None:
    open_till.scan(WATER)
    closed = open_till.pay("CASH")
    assert (closed["paid"], closed["change"]) == (4500, 0)


def test_card_approved(open_till: Till, devices: Devices) -> None:
    open_till.scan(MILK)
    closed = open_till.pay("CARD")
    assert closed["status"] == "closed"
    (payment,) = closed["payments"]
    assert (payment["status"], payment["amount"], payment["tendered"]) == ("approved", 8990, 8990)
    assert payment["rrn"] and payment["card_mask"].startswith("****")
    assert _operations(devices) == [("pay", 8990, True)]
    (sold,) = devices.sells()
    assert sold["payments"] == {"electronically": 8990}
    assert any(payment["rrn"] in line for line in sold["text"])  # the slip under the receipt
    assert open_till.get("/shift")["drawer"] == 0
    extra = open_till.document(closed["id"])["payments"][0]["extra"]
    assert extra["rrn"] == payment["rrn"]


def test_card_declined_then_cash(open_till: Till, devices: Devices) -> None:
    open_till.scan(MILK)
    devices.card.terminal.set_mode("decline", count=1, decline_message="недостаточно средств")
    problem = open_till.refused("POST", "/receipt/payments", 503, "device", payment_type="CARD")
    assert (problem["device"], problem["code"]) == ("card", "declined")
    assert "недостаточно средств" in problem["detail"]
    receipt = open_till.receipt()
    assert (receipt["status"], receipt["paid"], receipt["due"]) == ("open", 0, 8990)
    (declined,) = receipt["payments"]
    assert declined["status"] == "declined" and "ОТКАЗ" in declined["message"]

    closed = open_till.pay("CASH", 9000)
    assert (closed["status"], closed["change"]) == ("closed", 10)
    assert [p["status"] for p in closed["payments"]] == ["declined", "approved"]
    (sold,) = devices.sells()
    assert sold["payments"] == {"cash": 8990}
    assert [p["payment_type"] for p in open_till.document(closed["id"])["payments"]] == ["CASH"]


def test_a_card_timeout_whose_money_moved_is_settled_by_asking_the_terminal(
    open_till: Till, devices: Devices
) -> None:
    _short_card_timeout(open_till, devices)
    open_till.scan(MILK)
    devices.card.terminal.set_mode("timeout", count=1, timeout_outcome="approved", hold_seconds=1.0)
    closed = open_till.pay("CARD")
    assert closed["status"] == "closed", closed
    (payment,) = closed["payments"]
    assert (payment["status"], payment["amount"]) == ("approved", 8990)
    assert payment["rrn"]
    assert _operations(devices) == [("pay", 8990, True)]
    assert devices.sells()[0]["payments"] == {"electronically": 8990}


def test_a_card_timeout_where_nothing_happened_leaves_the_receipt_to_pay_otherwise(
    open_till: Till, devices: Devices
) -> None:
    _short_card_timeout(open_till, devices)
    open_till.scan(MILK)
    devices.card.terminal.set_mode("timeout", count=1, timeout_outcome="none", hold_seconds=1.0)
    problem = open_till.refused("POST", "/receipt/payments", 503, "device", payment_type="CARD")
    assert (problem["device"], problem["code"]) == ("card", "timeout")
    assert "no money was taken" in problem["detail"]
    receipt = open_till.receipt()
    assert [p["status"] for p in receipt["payments"]] == ["declined"]
    assert receipt["due"] == 8990
    closed = open_till.pay("CASH")
    assert closed["status"] == "closed"
    assert _operations(devices) == []


def test_a_card_payment_with_no_answer_at_all_is_settled_on_retry(open_till: Till, devices: Devices) -> None:
    _short_card_timeout(open_till, devices)
    open_till.scan(MILK)
    devices.card.stop()  # the terminal is switched off mid-payment
    problem = open_till.refused("POST", "/receipt/payments", 503, "device", payment_type="CARD")
    assert problem["device"] == "card"
    receipt = open_till.receipt()
    assert [p["status"] for p in receipt["payments"]] == ["declined"]  # it never reached the terminal
    assert receipt["due"] == 8990


def test_a_card_payment_left_authorizing_blocks_other_payments_until_settled(
    open_till: Till, devices: Devices
) -> None:
    _short_card_timeout(open_till, devices)
    open_till.scan(MILK)
    devices.card.terminal.set_mode("timeout", count=1, timeout_outcome="approved", hold_seconds=1.0)
    card = open_till.pos.card
    assert card is not None
    real_find = card.find

    def terminal_silent(key: str) -> Any:
        from osuite.devices.payment import CardErrorCode, CardTerminalError

        raise CardTerminalError(CardErrorCode.TIMEOUT, "терминал не ответил")

    card.find = terminal_silent  # type: ignore[method-assign]
    problem = open_till.refused("POST", "/receipt/payments", 503, "device", payment_type="CARD")
    assert problem["device"] == "card"
    receipt = open_till.receipt()
    assert [p["status"] for p in receipt["payments"]] == ["authorizing"]
    # cash now could be a second payment for the same milk: refused until the card is settled
    open_till.refused("POST", "/receipt/payments", 409, "refused", payment_type="CASH")
    open_till.refused("POST", "/receipt/close", 409, "refused")
    # nor may the receipt change under a payment that may have taken the money
    open_till.refused("POST", "/receipt/items", 409, "refused", code=WATER)
    open_till.refused("POST", "/receipt/hold", 409, "refused")
    assert open_till.receipt() == receipt

    card.find = real_find  # type: ignore[method-assign]
    closed = open_till.post("/receipt/close")  # Retry asks the terminal again
    assert closed["status"] == "closed"
    assert [p["status"] for p in closed["payments"]] == ["approved"]
    assert devices.sells()[0]["payments"] == {"electronically": 8990}


def test_mixed_card_and_cash(open_till: Till, devices: Devices) -> None:
    open_till.scan(WINE, age_confirmed=True)
    open_till.scan(MILK)  # 688.90
    part = open_till.pay("CARD", 50000)
    assert (part["status"], part["paid"], part["due"]) == ("open", 50000, 18890)
    closed = open_till.pay("CASH", 20000)
    assert (closed["status"], closed["paid"], closed["change"]) == ("closed", 68890, 1110)
    (sold,) = devices.sells()
    assert sold["payments"] == {"electronically": 50000, "cash": 18890}
    assert sold["tendered"] == {"electronically": 50000, "cash": 20000}
    assert open_till.get("/shift")["drawer"] == 18890
    document = open_till.document(closed["id"])
    assert [(p["payment_type"], p["amount"]) for p in document["payments"]] == [
        ("CARD", 50000),
        ("CASH", 18890),
    ]


def test_removing_payments(open_till: Till, devices: Devices) -> None:
    open_till.scan(WINE, age_confirmed=True)
    card = open_till.pay("CARD", 30000)["payments"][0]
    cash = open_till.pay("CASH", 10000)["payments"][1]
    after_card = open_till.call("DELETE", f"/receipt/payments/{card['id']}")
    assert after_card["paid"] == 10000 and after_card["due"] == 49900
    assert [p["status"] for p in after_card["payments"]] == ["cancelled", "approved"]
    assert _operations(devices) == [("pay", 30000, True), ("cancel", 30000, True)]
    (voided,) = [op for op in devices.card.terminal.operations() if op.result.operation == "cancel"]
    assert voided.original_rrn == card["rrn"]

    after_cash = open_till.call("DELETE", f"/receipt/payments/{cash['id']}")
    assert (after_cash["paid"], after_cash["due"]) == (0, 59900)
    open_till.refused("DELETE", f"/receipt/payments/{cash['id']}", 404, "not_found")
    open_till.refused("DELETE", "/receipt/payments/no-such", 404, "not_found")

    closed = open_till.pay("CASH")
    assert closed["paid"] == 59900
    assert devices.sells()[0]["payments"] == {"cash": 59900}


def test_a_card_void_the_terminal_refuses_keeps_the_payment(open_till: Till, devices: Devices) -> None:
    open_till.scan(WINE, age_confirmed=True)
    card = open_till.pay("CARD", 30000)["payments"][0]
    devices.card.terminal.set_mode("decline", count=1)
    before = open_till.receipt()
    problem = open_till.refused("DELETE", f"/receipt/payments/{card['id']}", 503, "device")
    assert problem["device"] == "card"
    assert open_till.receipt() == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"payment_type": "CARD", "amount": 9000}, 422),  # a card above what is due
        ({"payment_type": "GIFT"}, 404),  # no such payment type
        ({"payment_type": "CASH", "amount": 0}, 422),
        ({"payment_type": "CASH", "amount": -100}, 422),
        ({"payment_type": "CASH", "amount": 100.5}, 422),  # kopecks are whole
        ({"payment_type": "CASH", "amount": "100"}, 422),
        ({"payment_type": "CASH", "extra": 1}, 422),
    ],
)
def test_payments_that_cannot_be_taken_change_nothing(
    open_till: Till, devices: Devices, body: dict[str, Any], status: int
) -> None:
    open_till.scan(MILK)
    before = open_till.receipt()
    problem = open_till.call("POST", "/receipt/payments", status, **body)
    assert problem["detail"]
    assert open_till.receipt() == before
    assert _operations(devices) == []


def test_only_cash_may_exceed_what_is_due(open_till: Till) -> None:
    open_till.scan(MILK)
    problem = open_till.refused("POST", "/receipt/payments", 422, "invalid", payment_type="CARD", amount=8991)
    assert "89.90" in problem["detail"] and "89.91" in problem["detail"]
    open_till.pay("CARD", 4000)
    problem = open_till.refused("POST", "/receipt/payments", 422, "invalid", payment_type="CARD", amount=5000)
    assert "49.90" in problem["detail"]
    closed = open_till.pay("CASH", 5000)
    assert (closed["status"], closed["change"]) == ("closed", 10)


def test_nothing_to_pay(open_till: Till) -> None:
    problem = open_till.refused("POST", "/receipt/payments", 409, "refused", payment_type="CASH")
    assert "no open receipt" in problem["detail"]
    open_till.scan(MILK)
    open_till.post("/receipt/lines/1/void", supervisor_pin="9999")
    problem = open_till.refused("POST", "/receipt/payments", 409, "refused", payment_type="CASH")
    assert "empty" in problem["detail"]
    problem = open_till.refused("POST", "/receipt/close", 409, "refused")
    assert "empty" in problem["detail"]


def test_a_receipt_given_away_is_closed_without_a_payment(open_till: Till, devices: Devices) -> None:
    till = open_till.login("9999")
    till.scan(MILK)
    free = till.post("/receipt/discount", percent="100")
    assert (free["total"], free["due"]) == (0, 0)
    problem = till.refused("POST", "/receipt/payments", 409, "refused", payment_type="CASH")
    assert "Retry" in problem["detail"]
    closed = till.post("/receipt/close")
    assert (closed["status"], closed["payments"]) == ("closed", [])
    (sold,) = devices.sells()
    assert (sold["total"], sold["payments"]) == (0, {})
    assert till.document(closed["id"])["total"] == 0
