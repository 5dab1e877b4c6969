"""CSV import of products, barcodes and prices through the HTTP API and the command line: the report
names every rejected row, valid rows are applied, and importing the same file again changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from osuite.dataserver.catalog_rules import VAT_RATES
from osuite.dataserver.cli import app as cli
from tests.dataserver.test_catalog_support import changes_for, enroll_client, last_seq, latest, make_store, ok

PRODUCTS = """article;name;vat_rate;unit;weighted;category;age_limit;active
1001;Молоко 3,2%;10;шт;0;Молочные продукты/Молоко;;1
1002;Сыр весовой;10%;кг;да;Молочные продукты / Сыры;0;
1003;;20;;;;;
1004;Пиво;18;;;;18;
1005;Гвозди;20;pcs;1;;;
1001;Молоко ещё раз;10;;;;;
1006;Водка;20;;;;25;
1007;Хлеб;10
1008;Вода;Без НДС;;;;;нет
"""


def import_csv(admin: TestClient, kind: str, text: str | bytes, **params: str) -> Any:
    body = text.encode() if isinstance(text, str) else text
    answer = admin.post(
        f"/api/v1/import/{kind}", content=body, params=params, headers={"Content-Type": "text/csv"}
    )
    return ok(answer)


def products_by_article(admin: TestClient) -> dict[str, dict[str, Any]]:
    return {p["article"]: p for p in ok(admin.get("/api/v1/products", params={"limit": 1000}))["items"]}


def test_valid_product_rows_are_applied_and_each_rejected_row_is_reported(admin: TestClient) -> None:
    report = import_csv(admin, "products", PRODUCTS)

    header = ["article", "name", "vat_rate", "unit", "weighted", "category", "age_limit", "active"]

    def row(*cells: str) -> dict[str, str]:
        return dict(zip(header, cells, strict=False))

    assert report == {
        "accepted": 3,
        "rejected": [
            {"line": 4, "reason": "name is empty", "row": row("1003", "", "20", "", "", "", "", "")},
            {
                "line": 5,
                "reason": f"vat_rate '18' is not one of {', '.join(VAT_RATES)}",
                "row": row("1004", "Пиво", "18", "", "", "", "18", ""),
            },
            {
                "line": 6,
                "reason": "a weighted product is sold by kg or l, not by pcs",
                "row": row("1005", "Гвозди", "20", "pcs", "1", "", "", ""),
            },
            {
                "line": 7,
                "reason": "article '1001' is also on line 2",
                "row": row("1001", "Молоко ещё раз", "10", "", "", "", "", ""),
            },
            {
                "line": 8,
                "reason": "age_limit '25' is not a whole number from 0 to 21",
                "row": row("1006", "Водка", "20", "", "", "", "25", ""),
            },
            {
                "line": 9,
                "reason": "expected 8 fields as in the header, found 3",
                "row": row("1007", "Хлеб", "10"),
            },
        ],
    }
    products = products_by_article(admin)
    assert set(products) == {"1001", "1002", "1008"}
    cheese = products["1002"]
    assert (cheese["unit"], cheese["weighted"], cheese["vat_rate"]) == ("kg", True, "10")
    assert (products["1008"]["vat_rate"], products["1008"]["active"]) == ("none", False)
    categories = {c["id"]: c for c in ok(admin.get("/api/v1/categories"))["items"]}
    milk, cheeses = categories[products["1001"]["category_id"]], categories[cheese["category_id"]]
    assert (milk["name"], cheeses["name"]) == ("Молоко", "Сыры")
    assert milk["parent_id"] == cheeses["parent_id"]
    assert categories[milk["parent_id"]]["name"] == "Молочные продукты"


def test_importing_the_same_file_again_changes_nothing(admin: TestClient) -> None:
    first = import_csv(admin, "products", PRODUCTS)
    before, seq = products_by_article(admin), last_seq(admin)

    assert import_csv(admin, "products", PRODUCTS) == first
    assert products_by_article(admin) == before
    assert last_seq(admin) == seq  # nothing republished: terminals download nothing

    fixed = PRODUCTS.replace("1004;Пиво;18;", "1004;Пиво;20;").replace(
        "1001;Молоко 3,2%;", "1001;Молоко 2,5%;"
    )
    report = import_csv(admin, "products", fixed)
    assert report["accepted"] == 4
    assert last_seq(admin) == seq + 2  # the fixed row and the changed one
    assert products_by_article(admin)["1001"]["name"] == "Молоко 2,5%"


def test_windows_1251_with_semicolons_and_utf8_bom_with_commas(admin: TestClient) -> None:
    cp1251 = "article;name;vat_rate\n2001;Кефир «Домик»;10\n".encode("cp1251")
    assert import_csv(admin, "products", cp1251) == {"accepted": 1, "rejected": []}
    bom = '\ufeffarticle,name,vat_rate,category\n2002,"Йогурт, клубника",10,Молочные\n'.encode()
    assert import_csv(admin, "products", bom) == {"accepted": 1, "rejected": []}
    products = products_by_article(admin)
    assert products["2001"]["name"] == "Кефир «Домик»"
    assert products["2002"]["name"] == "Йогурт, клубника"


def test_columns_a_file_lacks_are_left_as_they_are(admin: TestClient) -> None:
    category = ok(admin.post("/api/v1/categories", json={"name": "Алкоголь"}), 201)
    body = {
        "article": "3001",
        "name": "Вино",
        "vat_rate": "20",
        "category_id": category["id"],
        "age_limit": 18,
    }
    created = ok(admin.post("/api/v1/products", json=body), 201)

    assert import_csv(admin, "products", "article;name;vat_rate\n3001;Вино красное;20\n")["accepted"] == 1
    updated = products_by_article(admin)["3001"]
    assert (updated["id"], updated["name"]) == (created["id"], "Вино красное")
    assert (updated["category_id"], updated["age_limit"]) == (category["id"], 18)

    by_id = f"article;name;vat_rate;category\n3002;Сидр;20;{category['id']}\n3001;Вино красное;20;\n"
    assert import_csv(admin, "products", by_id)["accepted"] == 2
    products = products_by_article(admin)
    assert products["3002"]["category_id"] == category["id"]
    assert products["3001"]["category_id"] is None  # an empty cell in a present column clears it


def test_barcodes(admin: TestClient) -> None:
    import_csv(admin, "products", "article;name;vat_rate\n1001;Молоко;10\n1002;Сыр;10\n")
    text = """barcode,article,multiplier
