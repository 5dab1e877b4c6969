"""The shift through the API: opened on the registrar and here, X reports whose totals agree with the
registrar's, cash in and out, the Z report that closes it with its documents queued, and the 24-hour
limit."""

from __future__ import annotations

from typing import Any

from tests.pos.conftest import MILK, SUPERVISOR_PIN, WATER, WINE, Devices, Till, move_clocks

COMPARED = (
    "sales_count",
    "sales_sum",
    "returns_count",
    "returns_sum",
    "cash_in",
    "cash_out",
    "cash_in_drawer",
)


def _agree(report: dict[str, Any]) -> dict[str, int]:
    till = {k: report["till"][k] for k in COMPARED}
    assert till == {k: report["registrar"][k] for k in COMPARED}
    return till


def _a_day(till: Till) -> dict[str, str]:
    """Two sales (cash with change, card), cash in and out, a return of the cash sale's milk."""
    till.post("/shift/cash", kind="in", amount=50000, reason="размен")
    till.scan(MILK)
    cash_sale = till.pay("CASH", 10000)
    till.scan(WATER)
    card_sale = till.pay("CARD")
    till.post("/shift/cash", kind="out", amount=20000, supervisor_pin=SUPERVISOR_PIN)
    ret = till.post("/returns", original_receipt_id=cash_sale["id"])
    till.post("/receipt/return-lines", original_line_no=1, quantity="1")
    returned = till.post("/receipt/refund")
    assert returned["status"] == "closed"
    return {"cash_sale": cash_sale["id"], "card_sale": card_sale["id"], "return": ret["id"]}


def test_a_sale_needs_an_open_shift(till: Till) -> None:
    assert till.get("/shift") is None
    problem = till.refused("POST", "/receipt/items", 409, "refused", code=MILK)
    assert "open a shift" in problem["detail"]
    assert till.receipt() is None


def test_opening_a_shift(till: Till, devices: Devices) -> None:
    shift = till.post("/shift/open")
    assert (shift["number"], shift["fiscal_shift_number"], shift["expired"], shift["drawer"]) == (
        1,
        1,
        False,
        0,
    )
    assert till.get("/shift") == shift
    assert devices.registrar.emulator.snapshot()["shift_open"] is True
    (document,) = till.outbox("shift")
    assert document["id"] == shift["id"]
    assert (document["payload"]["number"], document["payload"]["cashier_id"]) == (1, "anna")
    problem = till.refused("POST", "/shift/open", 409, "refused")
    assert "already open" in problem["detail"]
    assert len(till.outbox("shift")) == 1


def test_x_report_totals_agree_with_the_registrar(open_till: Till, devices: Devices) -> None:
    _a_day(open_till)
    report = open_till.post("/shift/x-report")
    assert _agree(report) == {
        "sales_count": 2,
        "sales_sum": 8990 + 4500,
        "returns_count": 1,
        "returns_sum": 8990,
        "cash_in": 50000,
        "cash_out": 20000,
        "cash_in_drawer": 50000 + 8990 - 20000 - 8990,
    }
    assert {p["payment_type"]: (p["sales"], p["returns"]) for p in report["till"]["by_payment_type"]} == {
        "CASH": (8990, 8990),
        "CARD": (4500, 0),
    }
    assert open_till.get("/shift")["drawer"] == 30000
    assert open_till.get("/shift")["number"] == 1  # the shift stays open


def test_cash_in_and_out(open_till: Till, devices: Devices) -> None:
    till = open_till
    cash_in = till.post("/shift/cash", kind="in", amount=100000, reason="размен")
    assert (cash_in["kind"], cash_in["amount"], cash_in["status"]) == ("in", 100000, "done")
    documents = len(devices.registrar.emulator.documents)
    problem = till.refused(
        "POST", "/shift/cash", 409, "refused", kind="out", amount=100001, supervisor_pin=SUPERVISOR_PIN
    )
    assert "1000.00" in problem["detail"] and "1000.01" in problem["detail"]
    for bad in ({"amount": 0}, {"amount": -5}, {"amount": 10.5}, {"amount": "100"}, {"kind": "sideways"}):
        till.call("POST", "/shift/cash", 422, **{"kind": "in", "amount": 100, **bad})
    assert till.get("/shift")["drawer"] == 100000
    assert len(devices.registrar.emulator.documents) == documents
    out = till.post("/shift/cash", kind="out", amount=100000, supervisor_pin=SUPERVISOR_PIN)
    assert out["status"] == "done"
    assert till.get("/shift")["drawer"] == 0
    assert devices.registrar.emulator.snapshot()["cash_in_drawer"] == 0
    assert [d["payload"]["kind"] for d in till.outbox("cash_operation")] == ["in", "out"]
    assert till.outbox("cash_operation")[0]["payload"]["reason"] == "размен"


