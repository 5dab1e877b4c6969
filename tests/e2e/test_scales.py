"""The scale server in a store, every part a real process or a real socket: a data server with the sample
catalog, a till, the scale server enrolled with the data server, and three emulated label scales of
three protocols (CAS CL over TCP, Shtrih-Print over UDP, Massa-K over TCP). A price changed at the data
server reaches the right PLUs on the right scales by itself; a scale that was off catches up when it is
back; a label the scale would print sells at the till at its weight and price."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from osuite.dataserver.sample_catalog import STORE_CODE
from osuite.devices.cas_emulator import start_cas_emulator
from osuite.devices.massak_label_emulator import start_massak_label_emulator
from osuite.devices.shtrih_emulator import start_shtrih_emulator
from tests.support.servers import ServerProcess
from tests.support.store import Catalog, Store, running_store
from tests.support.terminal import eventually

pytestmark = pytest.mark.e2e

PRODUCTS = 400


class ScaleServer:
    def __init__(self, process: ServerProcess, key: str) -> None:
        self.process = process
        self.http = httpx.Client(
            base_url=process.url, headers={"Authorization": f"Bearer {key}"}, timeout=10.0
        )

    def get(self, path: str) -> Any:
        answer = self.http.get(f"/api/v1{path}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def scale(self, name: str) -> dict[str, Any]:
        (found,) = [s for s in self.get("/scales") if s["name"] == name]
        return dict(found)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with running_store(tmp_path, products=PRODUCTS) as running:
        yield running


def test_prices_reach_the_right_scales_a_scale_that_was_off_catches_up_and_labels_sell(
    tmp_path: Path, store: Store
) -> None:
    weighted = Catalog(PRODUCTS).weighted
    assert len(weighted) >= 6
    products = {
        p.article: store.admin.request("GET", "/api/v1/products", params={"article": p.article})["items"][0]
        for p in weighted[:6]
    }
    ids = [products[p.article]["id"] for p in weighted[:6]]
    shop = store.admin.request("GET", f"/api/v1/stores/{STORE_CODE}")
    code = store.admin.request(
        "POST", f"/api/v1/stores/{shop['id']}/enrollment-codes", json={"kind": "scales", "name": "Весы"}
    )["code"]

    cas = start_cas_emulator("127.0.0.1", 0, folder=tmp_path / "cas")
    shtrih = start_shtrih_emulator("127.0.0.1", 0, folder=tmp_path / "shtrih")
    massak = start_massak_label_emulator("127.0.0.1", 0, folder=tmp_path / "massak")
    config = tmp_path / "scales.toml"
    config.write_text("heartbeat_seconds = 0.5\nlong_poll_seconds = 5.0\n", encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'scales' / 'scales.db'}"
    process = ServerProcess("scales", tmp_path / "scales", database, extra=["--config", str(config)])
    try:
        process.cli("enroll", store.dataserver.url, code)
        key = process.cli("key", "e2e")
        # The meat counter holds the first three products, the cheese counter the next two, and the
        # third scale the last one and the first (a product may sit on two scales).
        process.cli("add", "Мясо", "--protocol", "cas", "--address", cas.address, *_products(ids[:3]))
        process.cli("add", "Сыры", "--protocol", "shtrih", "--address", shtrih.address, *_products(ids[3:5]))
        process.cli(
            "add", "Рыба", "--protocol", "massak", "--address", massak.address, *_products([ids[5], ids[0]])
        )
        process.start()
        server = ScaleServer(process, key)

        def loaded(running: Any, count: int) -> bool:
            return len(running.memory.table()) == count

        eventually(
            lambda: loaded(cas, 3) and loaded(shtrih, 2) and loaded(massak, 2), timeout=60, what="uploads"
        )
        first = weighted[0]
        on_cas = {plu.item_code: plu for plu in cas.memory.table().values()}
        assert on_cas[int(first.article)].price == first.price
        assert on_cas[int(first.article)].name == first.name[: len(on_cas[int(first.article)].name)]

        # A price changed at the data server reaches the two scales holding that product, and only it.
        shtrih_before = shtrih.memory.table()
        massak.stop()  # the third scale is off meanwhile
        store.admin.request(
            "PUT", f"/api/v1/stores/{shop['id']}/prices/{ids[0]}", json={"price": first.price + 1000}
        )

        def repriced(running: Any) -> bool:
            return any(
                plu.item_code == int(first.article) and plu.price == first.price + 1000
                for plu in running.memory.table().values()
            )

        eventually(lambda: repriced(cas), timeout=60, what="the new price on the CAS scale")
        assert shtrih.memory.table() == shtrih_before  # it does not hold that product
        eventually(lambda: server.scale("Рыба")["state"]["pending"], timeout=30, what="the off scale to wait")
        massak = start_massak_label_emulator("127.0.0.1", massak.port, folder=tmp_path / "massak")
        eventually(lambda: repriced(massak), timeout=90, what="the scale that was off to catch up")
        plus = server.get(f"/scales/{server.scale('Рыба')['id']}/plus")
        assert all(p["accepted"] for p in plus) and len(plus) == 2

        # A label the meat scale prints for 1.234 kg sells at the till at that weight and the new price.
        (number,) = [n for n, plu in cas.memory.table().items() if plu.item_code == int(first.article)]
        label = cas.memory.label(number, grams=1234)
        till = store.till()
        till.post("/shift/open")
        receipt = till.scan(label)
        (line,) = receipt["lines"]
        assert Decimal(line["quantity"]) == Decimal("1.234")
        assert line["price"] == first.price + 1000
        till.close()

        # The web page shows the scales and their state.
        page = httpx.get(f"{process.url}/", cookies={"scales_key": key}, timeout=10)
        assert page.status_code == 200 and "Мясо" in page.text and "Загрузить сейчас" in page.text

        # The data server sees the scales through the heartbeat, and its command reloads one of them.
        def me() -> dict[str, Any]:
            clients = store.admin.request("GET", "/api/v1/clients", params={"store_id": shop["id"]})
            (found,) = [c for c in clients if c["kind"] == "scales"]
            return dict(found)

        eventually(lambda: set(me()["devices"]) == {"Мясо", "Сыры", "Рыба"}, what="the scales' heartbeat")
        fish = server.scale("Рыба")["id"]
        before = len(server.get(f"/scales/{fish}/uploads"))
        reload = {"command": "reload", "args": {"scale": "Рыба"}}
        command = store.admin.request("POST", f"/api/v1/clients/{me()['id']}/commands", json=reload)

        def status() -> str:
            history = store.admin.request("GET", f"/api/v1/clients/{me()['id']}/commands")
            return str(next(c["status"] for c in history if c["id"] == command["id"]))

        eventually(lambda: status() == "done", timeout=30, what="the command's result")

        def reloaded() -> bool:
            uploads = server.get(f"/scales/{fish}/uploads")
            return len(uploads) > before and uploads[0]["kind"] == "full" and bool(uploads[0]["finished_at"])

        eventually(reloaded, timeout=30, what="the ordered full reload")
    finally:
        process.stop()
        for running in (cas, shtrih, massak):
            running.stop()


def _products(ids: list[str]) -> list[str]:
    return [arg for product_id in ids for arg in ("--product", product_id)]