4601234567893,1001,
4601234567890,1001,
96385074,9999,
4601234567893,1002,
INT42,1002,6
96385074,1002,0
"""
    report = import_csv(admin, "barcodes", text)
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (3, "barcode 4601234567890 has check digit 0, expected 3"),
        (4, "no product has article '9999'"),
        (5, "barcode 4601234567893 is also on line 2"),
        (7, "multiplier must be more than 0, got 0.000"),
    ]
    assert report["accepted"] == 2
    products = products_by_article(admin)
    assert ok(admin.get("/api/v1/barcodes/4601234567893"))["product_id"] == products["1001"]["id"]
    int42 = ok(admin.get("/api/v1/barcodes/INT42"))
    assert (int42["product_id"], int42["multiplier"]) == (products["1002"]["id"], "6.000")
    seq = last_seq(admin)
    assert import_csv(admin, "barcodes", text) == report
    assert last_seq(admin) == seq
    moved = import_csv(admin, "barcodes", "barcode;article\n4601234567893;1002\n")
    assert moved == {"accepted": 1, "rejected": []}
    assert ok(admin.get("/api/v1/barcodes/4601234567893"))["product_id"] == products["1002"]["id"]


def test_prices_per_store(admin: TestClient) -> None:
    s1, s2 = make_store(admin, "S1"), make_store(admin, "S2")
    _client, token1 = enroll_client(admin, s1)
    _client, token2 = enroll_client(admin, s2)
    import_csv(admin, "products", "article;name;vat_rate\n1001;Молоко;10\n1002;Сыр;10\n")
    products = products_by_article(admin)
    text = f"""article;price;store
