"""Exports of receipts and the daily sales report, exact to the kopeck and to the business day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from osuite.core.ids import new_id
from osuite.dataserver import documents
from osuite.dataserver.documents import Period
from tests.dataserver.test_documents_fixtures import (
    Terminal,
    doc,
    ds_of,
    line,
    new_store,
    new_terminal,
    receipt,
    send,
)


@dataclass
class Sales:
    moscow: Terminal
    vladivostok: Terminal
    shift_id: str
    late_sale: str  # 23:59:59 in Moscow on 1 March
    midnight_sale: str  # 00:00:00 in Moscow on 2 March
    refund: str
    far_east_sale: str  # 1 March in UTC, already 2 March in Vladivostok


@pytest.fixture
def sales(admin: TestClient) -> Sales:
    moscow = new_terminal(admin, new_store(admin, timezone="Europe/Moscow"))
    vladivostok = new_terminal(admin, new_store(admin, timezone="Asia/Vladivostok"))
    s = Sales(moscow, vladivostok, new_id(), new_id(), new_id(), new_id(), new_id())
    late = receipt(
        moscow,
        s.shift_id,
        number=1,
        opened_at="2025-03-01T20:58:00Z",
        closed_at="2025-03-01T20:59:59Z",
        payments=[
            {"payment_type": "card", "amount": 10000, "extra": {"rrn": "000111"}},
            {"payment_type": "cash", "amount": 5810},
        ],
    )
    midnight = receipt(
        moscow,
        s.shift_id,
        number=2,
        lines=[line(1, 9999, "1.000")],
        opened_at="2025-03-01T20:59:59Z",
        closed_at="2025-03-02T00:00:00+03:00",
    )
    refund = receipt(
        moscow,
        s.shift_id,
        number=3,
        kind="return",
        original_receipt_id=s.late_sale,
        lines=[line(1, 5000, "1.000")],
        opened_at="2025-03-02T09:00:00Z",
        closed_at="2025-03-02T09:00:10Z",
    )
    far_east = receipt(
        vladivostok,
        new_id(),
        lines=[line(1, 12345, "1.000", discount=45)],
        opened_at="2025-03-01T15:00:00Z",
        closed_at="2025-03-01T15:00:05Z",
        payments=[{"payment_type": "card", "amount": 12300}],
    )
    # Sent out of order: what counts is when a receipt closed, not when it arrived.
    send(admin, moscow, doc("receipt", refund, s.refund), doc("receipt", midnight, s.midnight_sale))
    send(admin, moscow, doc("receipt", late, s.late_sale))
    send(admin, vladivostok, doc("receipt", far_east, s.far_east_sale))
    return s


def _daily(admin: TestClient, **params: Any) -> Any:
    answer = admin.get("/api/v1/reports/daily-sales", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_daily_sales_count_each_receipt_on_its_stores_local_day(admin: TestClient, sales: Sales) -> None:
    report = _daily(admin, **{"from": "2025-03-01", "to": "2025-03-02"})

    assert report["rows"] == [
        {
            "business_day": "2025-03-01",
            "store_id": sales.moscow.store_id,
            "receipts": 1,
            "sales_count": 1,
            "returns_count": 0,
            "sales": 15810,
            "returns": 0,
            "net": 15810,
            "discounts": 100,
            "payments": {"card": 10000, "cash": 5810},
        },
        {
            "business_day": "2025-03-02",
            "store_id": sales.moscow.store_id,
            "receipts": 2,
            "sales_count": 1,
            "returns_count": 1,
            "sales": 9999,
            "returns": 5000,
            "net": 4999,
            "discounts": 0,
            "payments": {"cash": 4999},
        },
        {
            "business_day": "2025-03-02",
            "store_id": sales.vladivostok.store_id,
            "receipts": 1,
            "sales_count": 1,
            "returns_count": 0,
            "sales": 12300,
            "returns": 0,
            "net": 12300,
            "discounts": 45,
            "payments": {"card": 12300},
        },
    ]
    assert report["totals"] == {
        "receipts": 4,
        "sales_count": 3,
        "returns_count": 1,
        "sales": 38109,
        "returns": 5000,
        "net": 33109,
        "discounts": 145,
        "payments": {"card": 22300, "cash": 10809},
    }


def test_daily_sales_filter_by_store_and_day(admin: TestClient, sales: Sales) -> None:
    one_day = _daily(admin, store_id=sales.moscow.store_id, **{"from": "2025-03-02", "to": "2025-03-02"})
    assert [(r["business_day"], r["net"]) for r in one_day["rows"]] == [("2025-03-02", 4999)]
    assert _daily(admin, **{"to": "2025-03-01"})["totals"]["net"] == 15810
    assert _daily(admin, **{"from": "2025-03-03"}) == {
        "rows": [],
        "totals": {
            "receipts": 0,
            "sales_count": 0,
            "returns_count": 0,
            "sales": 0,
            "returns": 0,
            "net": 0,
            "discounts": 0,
            "payments": {},
        },
    }


def test_daily_sales_as_csv_in_rubles(admin: TestClient, sales: Sales) -> None:
    answer = admin.get(
        "/api/v1/reports/daily-sales", params={"format": "csv", "from": "2025-03-01", "to": "2025-03-02"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    m, v = sales.moscow.store_id, sales.vladivostok.store_id
    assert answer.text == (
        "business_day,store_id,receipts,sales_count,returns_count,sales,returns,net,discounts,"
        "payment:card,payment:cash\r\n"
        f"2025-03-01,{m},1,1,0,158.10,0.00,158.10,1.00,100.00,58.10\r\n"
        f"2025-03-02,{m},2,1,1,99.99,50.00,49.99,0.00,0.00,49.99\r\n"
        f"2025-03-02,{v},1,1,0,123.00,0.00,123.00,0.45,123.00,0.00\r\n"
    )


def test_daily_sales_take_whole_days_only(admin: TestClient) -> None:
    answer = admin.get("/api/v1/reports/daily-sales", params={"from": "2025-03-01T00:00:00Z"})

    assert answer.status_code == 422
    assert "reports count whole business days" in answer.json()["detail"]


def test_export_csv_has_a_row_per_line_with_the_receipt_repeated(admin: TestClient, sales: Sales) -> None:
    answer = admin.get(
        "/api/v1/export/receipts",
        params={"format": "csv", "store_id": sales.moscow.store_id, "from": "2025-03-01", "to": "2025-03-02"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    t, st, sh = sales.moscow.id, sales.moscow.store_id, sales.shift_id
    assert answer.text == (
        "receipt_id,store_id,terminal_id,shift_id,number,kind,original_receipt_id,cashier_id,opened_at,"
        "closed_at,business_day,receipt_total,receipt_discount,payments,line_no,product_id,article,name,"
        "barcode,quantity,price,discount,amount,vat_rate\r\n"
        f"{sales.late_sale},{st},{t},{sh},1,sale,,cashier-1,2025-03-01T20:58:00Z,2025-03-01T20:59:59Z,"
        "2025-03-01,158.10,1.00,card=100.00;cash=58.10,"
        "1,p1,A1,Товар 1,4600000000001,2.000,50.00,0.00,100.00,20\r\n"
        f"{sales.late_sale},{st},{t},{sh},1,sale,,cashier-1,2025-03-01T20:58:00Z,2025-03-01T20:59:59Z,"
        "2025-03-01,158.10,1.00,card=100.00;cash=58.10,"
        "2,p2,A2,Товар 2,4600000000002,0.455,129.90,1.00,58.10,20\r\n"
        f"{sales.midnight_sale},{st},{t},{sh},2,sale,,cashier-1,2025-03-01T20:59:59Z,2025-03-01T21:00:00Z,"
        "2025-03-02,99.99,0.00,cash=99.99,1,p1,A1,Товар 1,4600000000001,1.000,99.99,0.00,99.99,20\r\n"
        f"{sales.refund},{st},{t},{sh},3,return,{sales.late_sale},cashier-1,2025-03-02T09:00:00Z,"
        "2025-03-02T09:00:10Z,2025-03-02,50.00,0.00,cash=50.00,1,p1,A1,Товар 1,4600000000001,1.000,50.00,"
        "0.00,50.00,20\r\n"
    )


def test_export_json_is_the_list_of_full_receipts(admin: TestClient, sales: Sales) -> None:
    answer = admin.get(
        "/api/v1/export/receipts",
        params={"format": "json", "store_id": sales.moscow.store_id, "from": "2025-03-02T00:00:00+03:00"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    t = sales.moscow
    line_1 = {
        "line_no": 1,
        "product_id": "p1",
        "article": "A1",
        "name": "Товар 1",
        "barcode": "4600000000001",
        "vat_rate": "20",
        "discount": 0,
        "discounts": None,
        "quantity": "1.000",
    }
    common = {
        "store_id": t.store_id,
        "terminal_id": t.id,
        "shift_id": sales.shift_id,
        "cashier_id": "cashier-1",
        "business_day": "2025-03-02",
        "discount_total": 0,
        "fiscal": None,  # old terminals send neither
        "approvals": [],
    }
    assert answer.json() == [
        {
            **common,
            "id": sales.midnight_sale,
            "number": 2,
            "kind": "sale",
            "original_receipt_id": None,
            "opened_at": "2025-03-01T20:59:59Z",
            "closed_at": "2025-03-01T21:00:00Z",
            "lines": [{**line_1, "price": 9999, "amount": 9999}],
            "payments": [{"payment_type": "cash", "amount": 9999, "extra": None}],
            "total": 9999,
        },
        {
            **common,
            "id": sales.refund,
            "number": 3,
            "kind": "return",
            "original_receipt_id": sales.late_sale,
            "opened_at": "2025-03-02T09:00:00Z",
            "closed_at": "2025-03-02T09:00:10Z",
            "lines": [{**line_1, "price": 5000, "amount": 5000}],
            "payments": [{"payment_type": "cash", "amount": 5000, "extra": None}],
            "total": 5000,
        },
    ]
    assert admin.get(f"/api/v1/receipts/{sales.refund}").json() == answer.json()[1]


def test_export_of_nothing_is_an_empty_list(admin: TestClient) -> None:
    answer = admin.get("/api/v1/export/receipts", params={"format": "json"})

    assert answer.status_code == 200
    assert answer.json() == []


def test_export_walks_every_page(admin: TestClient, sales: Sales) -> None:
    pages = list(documents.iter_receipts(ds_of(admin).db, period=Period(), page_size=1))

    assert [[r.id for r in page] for page in pages] == [
        [sales.far_east_sale],
        [sales.late_sale],
        [sales.midnight_sale],
        [sales.refund],
    ]
    csv_text = "".join(documents.receipts_csv(iter(pages)))
    assert csv_text.count("\r\n") == 1 + 5  # the header and a row per line
