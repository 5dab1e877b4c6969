"""A day at one till, every program a real process: the data server with the sample store, the fiscal
registrar printing on a receipt printer, a card terminal, and the POS enrolled with a one-time code.

The till receives the catalog and sells all day (scans, cash with change, cards, weighed goods, returns,
cash in and out); the data server is stopped for the middle of the day and the till sells on, showing
itself offline with documents waiting. Once the data server is back, every receipt arrives exactly once
(the same ids and totals on both sides), with the shift, the cash operations and the Z report. The
administrator locks and unlocks the till and closes its shift from the data server, and each command's
result comes back.
"""

from __future__ import annotations

import contextlib
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from osuite.core.db import Database
from osuite.pos import tables as t
from tests.support.store import SUPERVISOR_PIN, Catalog, Problem, Store, Till, running_store
from tests.support.terminal import eventually

pytestmark = pytest.mark.e2e


class Day:
    """The cashier's day: what was sold, as the till answered it."""

    def __init__(self, store: Store, till: Till) -> None:
        self.store = store
        self.till = till
        self.catalog = Catalog()
        self.closed: dict[str, dict[str, Any]] = {}
        self.scans = 0

    def _scan(self, **extra: Any) -> dict[str, Any]:
        self.scans += 1
        return dict(self.till.scan(self.catalog.barcode(self.scans), **extra))

    def _closed(self, receipt: dict[str, Any]) -> dict[str, Any]:
        assert receipt["status"] == "closed", receipt
        assert receipt["fiscal"] and receipt["fiscal"]["fiscal_sign"], receipt
        assert receipt["id"] not in self.closed
        self.closed[receipt["id"]] = receipt
        return receipt

    def cash_sale(self, items: int = 2) -> dict[str, Any]:
        """Scans, then a banknote that covers the total: the change is what is left over."""
        for _ in range(items):
            receipt = self._scan()
        due = receipt["due"]
        tendered = math.ceil((due + 1) / 100_00) * 100_00  # the next round hundred rubles
        receipt = self._closed(self.till.pay("cash", amount=tendered))
        assert receipt["change"] == tendered - due
        assert receipt["payments"][0]["tendered"] == tendered
        return receipt

    def card_sale(self, items: int = 1) -> dict[str, Any]:
        self._scan(quantity="2")
        for _ in range(items - 1):
            self._scan()
        receipt = self._closed(self.till.pay("card"))
        assert receipt["payments"][0]["rrn"] and receipt["change"] == 0
        return receipt

    def weighed_and_split(self) -> dict[str, Any]:
        """Apples by weight typed in, a scan, half by card and the rest in cash."""
        product = self.catalog.weighted[self.scans % len(self.catalog.weighted)]
        self.till.post("/receipt/items", article=product.article, quantity="0.755")
        receipt = self._scan()
        part = receipt["due"] // 2
        receipt = self.till.pay("card", amount=part)
        assert receipt["status"] == "open" and receipt["due"] > 0
        return self._closed(self.till.pay("cash"))

    def sell(self, n: int) -> dict[str, Any]:
        kind = n % 4
        if kind == 0:
            return self.cash_sale(items=3)
        if kind == 1:
            return self.card_sale(items=2)
        if kind == 2:
            return self.cash_sale(items=1)
        return self.weighed_and_split()

    def return_line(self, sale: dict[str, Any]) -> dict[str, Any]:
        """Line 1 of a sale comes back, refunded the way it was paid."""
        self.till.post("/returns", original_receipt_id=sale["id"])
        line = sale["lines"][0]
        self.till.post("/receipt/return-lines", original_line_no=line["line_no"], quantity=line["quantity"])
        refund = self._closed(self.till.post("/receipt/refund"))
        assert refund["kind"] == "return" and refund["original_receipt_id"] == sale["id"]
        assert refund["total"] == line["amount"]
        return refund


