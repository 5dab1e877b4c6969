"""Enrollment, stores, clients, API keys and heartbeats through the real HTTP app."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from osuite.core.security import code_digest
from osuite.dataserver import clients, tables
from osuite.dataserver.context import DataServer


def _ds(client: TestClient) -> DataServer:
    ds: DataServer = client.app.state.ds  # type: ignore[attr-defined]
    return ds


def _store_and_code(admin: TestClient, *, kind: str = "pos", name: str = "POS 1") -> tuple[str, str]:
    ds = _ds(admin)
    with ds.db.write() as conn:
        store = clients.create_store(conn, ds, code=f"S{datetime.now(UTC).timestamp()}", name="Shop")
        issued = clients.issue_enrollment_code(conn, ds, store_id=store["id"], kind=kind, name=name)
    return store["id"], issued["code"]


def _enroll(app: TestClient, code: str, **extra: Any) -> Any:
    """Post to the enrollment route with no bearer token at all, as a fresh terminal would."""
    return app.post("/api/v1/enroll", json={"code": code, **extra}, headers={"Authorization": ""})


# --- enrollment -------------------------------------------------------------------------------------


def test_enrollment_trades_a_code_for_a_token_that_syncs(admin: TestClient) -> None:
    store_id, code = _store_and_code(admin)

    answer = _enroll(admin, code.lower().replace("-", " "), version="1.2.3")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["store_id"] == store_id
    assert body["kind"] == "pos"
    assert body["name"] == "POS 1"
    changes = admin.get("/api/v1/sync/changes", headers={"Authorization": f"Bearer {body['token']}"})
    assert changes.status_code == 200, changes.text
    with _ds(admin).db.read() as conn:
        row = conn.execute(select(tables.clients).where(tables.clients.c.id == body["client_id"])).one()
    assert row.token_digest != body["token"]
    assert row.version == "1.2.3"


def test_a_used_code_is_refused(admin: TestClient) -> None:
    _store_id, code = _store_and_code(admin)
    assert _enroll(admin, code).status_code == 200

    again = _enroll(admin, code)

    assert again.status_code == 403
    assert again.headers["content-type"].startswith("application/problem+json")
    assert "already used" in again.json()["detail"]


def test_an_expired_code_is_refused(admin: TestClient) -> None:
    _store_id, code = _store_and_code(admin)
    with _ds(admin).db.write() as conn:
        conn.execute(
            update(tables.enrollment_codes)
            .where(tables.enrollment_codes.c.digest == code_digest(code))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )

    answer = _enroll(admin, code)

    assert answer.status_code == 403
    assert "expired" in answer.json()["detail"]


def test_a_wrong_code_is_refused_and_creates_nothing(admin: TestClient) -> None:
    _store_and_code(admin)

    answer = _enroll(admin, "AAAA-BBBB-CCCC")

    assert answer.status_code == 403
    assert "unknown" in answer.json()["detail"]
    with _ds(admin).db.read() as conn:
        assert conn.execute(select(tables.clients)).first() is None


def test_concurrent_enrollments_with_one_code_make_exactly_one_client(admin: TestClient) -> None:
    _store_id, code = _store_and_code(admin)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda _n: _enroll(admin, code).status_code, range(8)))

    assert statuses == [200] + [403] * 7
    with _ds(admin).db.read() as conn:
        assert len(conn.execute(select(tables.clients)).all()) == 1


def test_an_enrollment_code_is_issued_through_the_api_and_shown_once(admin: TestClient) -> None:
    store = admin.post("/api/v1/stores", json={"code": "S1", "name": "Shop"}).json()

    issued = admin.post(
        f"/api/v1/stores/{store['id']}/enrollment-codes", json={"kind": "scales", "name": "Scales 1"}
    )

    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["kind"] == "scales"
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC) + timedelta(hours=1)
    with _ds(admin).db.read() as conn:
        stored = conn.execute(select(tables.enrollment_codes.c.digest)).scalars().all()
    assert stored == [code_digest(body["code"])]  # only the hash is kept
    enrolled = _enroll(admin, body["code"]).json()
    assert (enrolled["kind"], enrolled["name"], enrolled["store_id"]) == ("scales", "Scales 1", store["id"])


def test_enrollment_codes_are_refused_for_unknown_kinds_stores_and_non_admins(admin: TestClient) -> None:
    store = admin.post("/api/v1/stores", json={"code": "S1", "name": "Shop"}).json()
    path = f"/api/v1/stores/{store['id']}/enrollment-codes"

    bad_kind = admin.post(path, json={"kind": "toaster"})
    no_store = admin.post("/api/v1/stores/nope/enrollment-codes", json={"kind": "pos"})
    reader = _key(admin, ["read"])
    as_reader = admin.post(path, json={"kind": "pos"}, headers=_bearer(reader))

    assert bad_kind.status_code == 422
    assert "pos" in bad_kind.json()["detail"]
    assert no_store.status_code == 404
    assert as_reader.status_code == 403


# --- stores -----------------------------------------------------------------------------------------


def test_stores_are_created_listed_read_and_replaced(admin: TestClient) -> None:
    created = admin.post("/api/v1/stores", json={"code": "S2", "name": "Second", "address": "Lenina 1"})
    admin.post("/api/v1/stores", json={"code": "S1", "name": "First"})
    assert created.status_code == 201, created.text
    store = created.json()

    listed = admin.get("/api/v1/stores").json()
    by_code = admin.get("/api/v1/stores/S2").json()
    page = admin.get("/api/v1/stores", params={"after": "S1", "limit": 10}).json()
    replaced = admin.put(
        f"/api/v1/stores/{store['id']}",
        json={"code": "S2", "name": "Second, renamed", "address": "Mira 2", "timezone": "Asia/Omsk"},
    )

    assert [s["code"] for s in listed] == ["S1", "S2"]
    assert by_code["id"] == store["id"]
    assert [s["code"] for s in page] == ["S2"]
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"] == "Second, renamed"
    assert admin.get(f"/api/v1/stores/{store['id']}").json()["timezone"] == "Asia/Omsk"


def test_a_store_update_is_republished_to_clients(admin: TestClient) -> None:
    store_id, code = _store_and_code(admin)
    token = _enroll(admin, code).json()["token"]
    first = admin.get("/api/v1/sync/changes", headers=_bearer(token)).json()

    admin.put(
        f"/api/v1/stores/{store_id}",
        json={"code": "RENAMED", "name": "New name", "address": "", "active": True},
    )
    after = admin.get("/api/v1/sync/changes", params={"since": first["next"]}, headers=_bearer(token)).json()

    stores = [c for c in after["changes"] if c["entity"] == "store" and c["key"] == store_id]
    assert stores and stores[-1]["payload"]["name"] == "New name"
    assert stores[-1]["payload"]["code"] == "RENAMED"


def test_bad_stores_are_refused_and_change_nothing(admin: TestClient) -> None:
    admin.post("/api/v1/stores", json={"code": "S1", "name": "First"})
    other = admin.post("/api/v1/stores", json={"code": "S2", "name": "Second"}).json()

    duplicate = admin.post("/api/v1/stores", json={"code": "S1", "name": "Again"})
    bad_zone = admin.post("/api/v1/stores", json={"code": "S3", "name": "X", "timezone": "Mars/Olympus"})
    taken_code = admin.put(f"/api/v1/stores/{other['id']}", json={"code": "S1", "name": "Second"})
    missing = admin.put("/api/v1/stores/nope", json={"code": "S9", "name": "Nope"})
    reader = _key(admin, ["read"])
    as_reader = admin.post("/api/v1/stores", json={"code": "S4", "name": "X"}, headers=_bearer(reader))
    anonymous = admin.get("/api/v1/stores", headers={"Authorization": ""})

    assert duplicate.status_code == 409
    assert bad_zone.status_code == 422
    assert "Mars/Olympus" in bad_zone.json()["detail"]
    assert taken_code.status_code == 409
    assert missing.status_code == 404
    assert as_reader.status_code == 403
    assert anonymous.status_code == 401
    assert [s["code"] for s in admin.get("/api/v1/stores").json()] == ["S1", "S2"]
    assert admin.get("/api/v1/stores", headers=_bearer(reader)).status_code == 200


# --- clients, revocation, API keys -----------------------------------------------------------------


def test_a_revoked_clients_token_is_refused_at_once(admin: TestClient) -> None:
    _store_id, code = _store_and_code(admin)
    enrolled = _enroll(admin, code).json()
    assert admin.get("/api/v1/sync/changes", headers=_bearer(enrolled["token"])).status_code == 200

    revoked = admin.post(f"/api/v1/clients/{enrolled['client_id']}/revoke")

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked"] is True
    assert revoked.json()["status"] == "revoked"
    refused = admin.get("/api/v1/sync/changes", headers=_bearer(enrolled["token"]))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert admin.post("/api/v1/clients/nope/revoke").status_code == 404


def test_clients_are_listed_by_store_and_kind(admin: TestClient) -> None:
    store_a, code_a = _store_and_code(admin, kind="pos", name="POS A")
    _store_b, code_b = _store_and_code(admin, kind="scales", name="Scales B")
    a = _enroll(admin, code_a).json()
    b = _enroll(admin, code_b).json()

    everyone = admin.get("/api/v1/clients").json()
    of_a = admin.get("/api/v1/clients", params={"store_id": store_a}).json()
    scales = admin.get("/api/v1/clients", params={"kind": "scales"}).json()
    one = admin.get(f"/api/v1/clients/{a['client_id']}")

    assert {c["id"] for c in everyone} == {a["client_id"], b["client_id"]}
    assert [c["id"] for c in of_a] == [a["client_id"]]
    assert [c["id"] for c in scales] == [b["client_id"]]
    assert one.json()["name"] == "POS A"
    assert one.json()["status"] == "offline"  # enrolled, never heard from
    assert admin.get("/api/v1/clients/nope").status_code == 404
    # A client token is not an administrator's.
    assert admin.get("/api/v1/clients", headers=_bearer(a["token"])).status_code == 403


def test_api_keys_are_created_used_and_revoked(admin: TestClient) -> None:
    created = admin.post("/api/v1/api-keys", json={"name": "1C exchange", "scopes": ["read"]})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["scopes"] == ["read"]
    assert admin.get("/api/v1/clients", headers=_bearer(key["token"])).status_code == 200
    assert any(k["id"] == key["id"] for k in admin.get("/api/v1/api-keys").json())

    revoked = admin.post(f"/api/v1/api-keys/{key['id']}/revoke")

    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert "token" not in revoked.json()
    assert admin.get("/api/v1/clients", headers=_bearer(key["token"])).status_code == 401
    assert admin.post("/api/v1/api-keys", json={"name": "x", "scopes": ["sync"]}).status_code == 422
    assert admin.post("/api/v1/api-keys/nope/revoke").status_code == 404


# --- heartbeats -------------------------------------------------------------------------------------

HEARTBEAT = {
    "version": "2.0.1",
    "shift": {"open": True, "number": 12, "opened_at": "2026-01-10T08:00:00+03:00"},
    "queue_length": 3,
    "last_sync_at": "2026-01-10T09:00:00+00:00",
    "sync_cursor": 42,
    "devices": {
        "fiscal": {"status": "ok"},
        "printer": {"status": "error", "message": "out of paper"},
        "scales": {"status": "absent"},
    },
    "license": {"valid_until": "2027-01-01"},
    "extra": {"mode": "retail"},
}


def test_a_heartbeat_shows_the_client_online_with_its_state_then_offline(admin: TestClient) -> None:
    _store_id, code = _store_and_code(admin)
    enrolled = _enroll(admin, code).json()

    answer = admin.post("/api/v1/clients/me/heartbeat", json=HEARTBEAT, headers=_bearer(enrolled["token"]))

    assert answer.status_code == 200, answer.text
    assert answer.json()["commands_pending"] == 0
    assert abs(datetime.fromisoformat(answer.json()["server_time"]) - datetime.now(UTC)) < timedelta(
        minutes=1
    )
    [seen] = admin.get("/api/v1/clients").json()
    assert seen["status"] == "online"
    assert seen["online"] is True
    assert seen["version"] == "2.0.1"
    assert seen["shift_open"] is True
    assert seen["shift"]["number"] == 12
    assert seen["queue_length"] == 3
    assert seen["sync_cursor"] == 42
    assert seen["device_errors"] == [{"device": "printer", "message": "out of paper"}]
    assert seen["devices"]["scales"]["status"] == "absent"
    assert seen["license"] == {"valid_until": "2027-01-01"}
    assert seen["extra"] == {"mode": "retail"}
    me = admin.get("/api/v1/clients/me", headers=_bearer(enrolled["token"])).json()
    assert me["id"] == enrolled["client_id"]

    ds = _ds(admin)
    quiet_for = timedelta(seconds=ds.settings.offline_after_seconds + 1)
    with ds.db.write() as conn:
        conn.execute(update(tables.clients).values(last_heartbeat_at=datetime.now(UTC) - quiet_for))

    [later] = admin.get("/api/v1/clients").json()
    assert later["status"] == "offline"
    assert later["online"] is False
    assert later["version"] == "2.0.1"  # the last known state stays visible


def test_a_closed_shift_and_no_shift_read_differently(admin: TestClient) -> None:
    _store_id, code = _store_and_code(admin)
    token = _enroll(admin, code).json()["token"]

    admin.post("/api/v1/clients/me/heartbeat", json={"version": "1", "shift": None}, headers=_bearer(token))
    no_shift = admin.get("/api/v1/clients").json()[0]
    closed = {"version": "1", "shift": {"open": False, "number": 12}}
    admin.post("/api/v1/clients/me/heartbeat", json=closed, headers=_bearer(token))
    closed_shift = admin.get("/api/v1/clients").json()[0]

    assert no_shift["shift_open"] is False
    assert no_shift["shift"] is None
    assert closed_shift["shift_open"] is False
    assert closed_shift["shift"]["number"] == 12


def test_a_bad_heartbeat_is_refused_with_the_reason_and_changes_nothing(admin: TestClient) -> None:
    _store_id, code = _store_and_code(admin)
    token = _enroll(admin, code).json()["token"]
    bad = {**HEARTBEAT, "devices": {"printer": {"status": "on fire"}}, "queue_length": -1}

    answer = admin.post("/api/v1/clients/me/heartbeat", json=bad, headers=_bearer(token))

    assert answer.status_code == 422
    assert "devices.printer.status" in answer.json()["detail"]
    assert "queue_length" in answer.json()["detail"]
    assert admin.get("/api/v1/clients").json()[0]["last_heartbeat_at"] is None
    # Only an enrolled client has a "me".
    assert admin.post("/api/v1/clients/me/heartbeat", json=HEARTBEAT).status_code == 403


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _key(admin: TestClient, scopes: list[str]) -> str:
    token: str = admin.post("/api/v1/api-keys", json={"name": "k", "scopes": scopes}).json()["token"]
    return token
