"""The sample store: generated rows a till and a scale could really use, a load that is safe to repeat,
and people who can log in with the PINs the demo prints."""

from __future__ import annotations

import hashlib
import itertools
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from osuite.cli import app as osuite_app
from osuite.core.barcodes import DEFAULT_TEMPLATES, Gtin, InStoreCode, is_valid_gtin, parse_scan
from osuite.core.security import verify_secret
from osuite.dataserver import catalog_rules, sample_catalog, tables
from osuite.dataserver.context import DataServer
from osuite.dataserver.sample_catalog import SampleProduct, generate_products, load_sample
from osuite.dataserver.settings import DataServerSettings
from tests.dataserver.test_catalog_support import changes_for, data_server, enroll_client, ok

ROWS = 20_000
FOOD_AT_10 = ("dairy", "bakery", "meat", "produce", "grocery-groats", "grocery-pasta")


@pytest.fixture(scope="module")
def rows() -> list[SampleProduct]:
    return list(generate_products(ROWS, seed=3))


# --- generated rows ---------------------------------------------------------------------------------


def test_every_barcode_is_a_valid_russian_ean13_and_unique(rows: list[SampleProduct]) -> None:
    codes = [code for row in rows for code, _factor in row.barcodes]
    assert len(codes) > ROWS * 0.8
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert is_valid_gtin(code), code
        assert len(code) == 13 and "460" <= code[:3] <= "469", code
        assert isinstance(parse_scan(code, DEFAULT_TEMPLATES), Gtin)  # never taken for a scale's label


def test_articles_are_unique_and_weighted_ones_are_scale_item_codes(rows: list[SampleProduct]) -> None:
    assert len({row.article for row in rows}) == len(rows)
    weighted = [row for row in rows if row.weighted]
    assert 0.08 * ROWS < len(weighted) < 0.25 * ROWS
    for row in weighted:
        assert len(row.article) == 5 and row.article.isdigit(), row
        assert row.unit == "kg" and row.barcodes == ()
    for row in rows:
        if not row.weighted:
            assert row.unit == "pcs" and len(row.article) >= 6 and row.barcodes


def test_a_weighted_products_scale_label_reads_back_as_that_product(rows: list[SampleProduct]) -> None:
    by_article = {row.article: row for row in rows}
    for row in itertools.islice((r for r in rows if r.weighted), 500):
        weight = Decimal("0.537")
        scanned = parse_scan(sample_catalog.in_store_barcode(row, weight), DEFAULT_TEMPLATES)
        assert isinstance(scanned, InStoreCode)
        assert by_article[scanned.item_code] is row
        assert scanned.weight == weight
        priced = parse_scan(sample_catalog.in_store_barcode(row, 28_453, "price"), DEFAULT_TEMPLATES)
        assert isinstance(priced, InStoreCode)
        assert priced.item_code == row.article and priced.price == 28_453


def test_prices_vat_and_age_limits_are_as_on_real_shelves(rows: list[SampleProduct]) -> None:
    for row in rows:
        assert row.price % 100 in (90, 99) and row.price >= 990, row
        food = row.category_id.startswith(FOOD_AT_10)
        assert row.vat_rate == ("10" if food else "20"), row
        assert row.age_limit == (18 if row.category_id.startswith("alcohol") else 0), row
        assert row.category == sample_catalog.category_path(row.category_id)
    multipacks = [row for row in rows if len(row.barcodes) == 2]
    assert multipacks and all(row.barcodes[1][1] in (4, 6) for row in multipacks)
    assert {row.category_id for row in multipacks} <= {
        "dairy-kefir",
        "drinks-water",
        "drinks-juice",
        "alcohol-beer",
    }


def test_the_default_sample_has_no_two_products_with_one_name() -> None:
    names = [row.name for row in generate_products(sample_catalog.DEFAULT_PRODUCTS)]
    assert len(set(names)) == len(names)
    assert "  " not in "".join(names) and " ," not in "".join(names)


def _digest(rows: Any) -> str:
    hashed = hashlib.sha256()
    for row in rows:
        hashed.update(repr(row).encode())
    return hashed.hexdigest()


def test_generation_is_deterministic_per_seed_and_a_larger_sample_extends_a_smaller() -> None:
    first = _digest(generate_products(100_000, seed=1))
    assert _digest(generate_products(100_000, seed=1)) == first
    small = list(generate_products(1000, seed=1))
    assert small == list(itertools.islice(generate_products(100_000, seed=1), 1000))
    assert small != list(generate_products(1000, seed=2))
    chunks = list(sample_catalog.generate_chunks(2500, seed=1, size=1000))
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    assert chunks[0] == small


def test_weighted_products_stop_at_what_a_scale_code_can_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sample_catalog, "MAX_WEIGHTED", 7)
    rows = list(generate_products(500))
    assert [row.article for row in rows if row.weighted] == [f"{n:05d}" for n in range(1, 8)]
    assert len({row.article for row in rows}) == 500


