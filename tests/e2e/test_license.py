"""Seats in a store, every part a real process: a license server with a one-till license, a data server,
and two tills. The first till takes the seat and sells, and its heartbeat shows the license at the data
server; the second is refused at start with a message naming the limit and who holds the seat, and
starts once the first one gives its seat back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.license.conftest import serve_license
from tests.support.servers import ServerProcess
from tests.support.store import Catalog, running_store, write_pos_config
from tests.support.terminal import eventually

pytestmark = pytest.mark.e2e


def test_a_till_over_the_seat_limit_is_refused_and_seated_when_one_is_freed(tmp_path: Path) -> None:
    license_server = serve_license(tmp_path, f"sqlite:///{tmp_path / 'license.db'}", seats={"pos": 1})
    license_server.start()
    public_key = str(tmp_path / "vendor" / "vendor-public.pem")
    seat = {"license_url": license_server.url, "license_public_key": public_key}
    try:
        with running_store(tmp_path / "store", products=50, **seat) as store:
            till = store.till()
            till.post("/shift/open")
            assert till.scan(Catalog(50).barcode(1))["status"] == "open"
            assert till.get("/status")["receipt"] is not None
            eventually(
                lambda: (store.client().get("license") or {}).get("status") == "ok",
                what="the till's license state at the data server",
            )

            shop = store.admin.request("GET", f"/api/v1/stores/{store.store_id}")
            code = store.admin.request(
                "POST",
                f"/api/v1/stores/{shop['id']}/enrollment-codes",
                json={"kind": "pos", "name": "Касса 2"},
            )["code"]
            config = write_pos_config(tmp_path / "pos2" / "pos.toml", **seat)
            second = ServerProcess(
                "pos",
                tmp_path / "pos2",
                f"sqlite:///{tmp_path / 'pos2' / 'pos.db'}",
                extra=["--config", str(config)],
            )
            second.cli("enroll", store.dataserver.url, code, "--name", "Касса 2")
            with pytest.raises(RuntimeError) as refused:
                second.start()
            said = str(refused.value)
            assert "pos" in said and "Касса 1" in said  # the limit, and who holds the seat

            store.pos.stop()  # the first till gives its seat back
            second.start()
            assert second.process is not None and second.process.poll() is None
            second.stop()
    finally:
        license_server.stop()
