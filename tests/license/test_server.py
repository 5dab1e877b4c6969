"""The license server in-process: seats taken, renewed, given back and freed when not renewed; refusals
that name the limit and the holders; what is licensed; leases kept across a restart."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi.testclient import TestClient

from osuite.license.app import build_app, create_key
from osuite.license.settings import LicenseSettings
from tests.license.conftest import ServerClock
from tests.license.support import write_license


def _take(api: TestClient, machine: str, name: str = "", program: str = "pos") -> Any:
    return api.post(
        "/api/v1/leases", json={"program": program, "machine_id": machine, "name": name or machine}
    )


def test_a_seat_is_taken_and_the_same_machine_gets_its_own_lease_back(
    api: TestClient, server_clock: ServerClock
) -> None:
    first = _take(api, "m-1", "Касса 1")
    assert first.status_code == 200, first.text
    lease = first.json()
    assert lease["program"] == "pos"
    assert lease["name"] == "Касса 1"
    assert lease["lease_seconds"] == 600
    assert lease["license"]["license_id"] == "LIC-0001"
    assert lease["license"]["grace_days"] == 7
    server_clock.advance(minutes=5)
    again = _take(api, "m-1", "Касса 1 (зал)").json()
    assert again["id"] == lease["id"]
    assert again["name"] == "Касса 1 (зал)"
    assert datetime.fromisoformat(again["expires_at"]) > datetime.fromisoformat(lease["expires_at"])
    seats = api.get("/api/v1/license").json()
    pos = next(p for p in seats["programs"] if p["program"] == "pos")
    assert (pos["seats"], pos["used"], pos["free"]) == (10, 1, 9)


def test_over_the_limit_is_refused_naming_the_limit_and_the_holders(api: TestClient) -> None:
    assert _take(api, "scale-srv-1", "Весовой сервер", program="scales").status_code == 200
    refused = _take(api, "scale-srv-2", "Второй", program="scales")
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"] == "no_free_seat"
    assert problem["limit"] == 1
    assert "all 1 seat for scales of the license are taken" in problem["detail"]
    assert "Весовой сервер (machine scale-srv-1, since 2026-03-02 09:00 UTC)" in problem["detail"]
    assert [h["machine_id"] for h in problem["holders"]] == ["scale-srv-1"]
    assert problem["holders"][0]["since"].startswith("2026-03-02T09:00")


def test_renew_release_and_a_lease_that_is_gone(api: TestClient, server_clock: ServerClock) -> None:
    lease = _take(api, "m-1").json()
    server_clock.advance(minutes=9)
    renewed = api.post(f"/api/v1/leases/{lease['id']}/renew")
    assert renewed.status_code == 200
    assert renewed.json()["expires_at"].startswith("2026-03-02T09:19")
    assert api.delete(f"/api/v1/leases/{lease['id']}").status_code == 204
    assert api.delete(f"/api/v1/leases/{lease['id']}").status_code == 204  # a retried release
    gone = api.post(f"/api/v1/leases/{lease['id']}/renew")
    assert gone.status_code == 404
    assert gone.json()["type"] == "lease_gone"
    assert "ask for a seat again" in gone.json()["detail"]
    assert api.get("/api/v1/leases").json() == {"leases": []}


def test_a_lease_not_renewed_in_time_frees_its_seat(api: TestClient, server_clock: ServerClock) -> None:
    old = _take(api, "srv-a", program="scales").json()
    assert _take(api, "srv-b", program="scales").status_code == 409
    server_clock.advance(minutes=9, seconds=59)
    assert _take(api, "srv-b", program="scales").status_code == 409
    server_clock.advance(seconds=1)
    assert api.get("/api/v1/leases").json() == {"leases": []}
    taken = _take(api, "srv-b", program="scales")
    assert taken.status_code == 200
    late = api.post(f"/api/v1/leases/{old['id']}/renew")
    assert late.status_code == 404
    assert _take(api, "srv-a", program="scales").status_code == 409


def test_a_program_the_license_does_not_name_is_refused(api: TestClient) -> None:
    refused = _take(api, "mgr", program="manager")
    assert refused.status_code == 403
    assert refused.json()["type"] == "not_licensed"
    assert "gives no seat to manager" in refused.json()["detail"]
    assert "pos 10" in refused.json()["detail"]


def test_an_expired_license_refuses_every_seat_naming_the_date(tmp_path: Any, db_url: str) -> None:
    lic, pub = write_license(tmp_path / "v", valid_until=date(2026, 3, 31))
    settings = LicenseSettings(
        data_dir=tmp_path / "l", database_url=db_url, license_file=lic, public_key_file=pub
    )
    clock = ServerClock()
    with TestClient(build_app(settings, clock=clock)) as api:
        lease = _take(api, "m-1").json()
        clock.advance(days=30)  # 2026-04-01
        for answer in (_take(api, "m-2"), api.post(f"/api/v1/leases/{lease['id']}/renew")):
            assert answer.status_code == 403
            assert answer.json()["type"] == "license_expired"
            assert "expired on 2026-03-31" in answer.json()["detail"]
            assert answer.json()["valid_until"] == "2026-03-31"
        assert api.get("/api/v1/license").json()["license"]["expired"] is True


def test_the_listings_tell_what_is_licensed_and_who_holds_seats_without_lease_ids(api: TestClient) -> None:
    _take(api, "m-1", "Касса 1")
    _take(api, "m-2", "Касса 2")
    _take(api, "sub-1", "Филиал", program="processing_subordinate")
    summary = api.get("/api/v1/license").json()
    assert summary["license"]["customer"] == "ООО «Ромашка», магазин 12"
    assert summary["license"]["valid_until"] == "2099-12-31"
    assert summary["lease_minutes"] == 10
    by_program = {p["program"]: p for p in summary["programs"]}
    assert by_program["pos"]["used"] == 2
    assert [h["name"] for h in by_program["pos"]["holders"]] == ["Касса 1", "Касса 2"]
    assert by_program["processing_subordinate"]["free"] == 1
    assert by_program["scales"]["used"] == 0
    leases = api.get("/api/v1/leases").json()["leases"]
    assert len(leases) == 3
    assert all("id" not in holder for holder in leases)
    assert api.get("/api/v1/license/file").content.startswith(b"# O\xc2\xb7S suite license file.")


def test_bad_requests_are_refused_and_change_nothing(api: TestClient) -> None:
    for body in (
        {"program": "pos", "machine_id": "", "name": "x"},
        {"program": "POS", "machine_id": "m", "name": "x"},
        {"program": "pos", "machine_id": "m", "name": ""},
        {"program": "pos", "machine_id": "m", "name": "a\x00b"},
        {"program": "pos", "machine_id": "m/../x", "name": "x"},
        {"program": "pos", "machine_id": "m", "name": "x", "extra": 1},
    ):
        assert api.post("/api/v1/leases", json=body).status_code == 422, body
    assert api.get("/api/v1/leases").json() == {"leases": []}


def test_health_metrics_and_freeing_a_gone_machine(api: TestClient) -> None:
    health = api.get("/healthz").json()
    assert health["program"] == "license"
    assert health["license"]["license_id"] == "LIC-0001"
    assert api.get("/metrics").status_code == 401
    _take(api, "dead-till", "Касса 9")
    assert api.delete("/api/v1/machines/pos/dead-till").status_code == 401
    token = create_key(api.app.state.seats.db, "IT")  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/metrics", headers=headers).status_code == 200
    assert api.delete("/api/v1/machines/pos/dead-till", headers=headers).status_code == 204
    assert api.get("/api/v1/leases").json() == {"leases": []}
    assert "/api/v1/leases" in api.get("/openapi.json").json()["paths"]


def test_a_restart_keeps_the_leases(license_settings: LicenseSettings, server_clock: ServerClock) -> None:
    with TestClient(build_app(license_settings, clock=server_clock)) as api:
        lease = _take(api, "m-1", "Касса 1").json()
        _take(api, "srv", program="scales")
    with TestClient(build_app(license_settings, clock=server_clock)) as api:
        assert api.post(f"/api/v1/leases/{lease['id']}/renew").status_code == 200
        assert _take(api, "other", program="scales").status_code == 409
        assert len(api.get("/api/v1/leases").json()["leases"]) == 2


def test_a_license_with_fewer_seats_takes_back_the_newest(
    tmp_path: Any, db_url: str, server_clock: ServerClock
) -> None:
    def settings(**license: object) -> LicenseSettings:
        lic, pub = write_license(tmp_path / "v", **license)
        return LicenseSettings(
            data_dir=tmp_path / "l", database_url=db_url, license_file=lic, public_key_file=pub
        )

    with TestClient(build_app(settings(seats={"pos": 5, "scales": 1}), clock=server_clock)) as api:
        for n in range(5):
            _take(api, f"m-{n}")
            server_clock.advance(minutes=1)
        _take(api, "srv", program="scales")
    with TestClient(build_app(settings(seats={"pos": 3}), clock=server_clock)) as api:
        holders = api.get("/api/v1/leases").json()["leases"]
        assert [h["machine_id"] for h in holders] == ["m-0", "m-1", "m-2"]
        assert _take(api, "srv", program="scales").status_code == 403
