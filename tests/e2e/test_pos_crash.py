"""The till killed with SIGKILL at 17 points of a shift, as real processes: while the registrar opens the
shift, right after items are added, after a voided line, with part of the receipt paid, while the card
terminal holds a payment, between the fiscal registrar registering a receipt and the till saving it (the
registrar emulator holds its answer back), right after a receipt closed, in the middle of a return and of
a cash operation, at random moments of a stream of sales, and while the registrar closes the shift.
After every restart: the open receipt is back with the same lines, no closed receipt is lost, no receipt
is registered twice, and the registrar's shift totals are the till's closed receipts; at the end the data
server holds every receipt once and the Z report.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.store import SUPERVISOR_PIN, Catalog, Problem, Store, Till, running_store
from tests.support.terminal import eventually

pytestmark = pytest.mark.e2e

PRODUCTS = 400  # a small sample store: the catalog is not what is tested here
HOLD = 8.0  # seconds the registrar or the card terminal holds an answer while the till is killed


def lines_of(receipt: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (line["line_no"], line["article"], line["quantity"], line["amount"], line["voided"])
        for line in receipt["lines"]
    ]


class Crashes:
    """Sells at the till, kills it, starts it again, and checks what survived."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.catalog = Catalog(PRODUCTS)
        self.till = store.till()
        self.closed: dict[str, int] = {}  # receipt id → total, as the till answered or kept
        self.cash_done: set[str] = set()
        self.scans = 0
        self.kills = 0

    def close(self) -> None:
        self.till.close()

    # --- selling

    def scan(self, till: Till | None = None, **extra: Any) -> dict[str, Any]:
        self.scans += 1
        return dict((till or self.till).scan(self.catalog.barcode(self.scans), **extra))

    def items(self, count: int) -> dict[str, Any]:
        receipt = self.scan(quantity="2")
        for _ in range(count - 1):
            receipt = self.scan()
        return receipt

    def closed_answer(self, receipt: dict[str, Any]) -> dict[str, Any]:
        assert receipt["status"] == "closed" and receipt["fiscal"], receipt
        self.closed[receipt["id"]] = receipt["total"]
        return receipt

    def pay_cash(self, till: Till | None = None) -> dict[str, Any]:
        till = till or self.till
        due = till.get("/receipt")["due"]
        return self.closed_answer(till.pay("cash", amount=math.ceil((due + 1) / 50_00) * 50_00))

    def another(self) -> Till:
        """A second connection to the till with the cashier's session, for a request that will hang."""
        other = Till(self.store.pos.url)
        other.http.headers["Authorization"] = self.till.http.headers["Authorization"]
        return other

    # --- killing

    def kill_and_restart(self, cut_off: threading.Thread | None = None) -> None:
        """SIGKILL, then start again; ``cut_off`` is a request the kill interrupts, waited for before the
        start so it cannot go on with the new process."""
        self.store.pos.kill()
        self.kills += 1
        if cut_off is not None:
            cut_off.join(30)
            assert not cut_off.is_alive()
        self.store.pos.start()  # healthy once reconciled with the devices
        self.till.close()
        token = self.till.http.headers["Authorization"]
        self.till = Till(self.store.pos.url)
        self.till.http.headers["Authorization"] = token  # the session survives a restart

    def check(self) -> dict[str, dict[str, Any]]:
        """What must hold after any restart; the till's closed receipts."""
        files, registrar = self.store.files, self.store.registrar
        assert not files.receipts("fiscalizing"), "a receipt stayed with the registrar after the restart"
        closed = files.receipts("closed")
        lost = set(self.closed) - set(closed)
        assert not lost, f"closed receipts lost: {lost}"
        assert {rid: closed[rid]["total"] for rid in self.closed} == self.closed
        registered = registrar.receipts()
        twice = {key: docs for key, docs in registered.items() if len(docs) != 1}
        assert not twice, f"registered twice: {twice}"
        assert set(registered) == set(closed), "the registrar and the till disagree on what was sold"
        for rid, (document,) in registered.items():
            receipt = closed[rid]
            assert receipt["fiscal"]["fiscal_sign"] == document["sign"]
            assert receipt["fiscal"]["document_number"] == document["number"]
            assert receipt["total"] == document["total"]
            assert receipt["kind"] == ("sale" if document["type"] == "sell" else "return")
        counters = registrar.state()["counters"]
        for kind, block in (("sale", "sell"), ("return", "sellReturn")):
            mine = [r["total"] for r in closed.values() if r["kind"] == kind]
            assert (counters[block]["count"], counters[block]["sum"]) == (len(mine), sum(mine)), kind
        ops = {k: v for k, v in files.cash_operations().items() if v["status"] == "done"}
        assert self.cash_done <= set(ops)
        assert set(registrar.cash_operations()) == set(ops)
        cash_in = [op["amount"] for op in ops.values() if op["kind"] == "in"]
        assert (counters["income"]["count"], counters["income"]["sum"]) == (len(cash_in), sum(cash_in))
        self.closed.update({rid: r["total"] for rid, r in closed.items()})
        self.cash_done |= set(ops)
        return closed

    def open_receipt(self) -> dict[str, Any] | None:
        receipt: dict[str, Any] | None = self.till.get("/receipt")
        return receipt

    def card_busy(self) -> bool:
        return bool(httpx.get(f"{self.store.card_url}/healthz", timeout=5).json()["busy"])

    def card_idle(self) -> None:
        eventually(lambda: not self.card_busy(), timeout=30, what="the card terminal to finish its operation")


