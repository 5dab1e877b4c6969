"""When the fiscal registrar (or its printer) cannot register a paid receipt: the receipt keeps its
payments, the cashier is told what to do, and Retry (``POST /receipt/close``) registers it once fixed,
exactly once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from osuite.devices.atol import AtolRegistrar
from osuite.pos import app as pos_app
from tests.pos.conftest import MILK, SUPERVISOR_PIN, WATER, Devices, Till


@pytest.fixture(autouse=True)
def no_mending(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The till's own background retries wait: these tests press Retry themselves."""
    monkeypatch.setattr(pos_app, "MEND_SECONDS", 3600.0)
    yield


def _paid_but_not_registered(till: Till, code: str, device_code: str) -> dict[str, object]:
    till.scan(MILK)
    problem = till.refused("POST", "/receipt/payments", 503, "device", payment_type="CASH", amount=10000)
    assert (problem["device"], problem["code"]) == ("registrar", device_code)
    receipt = till.receipt()
    assert receipt["status"] == code
    assert [(p["payment_type"], p["status"], p["amount"]) for p in receipt["payments"]] == [
        ("CASH", "approved", 8990)
    ]
    assert receipt["last_error"] == problem["detail"]
    assert receipt["fiscal"] is None
    return problem


@pytest.mark.parametrize(
    ("state", "code", "words"),
    [({"paper": False}, "paper_out", "out of paper"), ({"cover_open": True}, "cover_open", "cover is open")],
)
def test_a_printer_problem_keeps_the_receipt_open_until_retried(
    open_till: Till, devices: Devices, state: dict[str, bool], code: str, words: str
) -> None:
    till = open_till
    devices.printer.set_state(**state)
    problem = _paid_but_not_registered(till, "open", code)
    assert words in problem["detail"] and "Retry" in problem["detail"]
    assert devices.sells() == []
    again = till.refused("POST", "/receipt/close", 503, "device")  # not fixed yet
    assert again["code"] == code
    # paid: the goods stay as they are until the payment is taken back
    till.refused("POST", "/receipt/items", 409, "refused", code=WATER)

    devices.printer.set_state(paper=True, cover_open=False)
    closed = till.post("/receipt/close")
    assert (closed["status"], closed["change"], closed["last_error"]) == ("closed", 1010, None)
    assert closed["fiscal"]["fiscal_sign"]
    (sold,) = devices.sells()
    assert sold["total"] == 8990
    assert "Молоко" in devices.printer.wait_for_jobs(1)[-1].text
    assert [doc["id"] for doc in till.outbox("receipt")] == [closed["id"]]
    till.refused("POST", "/receipt/close", 409, "refused")


def test_a_registrar_fault_keeps_the_receipt_open_until_retried(open_till: Till, devices: Devices) -> None:
    till = open_till
    till.scan(MILK)
    card = till.pay("CARD", 5000)["payments"][0]
    devices.registrar.emulator.inject("internal", count=1000)
    problem = till.refused("POST", "/receipt/payments", 503, "device", payment_type="CASH")
    assert (problem["device"], problem["code"]) == ("registrar", "internal")
    receipt = till.receipt()
    assert (receipt["status"], receipt["paid"], receipt["due"]) == ("open", 8990, 0)
    devices.registrar.emulator.inject(None)
    closed = till.post("/receipt/close")
    assert closed["status"] == "closed"
    assert [p["rrn"] for p in closed["payments"] if p["payment_type"] == "CARD"] == [card["rrn"]]
    assert devices.sells()[0]["payments"] == {"electronically": 5000, "cash": 3990}
    assert len(devices.card.terminal.operations()) == 1  # the card was charged once, never voided


def test_registrar_down_leaves_the_receipt_fiscalizing_then_registered_once(
    open_till: Till, devices: Devices
) -> None:
    till = open_till
    till.scan(MILK)
    devices.stop_registrar()
    problem = till.refused("POST", "/receipt/payments", 503, "device", payment_type="CARD")
    assert (problem["device"], problem["code"]) == ("registrar", "unreachable")
    assert "does not answer" in problem["detail"]
    receipt = till.receipt()
    assert receipt["status"] == "fiscalizing"
    assert [p["status"] for p in receipt["payments"]] == ["approved"]

    # while the registrar may hold it, the receipt cannot change
    for method, path, body in (
        ("POST", "/receipt/items", {"code": WATER}),
        ("PUT", "/receipt/lines/1/quantity", {"quantity": "2"}),
        ("POST", "/receipt/lines/1/void", {"supervisor_pin": SUPERVISOR_PIN}),
        ("POST", "/receipt/discount", {"percent": "5", "supervisor_pin": SUPERVISOR_PIN}),
        ("POST", "/receipt/payments", {"payment_type": "CASH"}),
        ("DELETE", f"/receipt/payments/{receipt['payments'][0]['id']}", {}),
        ("POST", "/receipt/hold", {}),
        ("POST", "/receipt/cancel", {"supervisor_pin": SUPERVISOR_PIN}),
    ):
        answer = till.refused(method, path, 409, "refused", **body)
        assert "registrar" in answer["detail"], (path, answer)
    till.refused("POST", "/shift/close", 409, "refused")
    still = till.refused("POST", "/receipt/close", 503, "device")
    assert still["code"] == "unreachable"
    assert till.receipt() == receipt

    devices.start_registrar()
    closed = till.post("/receipt/close")
    assert closed["status"] == "closed" and closed["fiscal"]["fiscal_sign"]
    assert len(devices.sells()) == 1
    assert len(devices.card.terminal.operations()) == 1
    assert len(till.outbox("receipt")) == 1
    till.refused("POST", "/receipt/close", 409, "refused")
    assert len(devices.sells()) == 1