1001;89,90;S1
1001;95.00;{s2}
1002;-1;S1
1003;10;S1
1002;12.345;S1
1002;100;S9
1002;1 200;
"""
    report = import_csv(admin, "prices", text)
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (4, "price '-1' is negative"),
        (5, "no product has article '1003'"),
        (6, "price '12.345' has more than two decimal places"),
        (7, "store 'S9' does not exist"),
        (8, "no store: fill the store column or give the import a store"),
    ]
    assert report["accepted"] == 2
    milk = products["1001"]["id"]
    assert ok(admin.get(f"/api/v1/stores/{s1}/prices/{milk}"))["price"] == 8990
    assert ok(admin.get(f"/api/v1/stores/{s2}/prices/{milk}"))["price"] == 9500
    assert latest(changes_for(admin, token1), "price", f"{s2}:{milk}") is None
    assert latest(changes_for(admin, token2), "price", f"{s2}:{milk}") is not None

    defaulted = import_csv(admin, "prices", text, store="S1")
    assert defaulted["accepted"] == 3
    assert ok(admin.get(f"/api/v1/stores/{s1}/prices/{products['1002']['id']}"))["price"] == 120000
    no_column = import_csv(admin, "prices", "article;price\n1001;10\n", store="S2")
    assert no_column == {"accepted": 1, "rejected": []}


def test_a_form_upload_works_like_a_body(admin: TestClient) -> None:
    answer = admin.post(
        "/api/v1/import/products",
        files={"file": ("товары.csv", "article;name;vat_rate\n1;Чай;20\n".encode("cp1251"), "text/csv")},
    )
    assert ok(answer) == {"accepted": 1, "rejected": []}


@pytest.mark.parametrize(
    ("kind", "body", "params", "detail"),
    [
        (
            "products",
            b"article;name\n1;x\n",
            {},
            "the header lacks column 'vat_rate'; the columns for products",
        ),
        ("products", b"article;name;vat_rate;price\n", {}, "unknown column 'price'"),
        ("products", b"\x98\xff\xfe", {}, "the file is neither UTF-8 nor Windows-1251 text"),
        ("products", b"  \n", {}, "the request has no CSV"),
        ("prices", b"article;price\n1;10\n", {}, "the file has no store column"),
        ("prices", b"article;price\n1;10\n", {"store": "S404"}, "store 'S404' does not exist"),
        ("stock", b"a\n", {}, "kind: Input should be 'products', 'barcodes' or 'prices'"),
    ],
)
def test_a_file_that_cannot_be_read_changes_nothing(
    admin: TestClient, kind: str, body: bytes, params: dict[str, str], detail: str
) -> None:
    seq = last_seq(admin)
    answer = admin.post(
        f"/api/v1/import/{kind}", content=body, params=params, headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 422, answer.text
    assert detail in answer.json()["detail"]
    assert last_seq(admin) == seq


def test_a_read_only_key_cannot_import(admin: TestClient) -> None:
    from osuite.dataserver import clients
    from tests.dataserver.test_catalog_support import data_server

    ds = data_server(admin)
    with ds.db.write() as conn:
        reader = clients.create_api_key(conn, name="reader", scopes=frozenset({"read"}))
    answer = admin.post(
        "/api/v1/import/products",
        content=b"article;name;vat_rate\n1;x;20\n",
        headers={"Authorization": f"Bearer {reader['token']}", "Content-Type": "text/csv"},
    )
    assert answer.status_code == 403


def test_the_command_line_import(admin: TestClient, tmp_path: Path, db_url: str) -> None:
    make_store(admin, "S1")
    products = tmp_path / "products.csv"
    products.write_bytes("article;name;vat_rate\n1;Чай;20\n2;;20\n".encode("cp1251"))
    prices = tmp_path / "prices.csv"
    prices.write_text("article;price\n1;99.90\n", encoding="utf-8")
    where = ["--data-dir", str(tmp_path / "cli"), "--database-url", db_url]

    runner = CliRunner()
    result = runner.invoke(cli, ["import", "products", str(products), *where])
    assert result.exit_code == 1, result.output
    assert "line 3: name is empty" in result.stderr
    assert "1 rows accepted, 1 rejected" in result.stdout

    result = runner.invoke(cli, ["import", "prices", str(prices), "--store", "S1", *where])
    assert result.exit_code == 0, result.output
    assert "1 rows accepted, 0 rejected" in result.stdout
    assert products_by_article(admin)["1"]["name"] == "Чай"

    result = runner.invoke(cli, ["import", "prices", str(prices), *where])
    assert result.exit_code == 1
    assert "the file has no store column" in result.stderr
    result = runner.invoke(cli, ["import", "stock", str(prices), *where])
    assert result.exit_code == 2


def test_imported_rows_publish_exactly_their_read_models(admin: TestClient) -> None:
    store_id = make_store(admin, "S1")
    _client, token = enroll_client(admin, store_id)
    import_csv(admin, "products", "article;name;vat_rate;unit;weighted\n1;Сыр;10;kg;1\n")
    product = products_by_article(admin)["1"]
    import_csv(admin, "barcodes", "barcode;article;multiplier\n4601234567893;1;1.5\n")
    import_csv(admin, "prices", "article;price\n1;450.5\n", store="S1")
    pulled = changes_for(admin, token)
    barcode = ok(admin.get("/api/v1/barcodes/4601234567893"))
    price = ok(admin.get(f"/api/v1/stores/{store_id}/prices/{product['id']}"))
    assert latest(pulled, "product", product["id"])["payload"] == product  # type: ignore[index]
    assert latest(pulled, "barcode", "4601234567893")["payload"] == barcode  # type: ignore[index]
    assert latest(pulled, "price", f"{store_id}:{product['id']}")["payload"] == price  # type: ignore[index]
    assert (barcode["multiplier"], price["price"]) == ("1.500", 45050)


def test_a_row_with_a_nul_character_is_rejected_alone(admin: TestClient) -> None:
    report = import_csv(admin, "products", "article;name;vat_rate\n1;Чай\x00;20\n2;Кофе;20\n")
    assert report == {
        "accepted": 1,
        "rejected": [
            {
                "line": 2,
                "reason": "the row has a NUL character",
                "row": {"article": "1", "name": "Чай", "vat_rate": "20"},
            }
        ],
    }