def in_background(call: Callable[[], Any]) -> threading.Thread:
    """Run a request that the kill will cut off."""

    def run() -> None:
        with contextlib.suppress(httpx.HTTPError, Problem):
            call()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# --- the kill points -----------------------------------------------------------------------------------


def after_items(c: Crashes) -> dict[str, Any]:
    receipt = c.items(3)
    c.kill_and_restart()
    c.check()
    back = c.open_receipt()
    assert back is not None and back["id"] == receipt["id"] and back["status"] == "open"
    assert lines_of(back) == lines_of(receipt) and back["total"] == receipt["total"]
    assert back["payments"] == []
    return c.pay_cash()


def after_a_voided_line(c: Crashes) -> None:
    c.items(3)
    receipt = c.till.post("/receipt/lines/2/void", supervisor_pin=SUPERVISOR_PIN)
    c.kill_and_restart()
    c.check()
    back = c.open_receipt()
    assert back is not None and back["id"] == receipt["id"]
    assert lines_of(back) == lines_of(receipt) and back["lines"][1]["voided"]
    c.closed_answer(c.till.pay("card"))


def after_part_of_the_payment(c: Crashes) -> None:
    receipt = c.items(2)
    part = receipt["due"] // 3
    receipt = c.till.pay("cash", amount=part)
    c.kill_and_restart()
    c.check()
    back = c.open_receipt()
    assert back is not None and back["id"] == receipt["id"] and lines_of(back) == lines_of(receipt)
    assert [(p["method"], p["amount"], p["status"]) for p in back["payments"]] == [("cash", part, "approved")]
    assert back["due"] == receipt["due"]
    c.closed_answer(c.till.pay("card"))


def during_a_card_payment(c: Crashes, outcome: str) -> None:
    """The terminal holds the payment (the customer is at the PIN pad, or the bank's answer is on its way)
    when the till dies. ``approved``: the money moved; ``none``: the customer walked away."""
    receipt = c.items(2)
    c.store.card_mode(mode="timeout", count=1, timeout_outcome=outcome, hold_seconds=HOLD)
    other = c.another()
    thread = in_background(lambda: other.pay("card"))

    def authorizing() -> list[dict[str, Any]]:
        return [p for p in c.store.files.payments(receipt["id"]) if p["status"] == "authorizing"]

    (payment,) = eventually(authorizing, what="the card payment to be saved before the terminal is asked")
    if outcome == "approved":
        eventually(
            lambda: any(op["key"] == payment["id"] for op in c.store.card_operations()),
            what="the terminal to record the payment",
        )
    else:
        eventually(c.card_busy, what="the terminal to wait for the card")
    c.kill_and_restart(cut_off=thread)
    other.close()
    c.check()
    back = c.open_receipt()
    assert back is not None and back["id"] == receipt["id"] and lines_of(back) == lines_of(receipt)
    (card,) = [p for p in back["payments"] if p["id"] == payment["id"]]
    taken = [op for op in c.store.card_operations() if op["key"] == payment["id"]]
    if outcome == "approved":  # settled on start: the receipt is paid and closes on Retry
        assert card["status"] == "approved" and card["rrn"] == taken[0]["rrn"] and back["due"] == 0
        c.closed_answer(c.till.post("/receipt/close"))
    else:
        assert card["status"] == "declined" and taken == [] and back["due"] == receipt["due"]
        c.pay_cash()
    c.card_idle()


