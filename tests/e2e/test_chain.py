"""HQ data server ← store data server ← a terminal, all real processes on loopback.

Catalog changes made at HQ reach the terminal; documents from the terminal reach HQ exactly once, also
when either server is killed with SIGKILL in the middle of a sync and when a batch is sent twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from osuite.dataserver.client import DataServerClient
from osuite.dataserver.sample_sales import Till
from tests.support.databases import fresh_database
from tests.support.servers import ServerProcess
from tests.support.terminal import Terminal, eventually

pytestmark = pytest.mark.e2e


@dataclass
class Chain:
    hq: ServerProcess
    store: ServerProcess
    hq_admin: DataServerClient
    terminal: Terminal
    store_id: str

    def hq_receipt_ids(self) -> list[str]:
        ids: list[str] = []
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"store_id": self.store_id, "limit": 1000}
            if after:
                params["after"] = after
            page = self.hq_admin.request("GET", "/api/v1/receipts", params=params)
            ids.extend(r["id"] for r in page["items"])
            after = page["next"]
            if not after:
                return ids


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    with fresh_database(tmp_path, "hq") as hq_url, fresh_database(tmp_path, "store") as store_url:
        hq = ServerProcess("dataserver", tmp_path / "hq", hq_url)
        hq_admin = DataServerClient(hq.url, hq.cli("apikey", "test"))
        hq.start()
        s1 = hq_admin.request("POST", "/api/v1/stores", json={"code": "S1", "name": "Магазин на Ленина"})
        hq_admin.request("POST", "/api/v1/stores", json={"code": "S2", "name": "Магазин на Мира"})
        join = hq_admin.request(
            "POST",
            f"/api/v1/stores/{s1['id']}/enrollment-codes",
            json={"kind": "dataserver", "name": "S1 server"},
        )
        store = ServerProcess("dataserver", tmp_path / "store", store_url)
        store.cli("join", "--url", hq.url, "--code", join["code"])
        store_admin = DataServerClient(store.url, store.cli("apikey", "test"))
        store.start()
        # The store server learns of its store from HQ; then it can enroll its own terminals.
        terminal_code = eventually(
            lambda: store_admin.request(
                "POST", f"/api/v1/stores/{s1['id']}/enrollment-codes", json={"kind": "pos"}
            ),
            what="store S1 to arrive from HQ",
        )["code"]
        terminal = Terminal(tmp_path, store.url, terminal_code)
        try:
            yield Chain(hq, store, hq_admin, terminal, terminal.store_id)
        finally:
            terminal.close()
            hq_admin.close()
            store_admin.close()
            store.stop()
            hq.stop()


def test_a_catalog_change_at_hq_reaches_the_terminal(chain: Chain) -> None:
    admin = chain.hq_admin
    product = admin.request(
        "POST", "/api/v1/products", json={"article": "1001", "name": "Молоко 3,2% 1 л", "vat_rate": "10"}
    )
    admin.request("PUT", f"/api/v1/stores/{chain.store_id}/prices/{product['id']}", json={"price": 8990})
    other_store = next(s for s in admin.request("GET", "/api/v1/stores") if s["code"] == "S2")
    admin.request("PUT", f"/api/v1/stores/{other_store['id']}/prices/{product['id']}", json={"price": 9990})

    def arrived() -> bool:
        chain.terminal.puller.catch_up()
        return f"{chain.store_id}:{product['id']}" in chain.terminal.replica("price")

    eventually(arrived, what="the price to reach the terminal")
    assert chain.terminal.replica("product")[product["id"]]["name"] == "Молоко 3,2% 1 л"
    prices = chain.terminal.replica("price")
    assert prices[f"{chain.store_id}:{product['id']}"]["price"] == 8990
    assert f"{other_store['id']}:{product['id']}" not in prices  # another store's price stays away

    admin.request("PATCH", f"/api/v1/products/{product['id']}", json={"name": "Молоко 2,5% 1 л"})
    eventually(
        lambda: (
            chain.terminal.puller.catch_up() >= 0
            and chain.terminal.replica("product")[product["id"]]["name"] == "Молоко 2,5% 1 л"
        ),
        what="the renamed product",
    )


def test_documents_reach_hq_exactly_once_through_kills_and_resends(chain: Chain) -> None:
    till = Till(store_id=chain.store_id, terminal_id=chain.terminal.client_id)
    documents = [till.open_shift()] + [till.receipt() for _ in range(1500)]
    chain.terminal.queue(documents)
    stop = threading.Event()
    sender = threading.Thread(target=chain.terminal.sender.run, args=(stop,), kwargs={"idle": 0.2})
    sender.start()
    try:
        time.sleep(0.6)
        chain.store.kill()  # in the middle of taking batches from the terminal and forwarding them
        time.sleep(0.5)
        chain.store.start()
        time.sleep(0.8)
        chain.hq.kill()  # in the middle of the store server forwarding to HQ
        time.sleep(0.5)
        chain.hq.start()
        eventually(lambda: chain.terminal.pending() == 0, timeout=90, what="the terminal's outbox to empty")
        eventually(
            lambda: httpx.get(f"{chain.store.url}/healthz").json()["upstream"]["documents_waiting"] == 0,
            timeout=90,
            what="the store server's queue to HQ to empty, as its /healthz shows",
        )
        expected = sorted(d.id for d in documents[1:])
        eventually(lambda: len(chain.hq_receipt_ids()) >= len(expected), timeout=90, what="receipts at HQ")
    finally:
        stop.set()
        sender.join(30)
    # The same batch sent again, twice, is held and stores nothing more.
    for _ in range(2):
        answer = chain.terminal.transport.send(documents[:300])
        assert sorted(answer.held) == sorted(d.id for d in documents[:300])
    time.sleep(2)
    assert sorted(chain.hq_receipt_ids()) == expected


def test_joining_hq_with_a_wrong_code_says_why(tmp_path: Path) -> None:
    with fresh_database(tmp_path, "hq") as hq_url, fresh_database(tmp_path, "store") as store_url:
        hq = ServerProcess("dataserver", tmp_path / "hq", hq_url).start()
        try:
            store = ServerProcess("dataserver", tmp_path / "store", store_url)
            with pytest.raises(
                RuntimeError, match="refused to enroll this server: this enrollment code is unknown"
            ):
                store.cli("join", "--url", hq.url, "--code", "AAAA-BBBB-CCCC")
        finally:
            hq.stop()


def test_a_catalog_pull_killed_half_way_resumes_and_loses_nothing(chain: Chain) -> None:
    from osuite.dataserver.sample_catalog import generate_products, products_csv

    rows = list(generate_products(4000, seed=3))
    report = chain.hq_admin.request(
        "POST", "/api/v1/import/products", content=products_csv(rows), headers={"Content-Type": "text/csv"}
    )
    assert report["rejected"] == []
    time.sleep(0.3)
    chain.store.kill()  # while it pulls the 4,000 new products from HQ and republishes them
    chain.store.start()
    articles = {r.article for r in rows}

    def all_arrived() -> bool:
        chain.terminal.puller.catch_up()
        return articles <= {p["article"] for p in chain.terminal.replica("product").values()}

    eventually(all_arrived, timeout=120, what="all 4,000 products at the terminal")