def till_documents(store: Store) -> dict[str, Any]:
    """What the till's own database holds: its closed receipts, cash operations and shifts."""
    db = Database(store.files.database_url)
    try:
        with db.read() as conn:
            ops = {
                r["id"]: (r["kind"], r["amount"])
                for r in conn.execute(select(t.cash_operations).where(t.cash_operations.c.status == "done"))
                .mappings()
                .all()
            }
            shifts = [dict(r) for r in conn.execute(select(t.shifts)).mappings().all()]
    finally:
        db.dispose()
    return {"receipts": store.files.receipts(), "cash": ops, "shifts": shifts}


def command(store: Store, name: str, **args: Any) -> dict[str, Any]:
    """Queue a command for the till at the data server and wait for its result to come back."""
    sent = store.admin.request(
        "POST", f"/api/v1/clients/{store.client_id}/commands", json={"command": name, "args": args}
    )

    def finished() -> dict[str, Any] | None:
        history = store.admin.request("GET", f"/api/v1/clients/{store.client_id}/commands")
        (mine,) = [c for c in history if c["id"] == sent["id"]]
        return mine if mine["status"] in ("done", "failed") else None

    result: dict[str, Any] = eventually(finished, timeout=60, what=f"the till to report on {name}")
    assert result["status"] == "done", result
    return result


