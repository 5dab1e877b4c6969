"""The customer's loyalty card at a store whose every program is a real process: the data server with the
sample store, the registrar, printer and card terminal emulators, the POS, and the chain's processing
centers — the root and the store's subordinate, enrolled with it by a one-time code, the till asking
the subordinate.

Online, a sale is paid partly with points (held, then spent, at the subordinate, which borrows them
from the root) and earns points; a return of one line takes back its share and gives back the points
that paid for it; every movement reaches the root. With the root cut off the store keeps selling with
the card, spending only what the root had lent the subordinate, and not a point more. With the
subordinate down too, the sale goes on without points and its accrual waits in the till's loyalty
outbox. After the heal that accrual is there exactly once, the root and the subordinate show the same
balance and the same movements, and the data server holds every receipt exactly once.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.processing import Center, processing_network
from tests.support.store import Catalog, Problem, Store, Till, running_store
from tests.support.terminal import eventually

pytestmark = pytest.mark.e2e

PRODUCTS = 400  # a small sample store: the catalog is not what is tested here
CARD = "7770000000017"
WELCOME = 500_00  # points the card is issued with, at the root
BONUS = "bonus"  # the payment type (method "bonus") that pays with points


class Cashier:
    """The till's screen, with the receipts it closed."""

    def __init__(self, store: Store, till: Till) -> None:
        self.store = store
        self.till = till
        goods = [p for p in Catalog(PRODUCTS).pieces if p.price >= 100_00]
        self.barcodes = [str(p.barcodes[0][0]) for p in goods]
        self.scans = 0
        self.closed: dict[str, dict[str, Any]] = {}

    def scan(self, items: int) -> dict[str, Any]:
        """``items`` different goods, each scanned once: the open receipt."""
        receipt: dict[str, Any] = {}
        for _ in range(items):
            receipt = self.till.scan(self.barcodes[self.scans % len(self.barcodes)])
            self.scans += 1
        return receipt

    def card(self, number: str = CARD) -> dict[str, Any]:
        receipt: dict[str, Any] = self.till.call("PUT", "/receipt/card", number=number)
        assert receipt["card"] == number, receipt
        return receipt

    def points(self, amount: int) -> dict[str, Any]:
        receipt: dict[str, Any] = self.till.pay(BONUS, amount)
        assert receipt["status"] == "open", receipt
        (paid,) = [p for p in receipt["payments"] if p["payment_type"] == BONUS and p["status"] == "approved"]
        assert paid["amount"] == amount, receipt
        return receipt

    def closed_by_cash(self) -> dict[str, Any]:
        return self._closed(self.till.pay("cash"))

    def _closed(self, receipt: dict[str, Any]) -> dict[str, Any]:
        assert receipt["status"] == "closed", receipt
        assert receipt["fiscal"] and receipt["fiscal"]["fiscal_sign"], receipt
        assert receipt["id"] not in self.closed
        self.closed[receipt["id"]] = receipt
        return receipt

    def return_line(self, sale: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
        self.till.post("/returns", original_receipt_id=sale["id"])
        opened = self.till.post(
            "/receipt/return-lines", original_line_no=line["line_no"], quantity=line["quantity"]
        )
        assert opened["card"] == CARD, opened  # a return by receipt takes the sale's card
        refund = self._closed(self.till.post("/receipt/refund"))
        assert refund["kind"] == "return" and refund["total"] == line["amount"], refund
        return refund

    def loyalty_health(self) -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(f"{self.store.pos.url}/healthz", timeout=10).json()["loyalty"]
        return found


def five_percent(paid: int) -> int:
    """What the default program earns: 5 % of what was paid other than with points, rounded half-up."""
    return (paid * 5 + 50) // 100


def kinds_for(center: Center, account: str, receipt_id: str) -> list[str]:
    return [m.kind for m in center.movements(account) if m.receipt_id == receipt_id]


def same_everywhere(root: Center, sub: Center, account: str) -> dict[str, Any] | None:
    """The account as both centers show it, once they show it alike (balance and movements)."""
    here, there = root.movements(account), sub.movements(account)
    root_balance, sub_balance = root.balance(account), sub.balance(account)
    same_balance = (root_balance["active"], root_balance["available"]) == (
        sub_balance["active"],
        sub_balance["available"],
    )
    if same_balance and {m.id for m in here} == {m.id for m in there}:
        return {"balance": root_balance, "movements": here}
    return None


def bonus_payment_type(store: Store) -> None:
    """The store pays with points only when its catalog has a payment type of method ``bonus``."""
    have = store.admin.request("GET", "/api/v1/payment-types")["items"]
    if not any(p["code"] == BONUS for p in have):
        store.admin.request(
            "POST",
            "/api/v1/payment-types",
            json={"code": BONUS, "name": "Баллы", "method": "bonus", "sort": 3},
        )


@pytest.mark.timeout(300)
def test_a_card_sells_through_the_subordinate_and_the_partitions(tmp_path: Path) -> None:
    with (
        processing_network(tmp_path / "processing", cards={CARD: str(WELCOME // 100)}) as network,
        contextlib.ExitStack() as stack,
    ):
        root, sub = network.root, network.subordinates[0]
        account = eventually(
            lambda: sub.card(CARD)["account_id"], timeout=60, what="the card to reach the subordinate"
        )
        eventually(
            lambda: sub.balance(account)["active"] == WELCOME, timeout=60, what="the welcome points down"
        )
        store = stack.enter_context(
            running_store(
                tmp_path / "store",
                products=PRODUCTS,
                processing_url=sub.url,
                processing_key=sub.pos_key,
                processing_timeout_seconds=5.0,
            )
        )
        bonus_payment_type(store)
        store.wait_for_catalog(PRODUCTS)
        till = store.till()
        stack.callback(till.close)
        eventually(
            lambda: {p["code"]: p["method"] for p in till.get("/payment-types")}.get(BONUS) == "bonus",
            timeout=60,
            what="the points payment type to reach the till",
        )
        till.post("/shift/open")
        cashier = Cashier(store, till)

        # 1. Online: three goods, the card, 30.00 in points (a hold at the subordinate, which borrows
        # them from the root), the rest in cash. Closing spends the points and earns 5 % of the cash.
        cashier.scan(3)
        receipt = cashier.card()
        assert receipt["loyalty"]["online"] is True
        assert receipt["loyalty"]["available"] == WELCOME
        receipt = cashier.points(30_00)
        assert receipt["due"] == receipt["total"] - 30_00
        assert sub.balance(account)["available"] == WELCOME - 30_00  # held
        sale = cashier.closed_by_cash()
        earned = sale["loyalty"]["settlement"]["points"]
        assert earned == five_percent(sale["total"] - 30_00)
        balance = WELCOME - 30_00 + earned
        assert sale["loyalty"]["settlement"]["available"] == balance
        assert kinds_for(sub, account, sale["id"]) == ["hold", "redemption", "accrual"]
        eventually(
            lambda: kinds_for(root, account, sale["id"]) == ["hold", "redemption", "accrual"],
            what="the sale's movements to reach the root",
        )
        eventually(lambda: same_everywhere(root, sub, account), what="the root and the subordinate to agree")
        assert root.balance(account)["active"] == balance

        # 2. A return of one line takes back its share of the accrual and gives back its share of the
        # points that paid for it.
        line = sale["lines"][1]
        refund = cashier.return_line(sale, line)
        back = refund["loyalty"]["settlement"]
        assert back["reversed"] > 0 and back["given_back"] > 0, back
        assert back["reversed"] < earned and back["given_back"] < 30_00, back
        balance += back["given_back"] - back["reversed"]
        assert back["available"] == balance
        assert kinds_for(sub, account, sale["id"])[-2:] == ["reversal", "refund"]
        agreed = eventually(lambda: same_everywhere(root, sub, account), what="the return to reach the root")
        assert agreed["balance"]["active"] == balance
        assert [m.kind for m in agreed["movements"] if m.receipt_id == sale["id"]][-2:] == [
            "reversal",
            "refund",
        ]

        # 3. A customer who asks for points and changes their mind: the payment is removed (its hold
        # let go), and the sale is paid in cash. What the root lent for it stays lent to the subordinate.
        cashier.scan(3)
        cashier.card()
        receipt = cashier.points(80_00)
        (held,) = [p for p in receipt["payments"] if p["payment_type"] == BONUS]
        receipt = till.call("DELETE", f"/receipt/payments/{held['id']}")
        assert receipt["paid"] == 0, receipt
        second = cashier.closed_by_cash()
        balance += second["loyalty"]["settlement"]["points"]
        assert kinds_for(sub, account, second["id"]) == ["hold", "hold_release", "accrual"]
        # (the accruals and the refund are the root's to lend: the subordinate spends only its grants)
        lent = sub.balance(account)["spendable"]
        assert lent == 80_00, sub.balance(account)
        eventually(lambda: same_everywhere(root, sub, account), what="the root to hear of the second sale")

        # 4. Partition A: the root is down. The subordinate answers for the card and lets the till
        # spend what the root lent it, and not a point more.
        root.server.stop()
        cashier.scan(4)
        receipt = cashier.card()
        assert receipt["loyalty"]["online"] is True
        with pytest.raises(Problem) as refused:
            cashier.points(lent + 10_00)
        assert refused.value.status == 409 and refused.value.body["type"] == "loyalty_refused"
        # (the subordinate says what it may spend while cut off: what the root lent it)
        assert f"only {lent // 100}.{lent % 100:02d} are available" in refused.value.body["detail"]
        receipt = cashier.points(50_00)
        cut_off = cashier.closed_by_cash()
        settled = cut_off["loyalty"]["settlement"]
        assert settled["points"] > 0
        balance += settled["points"] - 50_00
        assert settled["available"] == balance
        assert kinds_for(sub, account, cut_off["id"]) == ["hold", "redemption", "accrual"]
        assert sub.balance(account)["spendable"] == lent - 50_00

        # 5. Partition B: the subordinate is down too. The card goes on the sale without points, a
        # points payment is refused in words the cashier understands, cash closes the sale, and its
        # accrual waits in the till's loyalty outbox.
        sub.server.stop()
        cashier.scan(2)
        receipt = cashier.card()
        assert receipt["loyalty"] == {"card": CARD, "online": False}
        with pytest.raises(Problem) as refused:
            till.pay(BONUS, 10_00)
        assert refused.value.status == 409
        assert "processing center did not answer" in refused.value.body["detail"], refused.value.body
        offline = cashier.closed_by_cash()
        assert offline["loyalty"]["settlement"] == "queued"
        assert cashier.loyalty_health()["documents_waiting"] == 1
        (registered,) = store.registrar.receipts()[offline["id"]]
        assert "баллы будут начислены" in orjson.dumps(registered).decode().lower(), registered

        # 6. The heal: the subordinate first. The queued accrual reaches it, exactly once.
        sub.server.start()
        eventually(
            lambda: cashier.loyalty_health()["documents_waiting"] == 0,
            timeout=90,
            what="the queued accrual to reach the subordinate",
        )
        assert cashier.loyalty_health()["refused"] == 0
        assert kinds_for(sub, account, offline["id"]) == ["accrual"]
        (accrual,) = [m for m in sub.movements(account) if m.receipt_id == offline["id"]]
        assert accrual.amount == five_percent(offline["total"])
        balance += accrual.amount
        assert sub.balance(account)["active"] == balance

        # ...then the root: everything meets, each movement once, and the same balance at both.
        root.server.start()
        agreed = eventually(
            lambda: same_everywhere(root, sub, account),
            timeout=90,
            what="the root and the subordinate to agree after the heal",
        )
        assert agreed["balance"]["active"] == balance
        movements = agreed["movements"]
        assert len({m.id for m in movements}) == len(movements)
        accruals = Counter(m.receipt_id for m in movements if m.kind == "accrual")
        assert accruals == {r: 1 for r in (sale["id"], second["id"], cut_off["id"], offline["id"])}
        redemptions = Counter(m.receipt_id for m in movements if m.kind == "redemption")
        assert redemptions == {sale["id"]: 1, cut_off["id"]: 1}
        assert (
            sum(m.amount for m in movements if m.kind in ("redemption", "refund"))
            == -80_00 + back["given_back"]
        )

        # The data server holds every receipt of the day exactly once.
        eventually(
            lambda: till.status()["link"]["documents_waiting"] == 0, timeout=60, what="the receipts to go up"
        )

        def arrived() -> list[dict[str, Any]] | None:
            receipts = store.dataserver_pages("/api/v1/receipts")
            return receipts if len(receipts) >= len(cashier.closed) else None

        theirs = eventually(arrived, timeout=60, what="every receipt at the data server")
        ids = [r["id"] for r in theirs]
        assert len(ids) == len(set(ids)) == len(cashier.closed) == 5
        assert set(ids) == set(cashier.closed)
        for receipt in theirs:
            assert receipt["total"] == cashier.closed[receipt["id"]]["total"], receipt["id"]
        registered_once = store.registrar.receipts()
        assert set(registered_once) == set(cashier.closed)
        assert all(len(documents) == 1 for documents in registered_once.values())
