"""Helpers the catalog tests share (no tests here): stores, enrolled clients, what a client pulls."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient

from osuite.dataserver import clients
from osuite.dataserver.context import DataServer

_codes = itertools.count(1)


def data_server(client: TestClient) -> DataServer:
    ds: DataServer = client.app.state.ds  # type: ignore[attr-defined]
    return ds


def make_store(admin: TestClient, code: str | None = None) -> str:
    ds = data_server(admin)
    with ds.db.write() as conn:
        store = clients.create_store(conn, ds, code=code or f"S{next(_codes):03d}", name="Shop")
    return str(store["id"])


def enroll_client(admin: TestClient, store_id: str) -> tuple[str, str]:
    """A POS enrolled in the store: its client id and token."""
    ds = data_server(admin)
    with ds.db.write() as conn:
        issued = clients.issue_enrollment_code(conn, ds, store_id=store_id, kind="pos", name="POS")
        enrolled = clients.enroll(conn, code=issued["code"])
    return str(enrolled["client_id"]), str(enrolled["token"])


def changes_for(admin: TestClient, token: str, since: int = 0) -> list[dict[str, Any]]:
    """Everything the client with ``token`` pulls from ``since`` on (all pages)."""
    seen: list[dict[str, Any]] = []
    while True:
        answer = admin.get(
            "/api/v1/sync/changes",
            params={"since": since, "limit": 1000},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen += body["changes"]
        since = body["next"]
        if not body["has_more"]:
            return seen


def latest(changes: list[dict[str, Any]], entity: str, key: str) -> dict[str, Any] | None:
    found = [c for c in changes if c["entity"] == entity and c["key"] == key]
    return found[-1] if found else None


def last_seq(admin: TestClient) -> int:
    ds = data_server(admin)
    with ds.db.read() as conn:
        return ds.changelog.last_seq(conn)


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None