@pytest.mark.timeout(420)
def test_a_day_of_selling_with_the_data_server_down_half_the_day(tmp_path: Path) -> None:
    with running_store(tmp_path) as store, contextlib.ExitStack() as stack:
        store.wait_for_catalog()
        till = store.till()
        stack.callback(till.close)
        day = Day(store, till)
        payment_types = {p["code"]: p["method"] for p in till.get("/payment-types")}
        assert payment_types == {"cash": "cash", "card": "card"}

        shift = till.post("/shift/open")
        till.post("/shift/cash", kind="in", amount=3_000_00, reason="размен на утро")

        # Morning, online: every receipt goes up as it closes.
        morning = [day.sell(n) for n in range(10)]
        eventually(lambda: till.status()["link"]["documents_waiting"] == 0, what="the morning to go up")
        assert till.status()["link"]["online"]

        # The data server's client list shows the till as its heartbeats describe it.
        def heard() -> dict[str, Any] | None:
            me = store.client()
            fresh = me["online"] and me["shift"] and me["shift"]["number"] == shift["number"]
            return me if fresh and me["queue_length"] == 0 and me["sync_cursor"] else None

        before = eventually(heard, what="a heartbeat with the open shift and an empty queue")
        assert before["shift_open"] and before["devices"]["registrar"]["status"] == "ok"
        assert before["devices"]["card_terminal"]["status"] == "ok"

        # Midday: the data server stops. The till sells on, and says it is offline.
        store.dataserver.stop()
        eventually(lambda: not till.status()["link"]["online"], what="the till to notice the link is down")
        offline = [day.sell(n) for n in range(10, 24)]
        offline.append(day.return_line(morning[1]))  # paid by card: refunded to the card
        offline.append(day.return_line(morning[0]))  # paid in cash: cash back from the drawer
        with pytest.raises(Problem) as refused:
            till.post("/shift/cash", kind="out", amount=1_000_00, reason="инкассация")
        assert refused.value.body["type"] == "needs_approval"
        till.post(
            "/shift/cash", kind="out", amount=1_000_00, reason="инкассация", supervisor_pin=SUPERVISOR_PIN
        )
        link = till.status()["link"]
        assert not link["online"] and link["errors"]
        assert link["documents_waiting"] == len(offline) + 1  # the receipts, returns and the cash out
        waiting = link["documents_waiting"]

        # The data server is back: the waiting documents go up, and the heartbeat says so.
        store.dataserver.start()
        queue_lengths: list[int] = []

        def caught_up() -> bool:
            me = store.client()
            queue_lengths.append(me["queue_length"])
            return bool(till.status()["link"]["documents_waiting"] == 0 and me["queue_length"] == 0)

        eventually(caught_up, timeout=90, what="the documents of the offline afternoon to go up")
        assert all(0 <= q <= waiting for q in queue_lengths)
        eventually(lambda: till.status()["link"]["online"], timeout=15, what="the till to show online again")

        # Evening, online again.
        evening = [day.sell(n) for n in range(24, 30)]

        # The administrator locks the till from the data server: it refuses to sell until unlocked.
        locked = command(store, "lock", reason="ревизия")
        assert "locked" in (locked["result"] or "")
        status = till.status()
        assert status["terminal"]["locked"] and status["terminal"]["lock_reason"] == "ревизия"
        with pytest.raises(Problem) as refused:
            till.scan(day.catalog.barcode(1))
        assert "locked" in refused.value.body["detail"]
        command(store, "unlock")
        assert not till.status()["terminal"]["locked"]
        evening.append(day.sell(30))

        # ...and closes the shift with a Z report.
        closing = command(store, "close_shift")
        report = orjson.loads(closing["result"])
        assert till.status()["shift"] is None

        # Every receipt is at the data server exactly once, with the same totals.
        mine = till_documents(store)
        assert set(mine["receipts"]) == set(day.closed)
        assert len(day.closed) == len(morning) + len(offline) + len(evening) == 33

        def everything_arrived() -> list[dict[str, Any]] | None:
            z = store.dataserver_pages("/api/v1/z-reports")
            receipts = store.dataserver_pages("/api/v1/receipts")
            return receipts if z and len(receipts) >= len(day.closed) else None

        theirs = eventually(everything_arrived, timeout=90, what="the evening and the Z report to go up")
        ids = [r["id"] for r in theirs]
        assert len(ids) == len(set(ids)), "a receipt was stored twice"
        assert set(ids) == set(mine["receipts"])
        for receipt in theirs:
            held = mine["receipts"][receipt["id"]]
            assert (receipt["kind"], receipt["total"], receipt["number"]) == (
                held["kind"],
                held["total"],
                held["number"],
            ), receipt["id"]
            assert receipt["shift_id"] == shift["id"]
        one = store.admin.request("GET", f"/api/v1/receipts/{morning[3]['id']}")
        assert one["fiscal"]["fiscal_sign"] == morning[3]["fiscal"]["fiscal_sign"]
        assert [line["amount"] for line in one["lines"]] == [
            line["amount"] for line in morning[3]["lines"] if not line["voided"]
        ]

        # The shift, its cash operations and its Z report.
        (their_shift,) = store.dataserver_pages("/api/v1/shifts")
        assert their_shift["id"] == shift["id"] and their_shift["closed_at"] is not None
        cash = store.dataserver_pages("/api/v1/cash-operations")
        assert {c["id"]: (c["kind"], c["amount"]) for c in cash} == mine["cash"]
        assert sorted(mine["cash"].values()) == [("in", 3_000_00), ("out", 1_000_00)]
        (z,) = store.dataserver_pages("/api/v1/z-reports")
        (till_shift,) = mine["shifts"]
        till_z = orjson.loads(till_shift["z_totals"])
        sales = [r for r in day.closed.values() if r["kind"] == "sale"]
        returns = [r for r in day.closed.values() if r["kind"] == "return"]
        expected = {
            "sales_count": len(sales),
            "sales_sum": sum(r["total"] for r in sales),
            "returns_count": len(returns),
            "returns_sum": sum(r["total"] for r in returns),
            "cash_in": 3_000_00,
            "cash_out": 1_000_00,
        }
        assert {k: z["totals"][k] for k in expected} == expected
        assert {k: till_z[k] for k in expected} == expected
        assert {k: report["till"][k] for k in expected} == expected
        registrar = report["registrar"]
        assert (registrar["sales_count"], registrar["sales_sum"]) == (len(sales), expected["sales_sum"])
        assert (registrar["returns_count"], registrar["returns_sum"]) == (
            len(returns),
            expected["returns_sum"],
        )
        assert registrar["cash_in_drawer"] == till_z["cash_in_drawer"]

        # The registrar registered each receipt once, under the receipt's id, and printed it.
        registered = store.registrar.receipts()
        assert set(registered) == set(day.closed)
        assert all(len(documents) == 1 for documents in registered.values())
        printed = httpx.get(store.printer.health_url.replace("/healthz", "/jobs"), timeout=10).json()
        assert len([job for job in printed if job["printed"]]) >= len(day.closed)
        assert datetime.fromisoformat(z["closed_at"]) >= datetime.fromisoformat(their_shift["opened_at"])
