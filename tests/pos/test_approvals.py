"""Restricted actions: a cashier without the permission is asked for a supervisor's PIN; the supervisor's
approval goes on the receipt (and up with its document); a wrong PIN changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pos.conftest import MILK, NOVICE_PIN, SUPERVISOR_PIN, WATER, Devices, Till


def _needs_approval(till: Till, method: str, path: str, permission: str, **body: Any) -> None:
    before = till.receipt()
    problem = till.refused(method, path, 403, "needs_approval", **body)
    assert problem["permission"] == permission
    assert "supervisor" in problem["detail"]
    assert till.receipt() == before


def _wrong_pin(till: Till, method: str, path: str, **body: Any) -> None:
    before = till.receipt()
    problem = till.refused(method, path, 422, "invalid", supervisor_pin="0000", **body)
    assert "supervisor PIN" in problem["detail"]
    assert till.receipt() == before


def _approved_by_olga(approval: dict[str, Any], action: str, permission: str) -> None:
    assert approval["action"] == action
    assert approval["permission"] == permission
    assert approval["approved_by"] == "olga"
    assert approval["at"]


@pytest.fixture
def two_lines(open_till: Till) -> Till:
    open_till.scan(MILK)
    open_till.scan(WATER)
    return open_till


def test_voiding_a_line_needs_a_supervisor_and_goes_up_with_the_receipt(two_lines: Till) -> None:
    till = two_lines
    _needs_approval(till, "POST", "/receipt/lines/1/void", "void_line")
    _wrong_pin(till, "POST", "/receipt/lines/1/void")
    # a colleague without the permission cannot approve it either
    problem = till.refused("POST", "/receipt/lines/1/void", 403, "needs_approval", supervisor_pin=NOVICE_PIN)
    assert problem["permission"] == "void_line"
    assert "Иван П. may not approve" in problem["detail"]
    assert till.receipt()["approvals"] == []

    receipt = till.post("/receipt/lines/1/void", supervisor_pin=SUPERVISOR_PIN)
    assert [line["voided"] for line in receipt["lines"]] == [True, False]
    assert receipt["total"] == 4500
    (approval,) = receipt["approvals"]
    _approved_by_olga(approval, "void_line", "void_line")
    assert approval["line_no"] == 1

    closed = till.pay("CASH", 5000)
    assert closed["status"] == "closed"
    document = till.document(closed["id"])
    assert [a["action"] for a in document["approvals"]] == ["void_line"]
    assert document["approvals"][0]["approved_by"] == "olga"
    assert [line["name"] for line in document["lines"]] == ["Вода 0,5 л"]
    assert document["total"] == 4500
    (audit,) = till.audit("void_line")
    assert (audit["user_id"], audit["approved_by"]) == ("anna", "olga")


def test_lowering_a_quantity_needs_a_supervisor_raising_it_does_not(two_lines: Till) -> None:
    till = two_lines
    raised = till.call("PUT", "/receipt/lines/1/quantity", quantity="3")
    assert raised["lines"][0]["quantity"] == "3.000"
    assert raised["total"] == 3 * 8990 + 4500
    assert raised["approvals"] == []

    _needs_approval(till, "PUT", "/receipt/lines/1/quantity", "void_line", quantity="2")
    _wrong_pin(till, "PUT", "/receipt/lines/1/quantity", quantity="2")
    lowered = till.call("PUT", "/receipt/lines/1/quantity", quantity="2", supervisor_pin=SUPERVISOR_PIN)
    assert lowered["lines"][0]["quantity"] == "2.000"
    assert lowered["total"] == 2 * 8990 + 4500
    (approval,) = lowered["approvals"]
    _approved_by_olga(approval, "set_quantity", "void_line")
    assert approval["line_no"] == 1

    closed = till.pay("CASH")
    assert till.document(closed["id"])["approvals"][0]["action"] == "set_quantity"


def test_a_manual_discount_needs_a_supervisor(two_lines: Till) -> None:
    till = two_lines
    _needs_approval(till, "POST", "/receipt/discount", "discount", percent="10", line_no=1)
    _wrong_pin(till, "POST", "/receipt/discount", percent="10", line_no=1)
    receipt = till.post("/receipt/discount", percent="10", line_no=1, supervisor_pin=SUPERVISOR_PIN)
    assert receipt["lines"][0]["discount"] == 899
    assert receipt["total"] == 8990 - 899 + 4500
    (approval,) = receipt["approvals"]
    _approved_by_olga(approval, "discount", "discount")

    closed = till.pay("CASH")
    document = till.document(closed["id"])
    assert document["approvals"][0]["action"] == "discount"
    assert document["discount_total"] == 899
    assert document["lines"][0]["discounts"] == [{"source": "manual", "amount": 899}]


def test_cancelling_a_receipt_needs_a_supervisor(two_lines: Till) -> None:
    till = two_lines
    _needs_approval(till, "POST", "/receipt/cancel", "cancel_receipt")
    _wrong_pin(till, "POST", "/receipt/cancel")
    cancelled = till.post("/receipt/cancel", supervisor_pin=SUPERVISOR_PIN)
    assert cancelled["status"] == "cancelled"
    (approval,) = cancelled["approvals"]
    _approved_by_olga(approval, "cancel_receipt", "cancel_receipt")
    assert till.receipt() is None
    (audit,) = till.audit("cancel_receipt")
    assert audit["approved_by"] == "olga"
    assert till.outbox("receipt") == []  # a cancelled receipt was never sold


def test_a_return_without_a_receipt_needs_a_supervisor(open_till: Till) -> None:
    till = open_till
    till.post("/shift/cash", kind="in", amount=100000)
    _needs_approval(till, "POST", "/returns", "return_without_receipt")
    _wrong_pin(till, "POST", "/returns")
    assert till.receipt() is None

    started = till.post("/returns", supervisor_pin=SUPERVISOR_PIN)
    assert started["kind"] == "return" and started["original_receipt_id"] is None
    (approval,) = started["approvals"]
    _approved_by_olga(approval, "return_without_receipt", "return_without_receipt")
    till.scan(MILK)
    closed = till.pay("CASH")
    assert closed["status"] == "closed" and closed["total"] == 8990
    document = till.document(closed["id"])
    assert document["kind"] == "return"
    assert document["approvals"][0]["action"] == "return_without_receipt"


def test_taking_cash_out_needs_a_supervisor(open_till: Till) -> None:
    till = open_till
    till.post("/shift/cash", kind="in", amount=50000)
    problem = till.refused("POST", "/shift/cash", 403, "needs_approval", kind="out", amount=20000)
    assert problem["permission"] == "cash_out"
    till.refused("POST", "/shift/cash", 422, "invalid", kind="out", amount=20000, supervisor_pin="0000")
    assert till.get("/shift")["drawer"] == 50000

    done = till.post("/shift/cash", kind="out", amount=20000, supervisor_pin=SUPERVISOR_PIN)
    assert done["status"] == "done"
    assert till.get("/shift")["drawer"] == 30000
    document = till.document(done["id"])
    assert (document["kind"], document["amount"], document["approved_by"]) == ("out", 20000, "olga")
    assert document["fiscal"]["fiscal_sign"]


def test_a_cashier_holding_the_permission_needs_no_one(two_lines: Till) -> None:
    till = two_lines
    till.login(SUPERVISOR_PIN)
    receipt = till.post("/receipt/lines/2/void")
    assert receipt["approvals"] == []
    assert receipt["total"] == 8990


def test_opening_the_drawer_without_a_sale_needs_the_permission_and_is_recorded(
    till: Till, devices: Devices
) -> None:
    refused = till.refused("POST", "/drawer/open", 403, "needs_approval")
    assert refused["permission"] == "open_drawer"
    before = len(devices.printer.jobs)
    assert _drawer_kicks(devices) == 0
    till.post("/drawer/open", 204, supervisor_pin=SUPERVISOR_PIN)
    devices.printer.wait_for_jobs(before + 1)
    assert _drawer_kicks(devices) == 1
    (opened,) = till.audit("open_drawer")
    assert opened["approved_by"] == "olga"


def _drawer_kicks(devices: Devices) -> int:
    return sum(job.parsed.drawer_kicks for job in devices.printer.jobs)
