"""`osuite license serve` as a real process, many requests at once: never more leases than seats, one
lease per machine however often it asks, and the leases survive a kill -9."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.license.conftest import serve_license
from tests.support.servers import ServerProcess

SEATS = 10
CONTENDERS = 40


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[ServerProcess]:
    running = serve_license(tmp_path, db_url, seats={"pos": SEATS, "scales": 1}).start()
    try:
        yield running
    finally:
        running.stop()


def _race(url: str, machines: list[str], program: str = "pos") -> list[httpx.Response]:
    def ask(machine: str) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=30) as http:
            return http.post(
                "/api/v1/leases", json={"program": program, "machine_id": machine, "name": f"Касса {machine}"}
            )

    with ThreadPoolExecutor(max_workers=len(machines)) as pool:
        return list(pool.map(ask, machines))


def _used(url: str, program: str = "pos") -> int:
    summary = httpx.get(f"{url}/api/v1/license").json()
    return next(p["used"] for p in summary["programs"] if p["program"] == program)


def test_never_more_leases_than_seats_under_concurrent_requests(server: ServerProcess) -> None:
    for round_ in range(3):
        machines = [f"r{round_}-m{n}" for n in range(CONTENDERS)]
        answers = _race(server.url, machines)
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {200: SEATS, 409: CONTENDERS - SEATS}, statuses
        assert all(a.json()["type"] == "no_free_seat" for a in answers if a.status_code == 409)
        assert _used(server.url) == SEATS
        holders = httpx.get(f"{server.url}/api/v1/leases").json()["leases"]
        winners = {a.json()["machine_id"] for a in answers if a.status_code == 200}
        assert {h["machine_id"] for h in holders} == winners
        # give every seat back at once, and the next round races for them again
        with ThreadPoolExecutor(max_workers=SEATS) as pool:
            ids = [a.json()["id"] for a in answers if a.status_code == 200]
            assert all(r.status_code == 204 for r in pool.map(_release(server.url), ids))
        assert _used(server.url) == 0


def _release(url: str):  # type: ignore[no-untyped-def]
    def release(lease_id: str) -> httpx.Response:
        return httpx.delete(f"{url}/api/v1/leases/{lease_id}", timeout=30)

    return release


def test_one_machine_asking_many_times_at_once_holds_one_seat(server: ServerProcess) -> None:
    answers = _race(server.url, ["srv-1"] * 20, program="scales")
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _used(server.url, "scales") == 1


def test_a_kill_keeps_the_leases(server: ServerProcess) -> None:
    answers = _race(server.url, [f"m{n}" for n in range(SEATS)])
    ids = sorted(a.json()["id"] for a in answers)
    server.kill()
    server.start()
    assert _used(server.url) == SEATS
    for lease_id in ids:
        assert httpx.post(f"{server.url}/api/v1/leases/{lease_id}/renew").status_code == 200
    refused = httpx.post(
        f"{server.url}/api/v1/leases", json={"program": "pos", "machine_id": "late", "name": "Касса 11"}
    )
    assert refused.status_code == 409