def between_the_registrar_and_the_commit(c: Crashes, pay: Callable[[Till], Any]) -> str:
    """The registrar registers and journals the receipt, then holds its answer; the till dies before it
    hears it. On start it asks the registrar and closes the receipt with the registrar's mark."""
    receipt = c.open_receipt()
    assert receipt is not None
    c.store.registrar.control(fault="delay_answer", count=1, seconds=HOLD)
    other = c.another()
    thread = in_background(lambda: pay(other))
    eventually(
        lambda: receipt["id"] in c.store.registrar.receipts(), what="the registrar to register the receipt"
    )
    assert receipt["id"] in c.store.files.receipts("fiscalizing")  # registered there, not closed here
    c.kill_and_restart(cut_off=thread)
    other.close()
    closed = c.check()  # the registrar's mark is the one the till closed it with
    assert receipt["id"] in closed and c.open_receipt() is None
    return str(receipt["id"])


def right_after_closing(c: Crashes) -> None:
    c.items(1)
    receipt = c.pay_cash()
    c.kill_and_restart()
    assert receipt["id"] in c.check()


def in_a_return(c: Crashes, sale: dict[str, Any]) -> None:
    c.till.post("/returns", original_receipt_id=sale["id"])
    line = sale["lines"][0]
    receipt = c.till.post("/receipt/return-lines", original_line_no=line["line_no"], quantity="1")
    c.kill_and_restart()
    c.check()
    back = c.open_receipt()
    assert back is not None and back["id"] == receipt["id"] and back["kind"] == "return"
    assert lines_of(back) == lines_of(receipt)
    refund = between_the_registrar_and_the_commit(c, lambda till: till.post("/receipt/refund"))
    assert c.store.files.receipts()[refund]["kind"] == "return"


def in_a_cash_operation(c: Crashes) -> None:
    c.store.registrar.control(fault="delay_answer", count=1, seconds=HOLD)
    other = c.another()
    thread = in_background(lambda: other.post("/shift/cash", kind="in", amount=500_00, reason="размен"))

    def pending() -> list[str]:
        return [k for k, v in c.store.files.cash_operations().items() if v["status"] == "fiscalizing"]

    (op_id,) = eventually(pending, what="the cash operation to be saved before the registrar is asked")
    eventually(lambda: op_id in c.store.registrar.cash_operations(), what="the registrar to register it")
    c.kill_and_restart(cut_off=thread)
    other.close()
    c.check()
    op = c.store.files.cash_operations()[op_id]
    assert op["status"] == "done" and op["fiscal"]["fiscal_sign"]


def registrar_documents(c: Crashes, kind: str) -> list[dict[str, Any]]:
    return [d for record in c.store.registrar.journal() for d in record["documents"] if d["type"] == kind]


def opening_the_shift(c: Crashes) -> dict[str, Any]:
    """The registrar opened its shift; the till died before saving its own: opening again takes the
    registrar's shift as it is."""
    c.store.registrar.control(fault="delay_answer", count=1, seconds=HOLD)
    other = c.another()
    thread = in_background(lambda: other.post("/shift/open"))
    eventually(lambda: c.store.registrar.state()["shift_open"], what="the registrar to open its shift")
    c.kill_and_restart(cut_off=thread)
    other.close()
    assert c.till.get("/shift") is None
    shift: dict[str, Any] = c.till.post("/shift/open")
    (opened,) = registrar_documents(c, "openShift")
    assert shift["fiscal_shift_number"] == opened["shift"]
    return shift


