"""Builders shared by the document tests: a store, an enrolled terminal, and documents whose money adds
up (so that a test breaks exactly the rule it means to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from typing import Any

from fastapi.testclient import TestClient

from osuite.core.ids import new_id
from osuite.core.money import line_amount
from osuite.dataserver import clients
from osuite.dataserver.context import DataServer

_codes = count(1)


@dataclass(frozen=True)
class Terminal:
    id: str
    store_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def ds_of(client: TestClient) -> DataServer:
    ds: DataServer = client.app.state.ds  # type: ignore[attr-defined]
    return ds


def new_store(admin: TestClient, *, timezone: str = "Europe/Moscow") -> str:
    ds = ds_of(admin)
    with ds.db.write() as conn:
        store = clients.create_store(conn, ds, code=f"S{next(_codes)}", name="Shop", timezone=timezone)
    return str(store["id"])


def new_terminal(admin: TestClient, store_id: str, *, kind: str = "pos") -> Terminal:
    ds = ds_of(admin)
    with ds.db.write() as conn:
        issued = clients.issue_enrollment_code(conn, ds, store_id=store_id, kind=kind, name=kind)
        enrolled = clients.enroll(conn, code=issued["code"])
    return Terminal(id=enrolled["client_id"], store_id=store_id, token=enrolled["token"])


def moment(text: str) -> str:
    """An ISO moment as a terminal sends it."""
    return datetime.fromisoformat(text).astimezone(UTC).isoformat()


def line(line_no: int, price: int, quantity: str, discount: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "line_no": line_no,
        "product_id": f"p{line_no}",
        "article": f"A{line_no}",
        "name": f"Товар {line_no}",
        "barcode": f"460000000000{line_no}",
        "quantity": quantity,
        "price": price,
        "discount": discount,
        "amount": line_amount(price, Decimal(quantity)) - discount,
        "vat_rate": "20",
        **extra,
    }


def receipt(
    terminal: Terminal,
    shift_id: str,
    *,
    number: int = 1,
    kind: str = "sale",
    lines: list[dict[str, Any]] | None = None,
    opened_at: str = "2025-03-01T10:00:00+03:00",
    closed_at: str = "2025-03-01T10:01:00+03:00",
    payments: list[dict[str, Any]] | None = None,
    original_receipt_id: str | None = None,
) -> dict[str, Any]:
    lines = lines if lines is not None else [line(1, 5000, "2.000"), line(2, 12990, "0.455", discount=100)]
    total = sum(li["amount"] for li in lines)
    return {
        "store_id": terminal.store_id,
        "terminal_id": terminal.id,
        "shift_id": shift_id,
        "number": number,
        "kind": kind,
        "original_receipt_id": original_receipt_id,
        "cashier_id": "cashier-1",
        "opened_at": opened_at,
        "closed_at": closed_at,
        "lines": lines,
        "payments": payments if payments is not None else [{"payment_type": "cash", "amount": total}],
        "discount_total": sum(li["discount"] for li in lines),
        "total": total,
    }


def shift(
    terminal: Terminal, *, number: int = 1, opened_at: str = "2025-03-01T09:00:00+03:00"
) -> dict[str, Any]:
    return {
        "store_id": terminal.store_id,
        "terminal_id": terminal.id,
        "number": number,
        "cashier_id": "cashier-1",
        "opened_at": opened_at,
    }


def z_report(
    terminal: Terminal, shift_id: str, *, number: int = 1, closed_at: str = "2025-03-01T22:00:00+03:00"
) -> dict[str, Any]:
    return {
        "store_id": terminal.store_id,
        "terminal_id": terminal.id,
        "shift_id": shift_id,
        "number": number,
        "closed_at": closed_at,
        "totals": {
            "sales_count": 1,
            "sales_sum": 15810,
            "returns_count": 0,
            "returns_sum": 0,
            "cash_in": 0,
            "cash_out": 0,
            "by_payment_type": [{"payment_type": "cash", "sales": 15810, "returns": 0}],
        },
    }


def cash_operation(
    terminal: Terminal,
    shift_id: str,
    *,
    kind: str = "in",
    amount: int = 100000,
    at: str = "2025-03-01T09:05:00+03:00",
) -> dict[str, Any]:
    return {
        "store_id": terminal.store_id,
        "terminal_id": terminal.id,
        "shift_id": shift_id,
        "kind": kind,
        "amount": amount,
        "cashier_id": "cashier-1",
        "reason": "размен",
        "at": at,
    }


def doc(kind: str, payload: dict[str, Any], doc_id: str | None = None) -> dict[str, Any]:
    return {"id": doc_id or new_id(), "kind": kind, "payload": payload}


def send(app: TestClient, terminal: Terminal, *documents: dict[str, Any]) -> dict[str, Any]:
    answer = app.post("/api/v1/sync/documents", json={"documents": list(documents)}, headers=terminal.headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result
