"""`serve --workers 2`: two processes share the port and the database, and every document is still
stored exactly once, however the batches and their resends fall between them."""

from __future__ import annotations

from pathlib import Path

import pytest

from osuite.dataserver.client import DataServerClient
from osuite.dataserver.sample_sales import Till
from tests.support.databases import fresh_database
from tests.support.servers import ServerProcess
from tests.support.terminal import Terminal

pytestmark = pytest.mark.e2e


def test_two_workers_share_the_load_and_store_each_document_once(tmp_path: Path) -> None:
    with fresh_database(tmp_path, "workers") as url:
        server = ServerProcess("dataserver", tmp_path / "ds", url, extra=["--workers", "2"])
        admin = DataServerClient(server.url, server.cli("apikey", "test"))
        server.start()
        try:
            store = admin.request("POST", "/api/v1/stores", json={"code": "S1", "name": "Магазин"})
            code = admin.request(
                "POST", f"/api/v1/stores/{store['id']}/enrollment-codes", json={"kind": "pos"}
            )
            terminal = Terminal(tmp_path, server.url, code["code"])
            till = Till(store_id=store["id"], terminal_id=terminal.client_id)
            documents = [till.open_shift()] + [till.receipt() for _ in range(400)]
            for start in range(0, len(documents), 50):  # many connections: both workers take some
                terminal.transport.send(documents[start : start + 50])
                terminal.transport.send(documents[start : start + 50])  # and every batch twice
            page = admin.request("GET", "/api/v1/receipts", params={"store_id": store["id"], "limit": 1000})
            assert sorted(r["id"] for r in page["items"]) == sorted(d.id for d in documents[1:])
            terminal.close()
        finally:
            admin.close()
            server.stop()
    log = server.log.read_text()
    assert log.count("Started server process") == 2
