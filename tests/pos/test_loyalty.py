"""The customer's card at the till against a real processing center (`osuite processing serve` on a
loopback port): the card on the receipt, part paid with points, the accrual printed on the receipt, a
return taking back its share, a cancelled receipt giving its points back, and a center that does not
answer — the sale goes on, and its points reach the center later, exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from osuite.pos.settings import PosSettings
from osuite.processing.client import ProcessingClient
from tests.pos.conftest import MILK, WATER, Devices, Till
from tests.support.databases import fresh_database
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

CARD, BLOCKED = "7770000000017", "7770000000024"


class Center:
    """A processing root center served as a real process, with a back office's key and the till's."""

    def __init__(self, server: ServerProcess, admin: ProcessingClient, pos_key: str) -> None:
        self.server = server
        self.admin = admin
        self.pos_key = pos_key

    def account(self, card: str) -> str:
        return str(self.admin.request("GET", f"/api/v1/cards/{card}")["account_id"])

    def available(self, card: str) -> int:
        return self.admin.account(self.account(card)).balance.available

    def movements(self, card: str) -> list[str]:
        return [m.kind for m in self.admin.journal(self.account(card)).movements]


@pytest.fixture
def center(tmp_path: Path) -> Iterator[Center]:
    with fresh_database(tmp_path, "loyalty") as url:
        server = ServerProcess("processing", tmp_path / "root", url, extra=["--role", "root"])
        admin_key = server.cli("key", "back office")
        pos_key = server.cli("key", "till 1", "--scope", "pos")
        for card in (CARD, BLOCKED):
            server.cli("issue-card", card)
            server.cli("adjust", card, "500", "--reason", "welcome points", "--by", "admin")
        server.cli("block-card", BLOCKED)
        server.start()
        admin = ProcessingClient(server.url, admin_key)
        try:
            yield Center(server, admin, pos_key)
        finally:
            admin.close()
            server.stop()


@pytest.fixture
def till(pos_settings: PosSettings, center: Center) -> Iterator[Till]:
    from osuite.pos.app import build_app

    settings = pos_settings.model_copy(
        update={
            "processing_url": center.server.url,
            "processing_key": center.pos_key,
            "processing_timeout_seconds": 3.0,
        }
    )
    with TestClient(build_app(settings)) as client:
        till = Till(client).login()
        till.post("/shift/open")
        yield till


def card(till: Till, number: str = CARD, expect: int = 200) -> Any:
    return till.call("PUT", "/receipt/card", expect, number=number)


def queued(till: Till) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from osuite.pos import tables as t

    table = t.loyalty_outbox
    with till.pos.db.read() as conn:
        rows = conn.execute(select(table).order_by(table.c.position)).mappings().all()
    return [{**row, "payload": orjson.loads(row["payload"])} for row in rows]


def printed(devices: Devices) -> str:
    """What the registrar printed of the last receipt."""
    return orjson.dumps(devices.sells()[-1]).decode()


def test_a_card_sale_paid_partly_with_points_prints_the_accrual(
    till: Till, center: Center, devices: Devices
) -> None:
    till.scan(MILK)
    till.scan(WATER)
    receipt = card(till)
    assert receipt["card"] == CARD
    assert receipt["loyalty"]["online"] is True
    assert receipt["loyalty"]["available"] == 50_000
    assert 0 < receipt["loyalty"]["spendable"] <= receipt["total"]

    receipt = till.pay("BONUS", 3_000)
    assert receipt["status"] == "open" and receipt["due"] == receipt["total"] - 3_000
    assert center.available(CARD) == 47_000  # held for this receipt

    closed = till.pay("CASH")
    assert closed["status"] == "closed"
    settlement = closed["loyalty"]["settlement"]
    assert settlement["points"] > 0
    assert center.available(CARD) == 47_000 + settlement["points"]
    assert center.movements(CARD) == ["adjustment", "hold", "redemption", "accrual"]
    text = printed(devices)
    assert "Начислено баллов" in text and "*********0017" in text
    assert queued(till) == []

    # A return of the water takes back its share of the accrual and gives back its share of the points.
    till.post("/returns", original_receipt_id=closed["id"])
    water = next(line for line in closed["lines"] if line["product_id"] == "water")
    refund = till.post("/receipt/return-lines", original_line_no=water["line_no"], quantity="1")
    assert refund["card"] == CARD
    done = till.post("/receipt/refund")
    assert done["status"] == "closed", done
    back = done["loyalty"]["settlement"]
    assert back["reversed"] > 0 and back["given_back"] > 0
    assert center.movements(CARD)[-2:] == ["reversal", "refund"]
    assert center.available(CARD) == back["available"]


def test_a_refused_card_stays_off_the_receipt(till: Till, center: Center) -> None:
    till.scan(MILK)
    problem = card(till, BLOCKED, expect=409)
    assert problem["type"] == "loyalty_refused" and BLOCKED in problem["detail"]
    assert card(till, "7770000000999", expect=404)["type"] == "loyalty_refused"
    assert till.receipt()["card"] is None
    problem = till.pay("BONUS", 100, expect=409)
    assert "card" in problem["detail"]


def test_more_points_than_the_card_has_are_refused_and_change_nothing(till: Till, center: Center) -> None:
    till.scan(MILK)
    card(till)
    problem = till.pay("BONUS", 8_000, expect=409)
    assert problem["type"] == "loyalty_refused"
    receipt = till.receipt()
    assert receipt["paid"] == 0 and [p["status"] for p in receipt["payments"]] == ["declined"]
    assert center.available(CARD) == 50_000


def test_a_cancelled_receipt_lets_its_points_go(till: Till, center: Center) -> None:
    till.scan(MILK)
    card(till)
    till.pay("BONUS", 2_000)
    assert center.available(CARD) == 48_000
    till.post("/receipt/cancel", supervisor_pin="9999")
    assert center.available(CARD) == 50_000
    assert center.movements(CARD) == ["adjustment", "hold", "hold_release"]


def test_with_the_center_down_the_sale_goes_on_and_its_points_arrive_once(
    till: Till, center: Center, devices: Devices
) -> None:
    center.server.stop()
    till.scan(MILK)
    receipt = card(till)
    assert receipt["loyalty"] == {"card": CARD, "online": False}
    problem = till.pay("BONUS", 1_000, expect=409)
    assert "processing center did not answer" in problem["detail"]
    closed = till.pay("CASH")
    assert closed["status"] == "closed" and closed["loyalty"]["settlement"] == "queued"
    assert "баллы будут начислены" in printed(devices).lower()
    (waiting,) = queued(till)
    assert waiting["kind"] == "loyalty_accrue" and waiting["delivered_at"] is None
    health = till.http.get("/healthz").json()
    assert health["loyalty"]["documents_waiting"] == 1

    center.server.start()
    till.pos.loyalty_sender.wake()  # type: ignore[union-attr]
    deadline = time.monotonic() + 20
    while queued(till)[0]["delivered_at"] is None:
        assert time.monotonic() < deadline, queued(till)
        time.sleep(0.2)
    assert center.movements(CARD) == ["adjustment", "accrual"]
    earned = center.available(CARD) - 50_000
    assert earned > 0

    # Sent again (a lost answer, a restored backup): the center applies it once.
    from osuite.pos.loyalty import _deliver

    _deliver(ProcessingClient(center.server.url, center.pos_key), waiting["kind"], waiting["payload"])
    assert center.movements(CARD) == ["adjustment", "accrual"]
    assert center.available(CARD) == 50_000 + earned


def test_the_screen_shows_the_card_its_balance_and_the_points_earned(till: Till, center: Center) -> None:
    screen = till.http
    assert screen.post("/login", data={"pin": "1111"}, follow_redirects=False).status_code == 303
    htmx = {"HX-Request": "true"}
    assert 'data-hotkey="F11"' in screen.get("/").text
    screen.post("/ui/items", data={"code": MILK}, headers=htmx)
    dialog = screen.get("/ui/dialog/card", headers=htmx).text
    assert 'hx-post="/ui/card"' in dialog
    shown = screen.post("/ui/card", data={"number": CARD, "_dialog": "card"}, headers=htmx).text
    assert f"Карта {CARD} · баллов 500,00" in shown
    refused = screen.post("/ui/card", data={"number": BLOCKED, "_dialog": "card"}, headers=htmx).text
    assert BLOCKED in refused and "заблокирована" in refused  # the center's words, in Russian
    done = screen.post("/ui/pay", data={"payment_type": "CASH"}, headers=htmx).text
    assert "Начислено баллов" in done


def test_a_key_the_center_refuses_leaves_the_queue_waiting_not_refused(center: Center, till: Till) -> None:
    from osuite.core.ids import new_id
    from osuite.core.sync.transport import LinkRefused
    from osuite.core.sync.wire import DocumentIn
    from osuite.pos import loyalty

    request = {
        "transaction_id": "R-1:accrue",
        "card": CARD,
        "receipt_id": "R-1",
        "lines": [{"line_no": 1, "product_id": "milk", "amount": 8_990}],
        "payments": [{"method": "cash", "amount": 8_990}],
    }
    document = DocumentIn(id=new_id(), kind=loyalty.ACCRUE, payload=request)
    wrong = loyalty.sender(till.pos, ProcessingClient(center.server.url, "not-a-key"))
    with pytest.raises(LinkRefused):  # retried later (a key put right), never a dead letter
        wrong.send([document])
    right = loyalty.sender(till.pos, ProcessingClient(center.server.url, center.pos_key))
    sent_twice = right.send([document, document])  # the second is answered as the first
    assert sent_twice.held == [document.id, document.id]
    assert center.movements(CARD) == ["adjustment", "accrual"]
