"""Putting a receipt aside and bringing it back, and cancelling a receipt (open or held): card payments
already approved are voided at the terminal first."""

from __future__ import annotations

from fastapi.testclient import TestClient

from osuite.pos.settings import PosSettings
from tests.pos.conftest import MILK, SUPERVISOR_PIN, WATER, WINE, Devices, Till, promotion


def _card_operations(devices: Devices) -> list[tuple[str, int, bool]]:
    return [
        (o.result.operation, o.result.amount, o.result.approved) for o in devices.card.terminal.operations()
    ]


def test_hold_serve_the_next_customer_then_resume(open_till: Till, devices: Devices) -> None:
    till = open_till
    till.scan(MILK)
    held = till.post("/receipt/hold")
    assert (held["status"], held["total"]) == ("held", 8990)
    assert till.receipt() is None
    assert [r["id"] for r in till.get("/receipts/held")] == [held["id"]]
    assert till.get("/status")["held"] == 1

    other = till.scan(WATER)
    assert other["id"] != held["id"] and other["total"] == 4500
    before = till.receipt()
    problem = till.refused("POST", f"/receipts/{held['id']}/resume", 409, "refused")
    assert "Another receipt is open" in problem["detail"]
    assert till.receipt() == before
    till.pay("CASH")

    resumed = till.post(f"/receipts/{held['id']}/resume")
    assert (resumed["id"], resumed["status"], resumed["total"]) == (held["id"], "open", 8990)
    assert till.get("/receipts/held") == []
    closed = till.scan(MILK)
    assert closed["total"] == 2 * 8990
    done = till.pay("CASH")
    assert done["status"] == "closed"
    assert [s["total"] for s in devices.sells()] == [4500, 2 * 8990]
    assert till.document(held["id"])["total"] == 2 * 8990


def test_a_held_receipt_is_priced_again_when_resumed(open_till: Till) -> None:
    open_till.scan(MILK)
    held = open_till.post("/receipt/hold")
    open_till.add_promotions(promotion("p-milk", "percent_off", product_ids=["milk"], percent="20"))
    resumed = open_till.post(f"/receipts/{held['id']}/resume")
    assert (resumed["lines"][0]["discount"], resumed["total"]) == (1798, 7192)


def test_a_held_receipt_survives_a_restart_of_the_till(pos_settings: PosSettings, devices: Devices) -> None:
    from osuite.pos.app import build_app

    with TestClient(build_app(pos_settings)) as client:
        till = Till(client).login()
        till.post("/shift/open")
        till.scan(WATER, quantity="2")
        held = till.post("/receipt/hold")
    with TestClient(build_app(pos_settings)) as client:
        till = Till(client).login()
        resumed = till.post(f"/receipts/{held['id']}/resume")
        assert (resumed["status"], resumed["total"]) == ("open", 9000)
        assert till.pay("CASH")["status"] == "closed"


def test_what_cannot_be_held_or_resumed(open_till: Till, devices: Devices) -> None:
    till = open_till
    problem = till.refused("POST", "/receipt/hold", 409, "refused")
    assert "no open receipt" in problem["detail"]
    till.scan(MILK)
    till.post("/receipt/lines/1/void", supervisor_pin=SUPERVISOR_PIN)
    problem = till.refused("POST", "/receipt/hold", 409, "refused")
    assert "empty" in problem["detail"]
    till.scan(WINE, age_confirmed=True)
    till.pay("CARD", 10000)
    before = till.receipt()
    problem = till.refused("POST", "/receipt/hold", 409, "refused")
    assert "payments" in problem["detail"]
    assert till.receipt() == before
    till.refused("POST", "/receipts/no-such/resume", 404, "not_found")
    problem = till.refused("POST", f"/receipts/{before['id']}/resume", 409, "refused")
    assert "this one is open" in problem["detail"]
    assert till.receipt() == before


def test_a_receipt_whose_card_was_declined_can_be_held(open_till: Till, devices: Devices) -> None:
    open_till.scan(MILK)
    devices.card.terminal.set_mode("decline", count=1)
    open_till.refused("POST", "/receipt/payments", 503, "device", payment_type="CARD")
    held = open_till.post("/receipt/hold")
    assert held["status"] == "held"
    resumed = open_till.post(f"/receipts/{held['id']}/resume")
    assert open_till.pay("CARD")["status"] == "closed"
    assert resumed["due"] == 8990


def test_cancelling_an_open_receipt_voids_its_card_payments(open_till: Till, devices: Devices) -> None:
    till = open_till
    till.scan(WINE, age_confirmed=True)
    card = till.pay("CARD", 30000)["payments"][0]
    till.pay("CASH", 10000)
    cancelled = till.post("/receipt/cancel", supervisor_pin=SUPERVISOR_PIN)
    assert cancelled["status"] == "cancelled" and cancelled["closed_at"]
    assert [p["status"] for p in cancelled["payments"]] == ["cancelled", "cancelled"]
    assert (cancelled["paid"], till.get("/shift")["drawer"]) == (0, 0)
    assert _card_operations(devices) == [("pay", 30000, True), ("cancel", 30000, True)]
    (void,) = [o for o in devices.card.terminal.operations() if o.result.operation == "cancel"]
    assert void.original_rrn == card["rrn"]
    assert till.receipt() is None
    assert devices.sells() == []
    assert till.outbox("receipt") == []
    problem = till.refused("POST", f"/receipts/{cancelled['id']}/resume", 409, "refused")
    assert "held" in problem["detail"]


def test_a_receipt_whose_card_cannot_be_voided_stays_as_it_was(open_till: Till, devices: Devices) -> None:
    till = open_till
    till.scan(WINE, age_confirmed=True)
    till.pay("CARD", 30000)
    before = till.receipt()
    devices.card.terminal.set_mode("decline", count=1)
    problem = till.refused("POST", "/receipt/cancel", 503, "device", supervisor_pin=SUPERVISOR_PIN)
    assert problem["device"] == "card"
    assert till.receipt() == before
    assert till.audit("cancel_receipt") == []


def test_a_held_receipt_can_be_cancelled(open_till: Till) -> None:
    till = open_till
    till.scan(MILK)
    held = till.post("/receipt/hold")
    till.scan(WATER)  # another customer meanwhile
    problem = till.refused("POST", f"/receipts/{held['id']}/cancel", 403, "needs_approval")
    assert problem["permission"] == "cancel_receipt"
    assert [r["id"] for r in till.get("/receipts/held")] == [held["id"]]
    cancelled = till.post(f"/receipts/{held['id']}/cancel", supervisor_pin=SUPERVISOR_PIN)
    assert cancelled["status"] == "cancelled"
    assert cancelled["approvals"][0]["approved_by"] == "olga"
    assert till.get("/receipts/held") == []
    assert till.receipt()["total"] == 4500  # the other customer's receipt is untouched
    closed = till.pay("CASH")
    problem = till.refused("POST", f"/receipts/{closed['id']}/cancel", 409, "refused", supervisor_pin="9999")
    assert "open or held" in problem["detail"]
    assert till.get(f"/sales/{closed['id']}")["status"] == "closed"