def test_roles_are_cashiers_a_store_manager_an_auditor_and_administrator() -> None:
    roles = {role.id: set(role.permissions) for role in sample_catalog.ROLES}
    cashier = {"sell", "return", "x_report", "open_shift", "close_shift", "cash_in"}
    assert roles["cashier"] == cashier
    assert roles["senior-cashier"] == cashier | {
        "void_line",
        "discount",
        "cancel_receipt",
        "return_without_receipt",
        "cash_out",
        "open_drawer",
    }
    assert roles["store-manager"] == roles["senior-cashier"] | {"manage_catalog", "view_reports"}
    assert roles["auditor"] == {"view_reports"}
    assert roles["administrator"] == set(catalog_rules.PERMISSIONS)


# --- loading ----------------------------------------------------------------------------------------


def _counts(ds: DataServer) -> dict[str, int]:
    with ds.db.read() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (
                tables.stores,
                tables.categories,
                tables.products,
                tables.barcodes,
                tables.prices,
                tables.barcode_templates,
                tables.payment_types,
                tables.promotions,
                tables.roles,
                tables.users,
                tables.terminal_settings,
            )
        }


def test_loading_twice_gives_the_same_data_and_publishes_nothing_new(admin: TestClient) -> None:
    ds = data_server(admin)
    first = load_sample(ds, products=400)
    assert first["store"]["created"] is True
    counts = _counts(ds)
    sample = list(generate_products(400))
    assert counts == {
        "stores": 1,
        "categories": len(sample_catalog.CATEGORIES),
        "products": 400,
        "barcodes": sum(len(r.barcodes) for r in sample),
        "prices": 400,
        "barcode_templates": len(DEFAULT_TEMPLATES),
        "payment_types": 2,
        "promotions": 5,
        "roles": len(sample_catalog.ROLES),
        "users": len(sample_catalog.USERS),
        "terminal_settings": 1,
    }
    assert first["published"] == sum(counts.values())  # each row reached the change log once

    again = load_sample(ds, products=400)
    assert again["store"] == {**first["store"], "created": False}
    assert _counts(ds) == counts
    assert again["published"] == 0
    assert {k: v for k, v in again.items() if k not in ("store", "published", "seconds")} == {
        k: v for k, v in first.items() if k not in ("store", "published", "seconds")
    }


def test_a_larger_sample_only_adds_and_a_store_edit_is_set_back(admin: TestClient) -> None:
    ds = data_server(admin)
    load_sample(ds, products=100)
    article = next(r.article for r in generate_products(100) if not r.weighted)
    product = ok(admin.get("/api/v1/products", params={"article": article}))["items"][0]
    ok(admin.patch(f"/api/v1/products/{product['id']}", json={"name": "Переименован"}))
    grown = load_sample(ds, products=150)
    assert _counts(ds)["products"] == 150
    assert ok(admin.get(f"/api/v1/products/{product['id']}"))["name"] != "Переименован"
    new_barcodes = sum(len(r.barcodes) for r in itertools.islice(generate_products(150), 100, 150))
    assert grown["published"] == 1 + 50 + new_barcodes + 50  # the set-back product, then what is new


def test_the_sample_people_log_in_with_the_printed_pins_and_password(admin: TestClient) -> None:
    ds = data_server(admin)
    load_sample(ds, products=10)
    with ds.db.read() as conn:
        users = {row.login: row for row in conn.execute(select(tables.users))}
    assert verify_secret("1111", users["ivanova"].pin_hash)
    assert verify_secret("2222", users["petrov"].pin_hash)
    assert verify_secret("9999", users["sidorova"].pin_hash)
    assert not verify_secret("1111", users["petrov"].pin_hash)
    assert users["admin"].pin_hash is None
    assert verify_secret("admin-demo", users["admin"].password_hash)
    shown = {u["login"]: u for u in ok(admin.get("/api/v1/users"))["items"]}
    assert shown["sidorova"]["name"] == "Сидорова Мария"
    assert shown["sidorova"]["roles"] == ["senior-cashier"]


def test_a_changed_pin_is_set_back_and_only_that_user_is_republished(admin: TestClient) -> None:
    ds = data_server(admin)
    load_sample(ds, products=10)
    ok(admin.patch("/api/v1/users/petrov", json={"pin": "5555"}))
    again = load_sample(ds, products=10)
    assert again["published"] == 1
    with ds.db.read() as conn:
        pin_hash = conn.execute(select(tables.users.c.pin_hash).where(tables.users.c.id == "petrov")).scalar()
    assert verify_secret("2222", pin_hash)


