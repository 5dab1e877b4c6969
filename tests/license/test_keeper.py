"""The SeatKeeper every program uses, against a real license server: the seat taken, renewed and given
back; grace while the server is down, which neither a clock wound back nor a restart extends; refusals
that stop the program with the server's words."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from osuite.license import document
from osuite.license.client import LicenseRefused, SeatKeeper, machine_id
from osuite.license.settings import LicenseSettings
from tests.license.conftest import FakeClock, ThreadServer
from tests.license.support import vendor_key, write_license
from tests.support.servers import free_port

GRACE = timedelta(days=7)


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[ThreadServer]:
    """A real HTTP license server (pos 2, scales 1) in a thread: `kill` is the server gone."""
    lic, pub = write_license(tmp_path / "vendor", seats={"pos": 2, "scales": 1})
    settings = LicenseSettings(
        data_dir=tmp_path / "license", database_url=db_url, license_file=lic, public_key_file=pub
    )
    running = ThreadServer(settings).start()
    try:
        yield running
    finally:
        running.stop()


_made: list[SeatKeeper] = []


@pytest.fixture(autouse=True)
def _stop_keepers() -> Iterator[None]:
    yield
    while _made:
        _made.pop().stop(release=False)


def _keeper(url: str, folder: Path, clock: FakeClock, name: str = "Касса 1", **options: object) -> SeatKeeper:
    keeper = SeatKeeper(
        url,
        program="pos",
        machine_id=machine_id(folder),
        name=name,
        state_file=folder / "license-seat.json",
        clock=clock,
        **options,  # type: ignore[arg-type]
    )
    _made.append(keeper)
    return keeper


def _used(url: str) -> int:
    summary = httpx.get(f"{url}/api/v1/license").json()
    return next(p["used"] for p in summary["programs"] if p["program"] == "pos")


def test_the_seat_is_taken_renewed_and_given_back(server: ThreadServer, tmp_path: Path) -> None:
    clock = FakeClock()
    keeper = _keeper(
        server.url, tmp_path / "till", clock, public_key=document.public_key_pem(vendor_key().public_key())
    )
    state = keeper.acquire()
    assert state.status == "ok"
    assert state.license_id == "LIC-0001"
    assert state.valid_until == date(2099, 12, 31)
    assert state.grace_left == GRACE
    assert "seat held for pos" in state.message
    again = keeper.check()
    assert again.lease_id == state.lease_id
    saved = json.loads((tmp_path / "till" / "license-seat.json").read_text())
    assert saved["lease_id"] == state.lease_id
    assert saved["held_seat"] is True
    assert _used(server.url) == 1
    keeper.stop()
    assert _used(server.url) == 0


def test_grace_with_the_server_down_and_the_clock_wound_back(server: ThreadServer, tmp_path: Path) -> None:
    clock = FakeClock()
    keeper = _keeper(server.url, tmp_path / "till", clock)
    keeper.acquire()
    server.kill()
    clock.run(days=3)
    state = keeper.check()
    assert state.status == "grace"
    assert state.working
    assert state.grace_left == timedelta(days=4)
    assert "does not answer since 2026-03-02 09:00 UTC" in state.message
    assert "4 d 0 h left" in state.message

    clock.wall_now -= timedelta(days=10)  # someone winds the clock back…
    clock.mono_now += 3600  # …and an hour passes
    state = keeper.check()
    assert state.status == "grace"
    assert state.grace_left == timedelta(days=4) - timedelta(
        hours=1
    )  # the hour counts, nothing is given back

    clock.run(days=3, hours=22)
    assert keeper.check().grace_left == timedelta(hours=1)
    clock.run(hours=1)
    state = keeper.check()
    assert state.status == "stopped"
    assert state.kind == "grace_over"
    assert "7-day grace period is over" in state.message
    assert not state.working

    server.start()
    state = keeper.check()
    assert state.status == "ok"
    assert state.grace_left == GRACE
    keeper.stop()


def test_the_clock_moved_forward_spends_grace(server: ThreadServer, tmp_path: Path) -> None:
    clock = FakeClock()
    keeper = _keeper(server.url, tmp_path / "till", clock)
    keeper.acquire()
    server.kill()
    clock.wall_now += timedelta(days=6)
    clock.mono_now += 60
    assert keeper.check().grace_left == timedelta(days=1)
    clock.wall_now += timedelta(days=2)
    assert keeper.check().kind == "grace_over"


def test_a_restart_neither_resets_nor_extends_grace(server: ThreadServer, tmp_path: Path) -> None:
    folder = tmp_path / "till"
    first_clock = FakeClock()
    first = _keeper(server.url, folder, first_clock)
    first.acquire()
    server.kill()
    first_clock.run(days=2)
    assert first.check().status == "grace"
    first.stop()  # the program is closed; the server does not answer, so the seat is not given back

    # started again a day later (the monotonic clock starts afresh with the process)
    second_clock = FakeClock(wall_now=first_clock.wall_now + timedelta(days=1), mono_now=5.0)
    second = _keeper(server.url, folder, second_clock)
    assert second.acquire().grace_left == timedelta(days=4)  # the day switched off counts
    second.stop()

    # started again with the clock wound back a month: nothing is given back…
    third_clock = FakeClock(wall_now=second_clock.wall_now - timedelta(days=30), mono_now=1.0)
    third = _keeper(server.url, folder, third_clock)
    assert third.acquire().grace_left == timedelta(days=4)
    # …and from there every hour counts again
    third_clock.run(days=4)
    state = third.check()
    assert state.kind == "grace_over"
    third.stop()

    fourth = _keeper(server.url, folder, FakeClock(wall_now=third_clock.wall_now - timedelta(days=300)))
    with pytest.raises(LicenseRefused, match="grace period is over"):
        fourth.acquire()
    fourth.stop()


def test_a_normal_stop_then_the_server_down_at_the_next_start_is_grace(
    server: ThreadServer, tmp_path: Path
) -> None:
    clock = FakeClock()
    keeper = _keeper(server.url, tmp_path / "till", clock)
    keeper.acquire()
    keeper.stop()  # the seat given back at closing time
    server.kill()
    morning = FakeClock(wall_now=clock.wall_now + timedelta(hours=10))
    state = _keeper(server.url, tmp_path / "till", morning).acquire()
    assert state.status == "grace"
    assert state.grace_left == GRACE - timedelta(hours=10)


def test_no_server_and_no_seat_ever_held_is_refused(tmp_path: Path) -> None:
    keeper = _keeper(f"http://127.0.0.1:{free_port()}", tmp_path / "till", FakeClock())
    with pytest.raises(LicenseRefused, match="has held no seat before") as refused:
        keeper.acquire()
    assert refused.value.kind == "unreachable"
    assert keeper.state().status == "stopped"


def test_a_refused_seat_stops_at_once_and_comes_back_when_a_seat_frees(
    server: ThreadServer, tmp_path: Path
) -> None:
    holders = [_keeper(server.url, tmp_path / f"till{n}", FakeClock(), name=f"Касса {n}") for n in (1, 2)]
    for holder in holders:
        holder.acquire()
    late = _keeper(server.url, tmp_path / "till3", FakeClock(), name="Касса 3")
    with pytest.raises(LicenseRefused) as refused:
        late.acquire()
    assert refused.value.kind == "no_free_seat"
    assert "all 2 seats for pos" in str(refused.value)
    assert "Касса 1 (machine" in str(refused.value)
    assert "Касса 2 (machine" in str(refused.value)
    holders[0].stop()
    assert late.check().status == "ok"
    # Касса 1, refused now that both seats are taken, gets no grace when the server then goes away
    state = holders[0].check()
    assert (state.status, state.kind) == ("stopped", "no_free_seat")
    server.kill()
    state = holders[0].check()
    assert (state.status, state.kind) == ("stopped", "unreachable")
    assert late.check().status == "grace"


def test_a_license_of_another_vendor_or_expired_is_refused(tmp_path: Path, db_url: str) -> None:
    lic, pub = write_license(tmp_path / "vendor", valid_until=date(2026, 1, 31))
    settings = LicenseSettings(
        data_dir=tmp_path / "license", database_url=db_url, license_file=lic, public_key_file=pub
    )
    served = ThreadServer(settings).start()
    try:
        stranger = document.public_key_pem(document.new_private_key().public_key())
        keeper = _keeper(served.url, tmp_path / "till", FakeClock(), public_key=stranger)
        with pytest.raises(LicenseRefused, match="configure the public key of the vendor") as refused:
            keeper.acquire()
        assert refused.value.kind == "tampered"
        genuine = document.public_key_pem(vendor_key().public_key())
        for key in (genuine, None):
            keeper = _keeper(served.url, tmp_path / "till", FakeClock(), public_key=key)
            with pytest.raises(LicenseRefused, match="expired on 2026-01-31") as refused:
                keeper.acquire()
            assert refused.value.kind == "license_expired"
    finally:
        served.stop()


def test_the_background_thread_renews_and_state_never_waits(server: ThreadServer, tmp_path: Path) -> None:
    changes: list[str] = []
    keeper = _keeper(
        server.url,
        tmp_path / "till",
        FakeClock(),
        renew_seconds=0.1,
        retry_seconds=0.1,
        on_change=lambda s: changes.append(s.status),
    )
    keeper.acquire()
    keeper.start()
    first = httpx.get(f"{server.url}/api/v1/leases").json()["leases"][0]["renewed_at"]
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.url}/api/v1/leases").json()["leases"][0]["renewed_at"] == first:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server.kill()
    deadline = time.monotonic() + 10
    while keeper.state().status != "grace":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    keeper.stop()
    assert changes == ["ok", "grace"]


def test_machine_id_is_made_once_and_kept(tmp_path: Path) -> None:
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(machine_id(tmp_path / "d"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1
    assert machine_id(tmp_path / "d") == ids[0]
    assert (tmp_path / "d" / "machine-id").read_text().strip() == ids[0]
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["machine-id"]
