"""End to end, `osuite license serve` as a real process: a 10-seat license, ten tills take their seats,
the eleventh is refused with the limit and the holders named, and gets a seat when another is released."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from osuite.license import document
from osuite.license.client import LicenseClient, LicenseRefused, SeatKeeper, machine_id
from tests.license.conftest import serve_license
from tests.license.support import vendor_key

pytestmark = pytest.mark.e2e


def test_an_eleventh_till_on_a_ten_seat_license(tmp_path: Path, db_url: str) -> None:
    server = serve_license(tmp_path, db_url, seats={"pos": 10, "scales": 1}).start()
    public_key = document.public_key_pem(vendor_key().public_key())
    keepers: list[SeatKeeper] = []

    def till(n: int) -> SeatKeeper:
        folder = tmp_path / f"pos{n}"
        keeper = SeatKeeper(
            server.url,
            program="pos",
            machine_id=machine_id(folder),
            name=f"Касса {n}",
            state_file=folder / "license-seat.json",
            public_key=public_key,
            renew_seconds=0.5,
            retry_seconds=0.2,
        )
        keepers.append(keeper)
        return keeper

    try:
        for n in range(1, 11):
            keeper = till(n)
            assert keeper.acquire().status == "ok"
            keeper.start()
        eleventh = till(11)
        with pytest.raises(LicenseRefused) as refused:
            eleventh.acquire()
        message = str(refused.value)
        assert refused.value.kind == "no_free_seat"
        assert "all 10 seats for pos of the license are taken" in message
        for n in range(1, 11):
            assert f"Касса {n} (machine {machine_id(tmp_path / f'pos{n}')}, since " in message
        assert eleventh.state().status == "stopped"

        eleventh.start()  # keeps asking
        time.sleep(1.0)
        assert eleventh.state().status == "stopped"
        keepers[2].stop()  # Касса 3 closes and gives its seat back
        deadline = time.monotonic() + 15
        while eleventh.state().status != "ok":
            assert time.monotonic() < deadline, eleventh.state().message
            time.sleep(0.05)

        with LicenseClient(server.url) as client:
            summary = client.license()
            pos = next(p for p in summary.programs if p.program == "pos")
            assert (pos.used, pos.free) == (10, 0)
            names = sorted(h.name for h in pos.holders)
            assert "Касса 3" not in names
            assert "Касса 11" in names
        assert httpx.get(f"{server.url}/healthz").json()["license"]["license_id"] == "LIC-0001"
    finally:
        for keeper in keepers:
            keeper.stop()
        server.stop()