def test_a_terminal_of_the_store_receives_the_sample_and_can_sell_from_it(admin: TestClient) -> None:
    ds = data_server(admin)
    summary = load_sample(ds, products=200)
    _client_id, token = enroll_client(admin, summary["store"]["id"])
    pulled = changes_for(admin, token)
    by_entity: dict[str, int] = {}
    for change in pulled:
        by_entity[change["entity"]] = by_entity.get(change["entity"], 0) + 1
    assert by_entity["product"] == 200
    assert by_entity["price"] == 200
    assert by_entity["barcode"] == summary["barcodes"]
    assert by_entity["barcode_template"] == 3
    assert by_entity["user"] == len(sample_catalog.USERS) and by_entity["role"] == len(sample_catalog.ROLES)
    assert by_entity["payment_type"] == 2
    assert by_entity["promotion"] == 5
    assert by_entity["terminal_settings"] == 1
    settings = next(c for c in pulled if c["entity"] == "terminal_settings")["payload"]["values"]
    assert settings["max_shift_hours"] == 24 and settings["language"] == "ru"
    cashier = next(c for c in pulled if c["entity"] == "user" and c["key"] == "ivanova")["payload"]
    assert verify_secret("1111", cashier["pin_hash"])  # checked offline at the till

    row = next(r for r in generate_products(200) if len(r.barcodes) == 2)
    found = ok(admin.get("/api/v1/products", params={"barcode": row.barcodes[1][0]}))["items"]
    assert [p["article"] for p in found] == [row.article]
    pack = ok(admin.get(f"/api/v1/barcodes/{row.barcodes[1][0]}"))
    assert Decimal(pack["multiplier"]) == row.barcodes[1][1]
    price = ok(admin.get(f"/api/v1/stores/{summary['store']['id']}/prices/{found[0]['id']}"))
    assert price["price"] == row.price


def test_the_sample_promotions_cover_every_kind_and_an_edit_is_set_back(admin: TestClient) -> None:
    ds = data_server(admin)
    summary = load_sample(ds, products=10)  # no juice among the first ten products
    assert summary["promotions"] == [
        "sample-cheese-10",
        "sample-yogurt-3for2",
        "sample-bakery-evening",
        "sample-receipt-3000",
    ]
    yogurt = next(r for r in generate_products(10) if r.category_id == "dairy-kefir" and not r.weighted)
    [product] = ok(admin.get("/api/v1/products", params={"article": yogurt.article}))["items"]
    three_for_two = ok(admin.get("/api/v1/promotions/sample-yogurt-3for2"))
    assert (three_for_two["kind"], three_for_two["buy"], three_for_two["pay"]) == ("n_for_m", 3, 2)
    assert three_for_two["product_ids"] == [product["id"]]
    evening = ok(admin.get("/api/v1/promotions/sample-bakery-evening"))
    assert (evening["category_ids"], evening["time_from"], evening["time_to"]) == (
        ["bakery"],
        "20:00:00",
        "23:00:00",
    )
    receipt = ok(admin.get("/api/v1/promotions/sample-receipt-3000"))
    assert (receipt["threshold"], receipt["percent"], receipt["stackable"]) == (300_000, "5.00", False)

    ok(
        admin.put(
            "/api/v1/promotions/sample-cheese-10", json={"name": "x", "kind": "percent_off", "percent": 50}
        )
    )
    again = load_sample(ds, products=40)
    new_barcodes = sum(len(r.barcodes) for r in itertools.islice(generate_products(40), 10, 40))
    assert again["published"] == 1 + 30 + new_barcodes + 30 + 1  # the set-back one, what is new, the juice
    assert ok(admin.get("/api/v1/promotions/sample-cheese-10"))["percent"] == "10.00"
    juice = ok(admin.get("/api/v1/promotions/sample-juice-20rub"))
    assert (juice["kind"], juice["amount"]) == ("amount_off", 2000)


def test_an_existing_store_and_same_named_categories_and_roles_are_reused(admin: TestClient) -> None:
    ds = data_server(admin)
    dairy = ok(admin.post("/api/v1/categories", json={"name": "молочные продукты"}), 201)
    role = ok(admin.post("/api/v1/roles", json={"name": "Кассир", "permissions": ["sell"]}), 201)
    ok(admin.post("/api/v1/stores", json={"code": "S007", "name": "Магазин на Мира"}), 201)
    summary = load_sample(ds, store_code="S007", products=50)
    assert summary["store"]["created"] is False and summary["store"]["name"] == "Магазин на Мира"
    milk = ok(admin.get("/api/v1/categories/dairy-milk"))
    assert milk["parent_id"] == dairy["id"]
    assert admin.get("/api/v1/categories/dairy").status_code == 404
    assert ok(admin.get("/api/v1/users/ivanova"))["roles"] == [role["id"]]
    assert _counts(ds)["stores"] == 1


def test_the_load_sample_command_creates_the_store_and_is_idempotent(ds_settings: DataServerSettings) -> None:
    runner = CliRunner()
    args = [
        "dataserver",
        "load-sample",
        "--products",
        "60",
        "--store",
        "S002",
        "--data-dir",
        str(ds_settings.data_dir),
        "--database-url",
        ds_settings.database_url,
    ]
    first = runner.invoke(osuite_app, args)
    assert first.exit_code == 0, first.output
    assert "store S002" in first.output and "(created)" in first.output
    assert "60 products" in first.output and "Иванова Анна PIN 1111" in first.output
    second = runner.invoke(osuite_app, args)
    assert second.exit_code == 0, second.output
    assert "(already there)" in second.output
    assert "0 changes published" in second.output
