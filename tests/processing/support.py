"""Helpers of the processing center's tests: a clock the test moves, and a center seen through its
HTTP API with an administrator's key and a POS's key."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from osuite.core.ids import new_id
from osuite.processing import access, tables
from osuite.processing.context import Processing


class Clock:
    """Now, as the center sees it: starts at a fixed moment and moves only when told."""

    def __init__(self, start: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def ok(response: httpx.Response, status: int | tuple[int, ...] = (200, 201)) -> Any:
    expected = (status,) if isinstance(status, int) else status
    assert response.status_code in expected, f"{response.status_code}: {response.text}"
    return response.json()


def refused(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    body: dict[str, Any] = response.json()
    assert body["type"] == kind, body
    assert response.headers["content-type"].startswith("application/problem+json")
    return body


def line(line_no: int, amount: int, product: str = "milk", **more: Any) -> dict[str, Any]:
    return {"line_no": line_no, "product_id": product, "amount": amount, **more}


@dataclass
class Center:
    """The center through its API: ``admin`` with a manage key, ``pos`` with a POS's key."""

    client: TestClient
    admin_token: str
    pos_token: str

    @classmethod
    def of(cls, client: TestClient) -> Center:
        p = cls.processing_of(client)
        with p.db.write() as conn:
            admin = access.create_key(conn, p, name="back office", scope="manage")["token"]
            pos = access.create_key(conn, p, name="store 1 POS", scope="pos")["token"]
        return cls(client, admin, pos)

    @staticmethod
    def processing_of(client: TestClient) -> Processing:
        p: Processing = client.app.state.processing  # type: ignore[attr-defined]
        return p

    @property
    def p(self) -> Processing:
        return self.processing_of(self.client)

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def pos(self, operation: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(
            f"/api/v1/transactions/{operation}",
            json=body,
            headers={"Authorization": f"Bearer {self.pos_token}"},
        )

    # --- shortcuts -------------------------------------------------------------------------------------

    def customer(self, name: str = "Анна Петрова", phone: str | None = "+79001234567") -> dict[str, Any]:
        return ok(self.admin("POST", "/api/v1/customers", json={"name": name, "phone": phone}))  # type: ignore[no-any-return]

    def card(self, number: str, **body: Any) -> dict[str, Any]:
        return ok(self.admin("POST", "/api/v1/cards", json={"number": number, **body}))  # type: ignore[no-any-return]

    def bonus_card(self, number: str = "2000001", points: int = 0) -> str:
        """A customer's bonus card with ``points`` on it (an adjustment); its account id."""
        customer = self.customer(phone=None)
        card = self.card(number, customer_id=customer["id"])
        if points:
            self.adjust(card["account_id"], points, reason="opening balance")
        return str(card["account_id"])

    def adjust(self, account_id: str, amount: int, reason: str = "test", **more: Any) -> httpx.Response:
        return self.admin(
            "POST",
            f"/api/v1/accounts/{account_id}/adjustments",
            json={"amount": amount, "reason": reason, **more},
        )

    def account(self, account_id: str) -> dict[str, Any]:
        return ok(self.admin("GET", f"/api/v1/accounts/{account_id}"))  # type: ignore[no-any-return]

    def balance(self, account_id: str) -> dict[str, int]:
        return self.account(account_id)["balance"]  # type: ignore[no-any-return]

    def journal(self, account_id: str) -> list[dict[str, Any]]:
        return ok(self.admin("GET", f"/api/v1/accounts/{account_id}/journal"))["movements"]  # type: ignore[no-any-return]


def published(p: Processing, timeout: float = 10.0) -> None:
    """Wait until every movement stored is in the change log (the publisher thread may be at it)."""
    deadline = time.monotonic() + timeout
    while True:
        p.publisher.drain(p)
        with p.db.read() as conn:
            if conn.execute(select(tables.unpublished.c.id)).first() is None:
                return
        assert time.monotonic() < deadline, "movements were not published"
        time.sleep(0.02)


def tx() -> str:
    """A transaction id as a POS makes one."""
    return new_id()