def closing_the_shift(c: Crashes) -> dict[str, Any]:
    """The registrar printed the Z report; the till died before saving it: on start it closes its shift
    too, and its Z report goes up."""
    c.store.registrar.control(fault="delay_answer", count=1, seconds=HOLD)
    other = c.another()
    thread = in_background(lambda: other.post("/shift/close"))
    eventually(lambda: not c.store.registrar.state()["shift_open"], what="the registrar to close its shift")
    c.kill_and_restart(cut_off=thread)
    other.close()
    assert c.till.get("/shift") is None
    (closing,) = registrar_documents(c, "closeShift")
    counters: dict[str, Any] = closing["counters"]
    return counters


def at_a_random_moment(c: Crashes, rng: random.Random) -> None:
    """A stream of cash sales cut off at a moment chosen by chance: whatever the till was doing."""
    stop = threading.Event()
    seen: list[dict[str, Any]] = []
    other = c.another()

    def sell() -> None:
        while not stop.is_set():
            seen.append(c.scan(other))
            seen.append(c.scan(other))
            seen.append(c.pay_cash(other))

    thread = in_background(sell)
    time.sleep(rng.uniform(0.2, 1.5))
    stop.set()
    c.kill_and_restart(cut_off=thread)
    other.close()
    closed = c.check()
    back = c.open_receipt()
    last = seen[-1] if seen else None
    if last is not None and last["status"] == "open":
        if back is not None and back["id"] == last["id"]:
            assert lines_of(back)[: len(last["lines"])] == lines_of(last)
        else:
            assert last["id"] in closed  # paid and closed as the till died
    if back is not None:
        c.closed_answer(c.till.post("/receipt/close") if back["due"] == 0 else c.pay_cash())


@pytest.mark.timeout(480)
def test_the_till_killed_at_many_points_loses_nothing_and_registers_nothing_twice(tmp_path: Path) -> None:
    with running_store(tmp_path, products=PRODUCTS) as store:
        store.wait_for_catalog(PRODUCTS)
        with contextlib.closing(Crashes(store)) as c:
            shift = opening_the_shift(c)
            c.till.post("/shift/cash", kind="in", amount=2_000_00, reason="размен")

            cash_sale = after_items(c)
            after_a_voided_line(c)
            after_part_of_the_payment(c)
            during_a_card_payment(c, "approved")
            during_a_card_payment(c, "none")
            c.items(2)
            between_the_registrar_and_the_commit(c, lambda till: till.pay("cash", amount=100_000_00))
            c.items(3)
            between_the_registrar_and_the_commit(c, lambda till: till.pay("card"))
            right_after_closing(c)
            in_a_return(c, cash_sale)
            in_a_cash_operation(c)
            rng = random.Random(20)
            for _ in range(4):
                at_a_random_moment(c, rng)
            closed = c.check()
            counters = closing_the_shift(c)
            assert c.kills == 17
            assert c.check() == closed

            # The registrar's Z report, the till's and the one the data server received agree.
            sales = [r["total"] for r in closed.values() if r["kind"] == "sale"]
            returns = [r["total"] for r in closed.values() if r["kind"] == "return"]
            assert (counters["sell"]["count"], counters["sell"]["sum"]) == (len(sales), sum(sales))
            assert (counters["sellReturn"]["count"], counters["sellReturn"]["sum"]) == (
                len(returns),
                sum(returns),
            )

            def all_arrived() -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
                receipts = store.dataserver_pages("/api/v1/receipts")
                z = store.dataserver_pages("/api/v1/z-reports")
                return (receipts, z[0]) if len(receipts) >= len(closed) and z else None

            theirs, z = eventually(
                all_arrived, timeout=90, what="every receipt and the Z report at the data server"
            )
            assert z["shift_id"] == shift["id"]
            assert (z["totals"]["sales_count"], z["totals"]["sales_sum"]) == (len(sales), sum(sales))
            assert (z["totals"]["returns_count"], z["totals"]["returns_sum"]) == (len(returns), sum(returns))
            assert (z["totals"]["cash_in"], counters["income"]["sum"]) == (
                counters["income"]["sum"],
                2_500_00,
            )
            ids = [r["id"] for r in theirs]
            assert len(ids) == len(set(ids)) and set(ids) == set(closed)
            assert {r["id"]: r["total"] for r in theirs} == {rid: r["total"] for rid, r in closed.items()}
            assert all(r["shift_id"] == shift["id"] for r in theirs)