def test_z_report_closes_the_shift_and_queues_its_documents(open_till: Till, devices: Devices) -> None:
    till = open_till
    ids = _a_day(till)
    till.scan(WINE, age_confirmed=True)
    problem = till.refused("POST", "/shift/close", 409, "refused")
    assert "A receipt is open" in problem["detail"]
    till.post("/receipt/hold")  # a held receipt waits for the next shift

    z = till.post("/shift/close")
    assert z["shift"]["closed_at"]
    till_totals = {k: z["till"][k] for k in COMPARED}
    assert till_totals == {k: z["registrar"][k] for k in COMPARED}
    assert till_totals["sales_sum"] == 13490
    assert till.get("/shift") is None
    assert devices.registrar.emulator.snapshot()["shift_open"] is False

    kinds = [doc["kind"] for doc in till.outbox()]
    assert kinds.count("shift") == 1 and kinds.count("z_report") == 1
    assert kinds.count("cash_operation") == 2
    receipts = {doc["id"] for doc in till.outbox("receipt")}
    assert receipts == {ids["cash_sale"], ids["card_sale"], ids["return"]}
    (z_doc,) = till.outbox("z_report")
    assert z_doc["payload"]["shift_id"] == z["shift"]["id"]
    assert z_doc["payload"]["totals"]["sales_sum"] == 13490
    assert z_doc["payload"]["totals"]["returns_sum"] == 8990

    problem = till.refused("POST", "/receipt/items", 409, "refused", code=MILK)
    assert "open a shift" in problem["detail"]
    till.refused("POST", "/shift/close", 409, "refused")
    till.refused("POST", "/shift/x-report", 409, "refused")

    shift = till.post("/shift/open")
    assert (shift["number"], shift["fiscal_shift_number"]) == (2, 2)
    (held,) = till.get("/receipts/held")
    resumed = till.post(f"/receipts/{held['id']}/resume")
    assert resumed["shift_id"] == shift["id"]
    assert till.pay("CASH")["status"] == "closed"


def test_a_shift_open_for_24_hours_refuses_sales_but_closes(open_till: Till, devices: Devices) -> None:
    till = open_till
    till.scan(MILK)
    till.pay("CASH")
    move_clocks(till, devices, 24.5)
    assert till.get("/shift")["expired"] is True
    problem = till.refused("POST", "/receipt/items", 409, "refused", code=WATER)
    assert "24 hours" in problem["detail"] and "Z report" in problem["detail"]
    assert till.receipt() is None
    till.refused("POST", "/returns", 409, "refused", supervisor_pin=SUPERVISOR_PIN)

    report = till.post("/shift/x-report")
    assert _agree(report)["sales_sum"] == 8990
    z = till.post("/shift/close")
    assert z["till"]["sales_sum"] == z["registrar"]["sales_sum"] == 8990
    till.post("/shift/open")
    assert till.scan(WATER)["total"] == 4500
    assert till.pay("CASH")["status"] == "closed"


def test_a_receipt_open_when_the_shift_runs_out_is_held_and_sold_in_the_next(
    open_till: Till, devices: Devices
) -> None:
    till = open_till
    till.scan(MILK)
    move_clocks(till, devices, 24.5)
    problem = till.refused("POST", "/receipt/payments", 409, "refused", payment_type="CASH")
    assert "24 hours" in problem["detail"]
    problem = till.refused("POST", "/shift/close", 409, "refused")
    assert "hold" in problem["detail"]
    held = till.post("/receipt/hold")
    till.post("/shift/close")
    till.post("/shift/open")
    till.post(f"/receipts/{held['id']}/resume")
    closed = till.pay("CASH")
    assert closed["status"] == "closed"
    assert devices.sells()[-1]["shift"] == 2


def test_cash_left_in_the_drawer_at_the_z_report_is_there_in_the_next_shift(
    open_till: Till, devices: Devices
) -> None:
    till = open_till
    till.post("/shift/cash", kind="in", amount=30000)
    till.scan(MILK)
    till.pay("CASH", 10000)
    z = till.post("/shift/close")
    assert z["till"]["cash_in_drawer"] == z["registrar"]["cash_in_drawer"] == 38990

    till.post("/shift/open")
    assert till.get("/shift")["drawer"] == 38990
    till.scan(WATER)
    till.pay("CASH")
    report = till.post("/shift/x-report")
    assert _agree(report)["cash_in_drawer"] == 38990 + 4500
    assert (report["till"]["sales_sum"], report["till"]["cash_in"]) == (4500, 0)  # this shift's own
    out = till.post("/shift/cash", kind="out", amount=43490, supervisor_pin=SUPERVISOR_PIN)
    assert out["status"] == "done"
    assert till.get("/shift")["drawer"] == 0
    assert devices.registrar.emulator.snapshot()["cash_in_drawer"] == 0
