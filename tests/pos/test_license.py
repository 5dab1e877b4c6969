"""A till and its license seat, against a real license server (served over HTTP in a thread): with the
server gone the till sells on through the grace period; once grace is over (however the clock was
turned) it finishes the open receipt and can close the shift, but takes no new receipt, saying why;
with the server back it sells again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from osuite.license.client import SeatKeeper, machine_id
from osuite.license.settings import LicenseSettings
from tests.license.conftest import ThreadServer
from tests.license.support import write_license
from tests.pos.conftest import MILK, WATER, Till


@dataclass
class Clock:
    wall_now: datetime = field(default_factory=lambda: datetime.now(UTC))
    mono_now: float = 1000.0

    def wall(self) -> datetime:
        return self.wall_now

    def monotonic(self) -> float:
        return self.mono_now

    def run(self, **delta: float) -> None:
        step = timedelta(**delta)
        self.wall_now += step
        self.mono_now += step.total_seconds()


@pytest.fixture
def license_server(tmp_path: Path, db_url: str) -> Iterator[ThreadServer]:
    lic, pub = write_license(tmp_path / "vendor", seats={"pos": 1})
    server = ThreadServer(
        LicenseSettings(
            data_dir=tmp_path / "license", database_url=db_url, license_file=lic, public_key_file=pub
        )
    ).start()
    yield server
    server.kill()


def test_a_till_past_its_grace_finishes_the_receipt_closes_the_shift_and_takes_no_new_one(
    open_till: Till, license_server: ThreadServer, tmp_path: Path
) -> None:
    clock = Clock()
    keeper = SeatKeeper(
        license_server.url,
        program="pos",
        machine_id=machine_id(tmp_path / "till"),
        name="Касса 1",
        state_file=tmp_path / "till" / "license-seat.json",
        clock=clock,
    )
    assert keeper.acquire().status == "ok"
    open_till.pos.seat = keeper
    assert open_till.http.get("/healthz").json()["license"]["status"] == "ok"

    license_server.kill()
    clock.run(days=6)
    assert keeper.check().status == "grace"
    open_till.scan(MILK)  # within grace: selling goes on
    open_till.pay("CASH")

    open_till.scan(WATER)  # a receipt is open when grace runs out
    clock.wall_now -= timedelta(days=30)  # winding the clock back gives nothing back
    clock.mono_now += timedelta(days=1, hours=1).total_seconds()
    stopped = keeper.check()
    assert stopped.status == "stopped" and stopped.kind == "grace_over"
    assert open_till.pay("CASH")["status"] == "closed"  # the open receipt is finished
    problem = open_till.refused("POST", "/receipt/items", 409, "refused", code=MILK)
    assert "license" in problem["detail"]
    assert open_till.http.get("/healthz").json()["license"]["status"] == "stopped"
    assert open_till.post("/shift/close")["shift"]["closed_at"]  # the shift can still be closed
    assert open_till.get("/shift") is None

    license_server.start()
    assert keeper.check().status == "ok"
    open_till.post("/shift/open")
    assert open_till.scan(MILK)["status"] == "open"
    keeper.stop()