def test_an_answer_the_registrar_held_back_too_long_is_not_registered_twice(
    open_till: Till, devices: Devices
) -> None:
    till = open_till
    slow = AtolRegistrar(devices.registrar_url, timeout=0.3)
    till.pos.registrar.close()
    till.pos.registrar = slow
    till.scan(MILK)
    devices.registrar.emulator.inject("delay_answer", count=1, seconds=1.5)
    problem = till.refused("POST", "/receipt/payments", 503, "device", payment_type="CASH")
    assert problem["code"] == "unreachable"
    assert till.receipt()["status"] == "fiscalizing"
    (registered,) = devices.sells()  # the registrar has it; the till does not know yet

    closed = till.post("/receipt/close")
    assert closed["status"] == "closed"
    assert closed["fiscal"]["document_number"] == registered["number"]
    assert closed["fiscal"]["fiscal_sign"] == registered["sign"]
    assert len(devices.sells()) == 1


def test_a_lost_answer_is_read_back_from_the_registrar(open_till: Till, devices: Devices) -> None:
    open_till.scan(MILK)
    devices.registrar.emulator.inject("lose_answer", count=1)
    closed = open_till.pay("CASH")
    assert closed["status"] == "closed"
    assert len(devices.sells()) == 1


def test_a_return_whose_registration_failed_and_was_cancelled_gives_nothing_back(
    open_till: Till, devices: Devices
) -> None:
    till = open_till
    till.scan(MILK)
    sale = till.pay("CASH")
    till.post("/returns", original_receipt_id=sale["id"])
    till.post("/receipt/return-lines", original_line_no=1, quantity="1")
    devices.printer.set_state(paper=False)
    till.refused("POST", "/receipt/refund", 503, "device")
    stuck = till.receipt()
    assert (stuck["status"], stuck["paid"]) == ("open", 8990)
    till.post("/receipt/cancel", supervisor_pin=SUPERVISOR_PIN)
    devices.printer.set_state(paper=True)
    assert till.get("/shift")["drawer"] == 8990

    till.post("/returns", original_receipt_id=sale["id"])
    till.post("/receipt/return-lines", original_line_no=1, quantity="1")
    returned = till.post("/receipt/refund")
    assert (returned["status"], returned["total"]) == ("closed", 8990)
    assert [(p["payment_type"], p["amount"]) for p in returned["payments"]] == [("CASH", 8990)]
    assert till.get("/shift")["drawer"] == 0
    assert [d["type"] for d in devices.sells()] == ["sell", "sellReturn"]


def test_a_return_refunded_to_a_card_is_finished_not_undone(open_till: Till, devices: Devices) -> None:
    till = open_till
    till.scan(MILK)
    sale = till.pay("CARD")
    till.post("/returns", original_receipt_id=sale["id"])
    till.post("/receipt/return-lines", original_line_no=1, quantity="1")
    devices.printer.set_state(paper=False)
    till.refused("POST", "/receipt/refund", 503, "device")
    stuck = till.receipt()
    (refund,) = stuck["payments"]
    assert (refund["status"], refund["amount"]) == ("approved", 8990)
    problem = till.refused("DELETE", f"/receipt/payments/{refund['id']}", 409, "refused")
    assert "card" in problem["detail"]
    problem = till.refused("POST", "/receipt/cancel", 409, "refused", supervisor_pin=SUPERVISOR_PIN)
    assert "finish the return" in problem["detail"]
    assert till.receipt() == stuck
    devices.printer.set_state(paper=True)
    closed = till.post("/receipt/close")
    assert closed["status"] == "closed"
    assert [o.result.operation for o in devices.card.terminal.operations()] == ["pay", "refund"]
    assert [d["type"] for d in devices.sells()] == ["sell", "sellReturn"]
