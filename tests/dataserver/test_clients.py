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
