"""The catalog, prices, people and terminal settings through the real HTTP app: CRUD, the rules that
refuse bad input without changing anything, and who hears about each change through sync."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from osuite.core.barcodes import DEFAULT_TEMPLATES
from osuite.core.security import verify_secret
from osuite.dataserver import clients
from osuite.dataserver.wire.catalog import ProductRead
from tests.dataserver.test_catalog_support import (
    changes_for,
    data_server,
    enroll_client,
    last_seq,
    latest,
    make_store,
    ok,
)

EAN13 = "4601234567893"
EAN8 = "96385074"
UPCA = "036000291452"


def _product(admin: TestClient, article: str = "1001", **fields: Any) -> dict[str, Any]:
    body = {"article": article, "name": f"Товар {article}", "vat_rate": "20", **fields}
    return ok(admin.post("/api/v1/products", json=body), 201)  # type: ignore[no-any-return]


def _category(admin: TestClient, name: str, parent_id: str | None = None) -> dict[str, Any]:
    return ok(admin.post("/api/v1/categories", json={"name": name, "parent_id": parent_id}), 201)  # type: ignore[no-any-return]


def _refused(admin: TestClient, method: str, path: str, status: int, detail: str, **kwargs: Any) -> None:
    """The request is refused with ``status`` and a detail containing ``detail``, and the change log
    (hence every table the catalog writes) is exactly as it was."""
    before = last_seq(admin)
    answer = admin.request(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert detail in answer.json()["detail"], answer.json()["detail"]
    assert last_seq(admin) == before


# --- categories -------------------------------------------------------------------------------------


def test_categories_are_created_renamed_moved_and_deleted(admin: TestClient) -> None:
    dairy = _category(admin, "Молочные продукты")
    cheese = _category(admin, "Сыры", dairy["id"])
    assert ok(admin.get(f"/api/v1/categories/{cheese['id']}"))["parent_id"] == dairy["id"]

    renamed = ok(admin.put(f"/api/v1/categories/{cheese['id']}", json={"name": "Сыры твёрдые", "sort": 5}))
    assert renamed["parent_id"] is None  # PUT replaces every field
    assert renamed["sort"] == 5
    moved = ok(admin.patch(f"/api/v1/categories/{cheese['id']}", json={"parent_id": dairy["id"]}))
    assert (moved["name"], moved["parent_id"], moved["sort"]) == ("Сыры твёрдые", dairy["id"], 5)

    ok(admin.delete(f"/api/v1/categories/{cheese['id']}"), 204)
    assert admin.get(f"/api/v1/categories/{cheese['id']}").status_code == 404


def test_a_category_cannot_go_under_itself_or_its_descendants(admin: TestClient) -> None:
    top = _category(admin, "A")
    middle = _category(admin, "B", top["id"])
    bottom = _category(admin, "C", middle["id"])

    for parent in (bottom["id"], top["id"]):
        _refused(
            admin,
            "PATCH",
            f"/api/v1/categories/{top['id']}",
            422,
            "that category is inside it",
            json={"parent_id": parent},
        )
    assert ok(admin.get(f"/api/v1/categories/{top['id']}"))["parent_id"] is None


def test_category_parent_must_exist_and_sibling_names_differ(admin: TestClient) -> None:
    _refused(
        admin,
        "POST",
        "/api/v1/categories",
        422,
        "parent category nope does not exist",
        json={"name": "X", "parent_id": "nope"},
    )
    _category(admin, "Напитки")
    _refused(admin, "POST", "/api/v1/categories", 409, "already exists", json={"name": "НАПИТКИ"})


def test_a_category_with_children_or_products_is_not_deleted(admin: TestClient) -> None:
    parent = _category(admin, "Бакалея")
    child = _category(admin, "Крупы", parent["id"])
    _refused(
        admin, "DELETE", f"/api/v1/categories/{parent['id']}", 409, "'Бакалея' has 1 subcategory: move or"
    )
    _product(admin, category_id=child["id"])
    _refused(admin, "DELETE", f"/api/v1/categories/{child['id']}", 409, "'Крупы' has 1 product: move them")


# --- products ---------------------------------------------------------------------------------------


def test_product_crud(admin: TestClient) -> None:
    category = _category(admin, "Сыры")
    created = _product(admin, "A-1", unit="kg", weighted=True, category_id=category["id"], age_limit=0)
    assert created["weighted"] is True
    assert ok(admin.get(f"/api/v1/products/{created['id']}")) == created

    body = {"article": "A-1", "name": "Сыр Российский", "vat_rate": "10", "unit": "kg"}
    replaced = ok(admin.put(f"/api/v1/products/{created['id']}", json=body))
    assert (replaced["name"], replaced["weighted"], replaced["category_id"]) == (
        "Сыр Российский",
        False,
        None,
    )
    patched = ok(admin.patch(f"/api/v1/products/{created['id']}", json={"active": False, "age_limit": 18}))
    assert (patched["active"], patched["age_limit"], patched["name"]) == (False, 18, "Сыр Российский")

    ok(admin.delete(f"/api/v1/products/{created['id']}"), 204)
    assert admin.get(f"/api/v1/products/{created['id']}").status_code == 404


def test_a_product_with_an_own_id_keeps_it(admin: TestClient) -> None:
    created = _product(admin, id="erp-000123")
    assert created["id"] == "erp-000123"
    _refused(
        admin,
        "POST",
        "/api/v1/products",
        409,
        "product erp-000123 already exists",
        json={"id": "erp-000123", "article": "other", "name": "x", "vat_rate": "20"},
    )


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"unit": "pcs", "weighted": True}, "a weighted product is sold by kg or l, not by pcs"),
        ({"vat_rate": "18"}, "vat_rate: Input should be"),
        ({"age_limit": 22}, "age_limit: Input should be less than or equal to 21"),
        ({"unit": "box"}, "unit: Input should be 'pcs', 'kg' or 'l'"),
        ({"name": "   "}, "name: String should have at least 1 character"),
        ({"category_id": "missing"}, "category missing does not exist"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
    ],
)
def test_invalid_products_are_refused(admin: TestClient, fields: dict[str, Any], detail: str) -> None:
    body = {"article": "B-1", "name": "Пиво", "vat_rate": "20", **fields}
    _refused(admin, "POST", "/api/v1/products", 422, detail, json=body)
    assert ok(admin.get("/api/v1/products"))["items"] == []


def test_vat_rates_of_2025_and_2026_are_accepted(admin: TestClient) -> None:
    for article, rate in enumerate(("none", "0", "5", "7", "10", "20", "22", "5/105", "7/107", "22/122")):
        assert _product(admin, str(article), vat_rate=rate)["vat_rate"] == rate


def test_an_article_belongs_to_one_product(admin: TestClient) -> None:
    first = _product(admin, "X1")
    second = _product(admin, "X2")
    _refused(
        admin,
        "POST",
        "/api/v1/products",
        409,
        f"article 'X1' already belongs to product 'Товар X1' ({first['id']})",
        json={"article": "X1", "name": "dup", "vat_rate": "20"},
    )
    _refused(admin, "PATCH", f"/api/v1/products/{second['id']}", 409, "article 'X1'", json={"article": "X1"})
    weighted = {"weighted": True}
    _refused(admin, "PATCH", f"/api/v1/products/{second['id']}", 422, "sold by kg or l", json=weighted)
    assert ok(admin.get(f"/api/v1/products/{second['id']}")) == second


def test_products_are_found_by_name_in_any_case_by_article_and_by_barcode(admin: TestClient) -> None:
    cheese = _product(admin, "1", name="Сыр Пошехонский")
    _product(admin, "2", name="Молоко «Ёлочка» 3,2%")
    _product(admin, "3", name="Cheddar cheese 50%_off")
    ok(admin.post("/api/v1/barcodes", json={"code": EAN13, "product_id": cheese["id"]}), 201)

    def names(**params: str) -> list[str]:
        return [p["name"] for p in ok(admin.get("/api/v1/products", params=params))["items"]]

    assert names(q="СЫР") == ["Сыр Пошехонский"]
    assert names(q="пошехон") == ["Сыр Пошехонский"]
    assert names(q="елочка") == ["Молоко «Ёлочка» 3,2%"]  # ё is searched as е
    assert names(q="CHEESE") == ["Cheddar cheese 50%_off"]
    assert names(q="%") == ["Молоко «Ёлочка» 3,2%", "Cheddar cheese 50%_off"]  # no wildcards
    assert names(q="0%_") == ["Cheddar cheese 50%_off"]
    assert names(article="2") == ["Молоко «Ёлочка» 3,2%"]
    assert names(barcode=EAN13) == ["Сыр Пошехонский"]
    assert names(barcode="4600000000000") == []


def test_lists_page_by_cursor(admin: TestClient) -> None:
    created = sorted(_product(admin, f"P{i}")["id"] for i in range(7))
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"after": after} if after else {})
        page = ok(admin.get("/api/v1/products", params=params))
        seen += [p["id"] for p in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == created
    assert admin.get("/api/v1/products", params={"limit": 0}).status_code == 422


# --- barcodes ---------------------------------------------------------------------------------------


def test_barcodes_of_every_kind(admin: TestClient) -> None:
    product = _product(admin)
    for code in (EAN13, EAN8, UPCA, "INT0001", "2100001000004"):
        created = ok(admin.post("/api/v1/barcodes", json={"code": code, "product_id": product["id"]}), 201)
        assert created["multiplier"] == "1.000"
    spaced = {"code": "4 607001 771135", "product_id": product["id"], "multiplier": "6"}
    assert ok(admin.post("/api/v1/barcodes", json=spaced), 201)["code"] == "4607001771135"
    listed = ok(admin.get("/api/v1/barcodes", params={"product_id": product["id"]}))["items"]
    assert {b["code"]: b["multiplier"] for b in listed}["4607001771135"] == "6.000"


@pytest.mark.parametrize(
    ("code", "multiplier", "detail"),
    [
        ("4601234567890", "1", "barcode 4601234567890 has check digit 0, expected 3"),
        ("96385075", "1", "check digit 5, expected 4"),
        ("036000291459", "1", "check digit 9, expected 2"),
        ("ABC-1", "1", "an internal code may only have Latin letters and digits"),
        ("Ш123", "1", "an internal code may only have Latin letters and digits"),
        (EAN13, "0", "multiplier: Input should be greater than 0"),
        (EAN13, "1.2345", "multiplier: Decimal input should have no more than 3 decimal places"),
    ],
)
def test_invalid_barcodes_are_refused(admin: TestClient, code: str, multiplier: str, detail: str) -> None:
    product = _product(admin)
    body = {"code": code, "product_id": product["id"], "multiplier": multiplier}
    _refused(admin, "POST", "/api/v1/barcodes", 422, detail, json=body)


def test_a_barcode_sells_one_product(admin: TestClient) -> None:
    first, second = _product(admin, "1"), _product(admin, "2")
    ok(admin.post("/api/v1/barcodes", json={"code": EAN13, "product_id": first["id"]}), 201)
    _refused(
        admin,
        "POST",
        "/api/v1/barcodes",
        409,
        f"barcode {EAN13} already belongs to product {first['id']}",
        json={"code": EAN13, "product_id": second["id"]},
    )
    _refused(
        admin,
        "POST",
        "/api/v1/barcodes",
        422,
        "product ghost does not exist",
        json={"code": EAN8, "product_id": "ghost"},
    )
    moved = ok(admin.put(f"/api/v1/barcodes/{EAN13}", json={"product_id": second["id"], "multiplier": 2}))
    assert (moved["product_id"], moved["multiplier"]) == (second["id"], "2.000")
    ok(admin.delete(f"/api/v1/barcodes/{EAN13}"), 204)
    assert admin.get(f"/api/v1/barcodes/{EAN13}").status_code == 404


def test_deleting_a_product_deletes_its_barcodes_and_prices_and_says_so(admin: TestClient) -> None:
    store_id = make_store(admin)
    _client, token = enroll_client(admin, store_id)
    product = _product(admin)
    ok(admin.post("/api/v1/barcodes", json={"code": EAN13, "product_id": product["id"]}), 201)
    ok(admin.put(f"/api/v1/stores/{store_id}/prices/{product['id']}", json={"price": 9990}))
    since = changes_for(admin, token)[-1]["seq"]

    ok(admin.delete(f"/api/v1/products/{product['id']}"), 204)

    after = changes_for(admin, token, since)
    assert {(c["entity"], c["key"], c["op"]) for c in after} == {
        ("barcode", EAN13, "delete"),
        ("price", f"{store_id}:{product['id']}", "delete"),
        ("product", product["id"], "delete"),
    }
    assert admin.get(f"/api/v1/barcodes/{EAN13}").status_code == 404


# --- prices -----------------------------------------------------------------------------------------


def test_prices_are_per_store_and_reach_only_that_store(admin: TestClient) -> None:
    here, there = make_store(admin), make_store(admin)
    _client, token_here = enroll_client(admin, here)
    _client, token_there = enroll_client(admin, there)
    product = _product(admin)

    price = ok(admin.put(f"/api/v1/stores/{here}/prices/{product['id']}", json={"price": 12345}))
    assert price["price"] == 12345
    assert ok(admin.get(f"/api/v1/stores/{here}/prices"))["items"] == [price]
    assert ok(admin.get(f"/api/v1/stores/{there}/prices"))["items"] == []
    assert ok(admin.get(f"/api/v1/stores/{here}/prices/{product['id']}")) == price

    key = f"{here}:{product['id']}"
    pulled = latest(changes_for(admin, token_here), "price", key)
    assert pulled is not None
    assert pulled["payload"] == price
    assert latest(changes_for(admin, token_there), "price", key) is None

    ok(admin.delete(f"/api/v1/stores/{here}/prices/{product['id']}"), 204)
    gone = latest(changes_for(admin, token_here, pulled["seq"]), "price", key)
    assert gone is not None
    assert gone["op"] == "delete"


def test_invalid_prices_are_refused(admin: TestClient) -> None:
    store_id = make_store(admin)
    product = _product(admin)
    path = f"/api/v1/stores/{store_id}/prices/{product['id']}"
    _refused(admin, "PUT", path, 422, "price: Input should be greater than or equal to 0", json={"price": -1})
    _refused(admin, "PUT", path, 422, "price: Input should be a valid integer", json={"price": 1.5})
    _refused(
        admin,
        "PUT",
        f"/api/v1/stores/nowhere/prices/{product['id']}",
        404,
        "store nowhere",
        json={"price": 1},
    )
    _refused(admin, "PUT", f"/api/v1/stores/{store_id}/prices/ghost", 404, "product ghost", json={"price": 1})


# --- barcode templates and payment types ------------------------------------------------------------


def test_barcode_templates(admin: TestClient) -> None:
    weight = DEFAULT_TEMPLATES[0].model_dump()
    created = ok(admin.post("/api/v1/barcode-templates", json={"template": weight}), 201)
    assert created["template"] == weight
    ds = data_server(admin)
    with ds.db.read() as conn:
        stored = conn.execute(text("SELECT name, definition FROM barcode_templates")).one()
    assert stored.name == "weight"
    assert "prefixes" in stored.definition

    clash = {**DEFAULT_TEMPLATES[1].model_dump(), "prefixes": ["22", "21"]}
    _refused(
        admin,
        "POST",
        "/api/v1/barcode-templates",
        409,
        "prefix 21 is already read by template 'weight'",
        json={"template": clash},
    )
    broken = {**weight, "prefixes": ["46"]}
    _refused(
        admin, "POST", "/api/v1/barcode-templates", 422, "not for in-store use", json={"template": broken}
    )

    updated = ok(
        admin.put(f"/api/v1/barcode-templates/{created['id']}", json={"template": {**weight, "name": "вес"}})
    )
    assert updated["template"]["name"] == "вес"
    ok(admin.delete(f"/api/v1/barcode-templates/{created['id']}"), 204)


def test_payment_types(admin: TestClient) -> None:
    cash = ok(
        admin.post("/api/v1/payment-types", json={"code": "CASH", "name": "Наличные", "method": "cash"}), 201
    )
    assert cash["active"] is True
    _refused(
        admin,
        "POST",
        "/api/v1/payment-types",
        409,
        "payment type CASH already exists",
        json={"code": "CASH", "name": "x", "method": "cash"},
    )
    _refused(
        admin,
        "POST",
        "/api/v1/payment-types",
        422,
        "method: Input should be",
        json={"code": "CRYPTO", "name": "x", "method": "crypto"},
    )
    patched = ok(admin.patch("/api/v1/payment-types/CASH", json={"sort": 1, "active": False}))
    assert (patched["name"], patched["sort"], patched["active"]) == ("Наличные", 1, False)
    ok(admin.put("/api/v1/payment-types/CASH", json={"name": "Cash", "method": "cash"}))
    assert [p["code"] for p in ok(admin.get("/api/v1/payment-types"))["items"]] == ["CASH"]
    ok(admin.delete("/api/v1/payment-types/CASH"), 204)
    assert admin.get("/api/v1/payment-types/CASH").status_code == 404


# --- roles and users --------------------------------------------------------------------------------


def test_roles_take_permissions_from_the_catalogue(admin: TestClient) -> None:
    catalogue = ok(admin.get("/api/v1/permissions"))
    assert {"sell", "return_without_receipt", "manage_catalog", "x_report"} <= set(catalogue)
    role = ok(
        admin.post("/api/v1/roles", json={"name": "Кассир", "permissions": ["sell", "x_report", "sell"]}), 201
    )
    assert role["permissions"] == ["sell", "x_report"]
    _refused(
        admin,
        "POST",
        "/api/v1/roles",
        422,
        "permissions.0: Input should be",
        json={"name": "Хакер", "permissions": ["fly"]},
    )
    _refused(admin, "POST", "/api/v1/roles", 409, "role 'Кассир'", json={"name": "кассир"})
    patched = ok(admin.patch(f"/api/v1/roles/{role['id']}", json={"permissions": ["sell", "return"]}))
    assert (patched["name"], patched["permissions"]) == ("Кассир", ["sell", "return"])


def test_a_role_in_use_is_not_deleted(admin: TestClient) -> None:
    role = ok(admin.post("/api/v1/roles", json={"name": "Старший кассир"}), 201)
    ok(
        admin.post(
            "/api/v1/users",
            json={"login": "ivanova", "name": "Иванова", "pin": "1234", "roles": [role["id"]]},
        ),
        201,
    )
    _refused(admin, "DELETE", f"/api/v1/roles/{role['id']}", 409, "is given to 1 user (ivanova)")


def test_a_pin_is_never_shown_but_its_hash_reaches_terminals(admin: TestClient) -> None:
    store_id = make_store(admin)
    _client, token = enroll_client(admin, store_id)
    role = ok(admin.post("/api/v1/roles", json={"name": "Кассир", "permissions": ["sell"]}), 201)
    body = {"login": "petrov", "name": "Петров П.", "pin": "0451", "roles": [role["id"]]}
    created = ok(admin.post("/api/v1/users", json=body), 201)

    for shown in (
        created,
        ok(admin.get(f"/api/v1/users/{created['id']}")),
        ok(admin.get("/api/v1/users"))["items"][0],
    ):
        assert "0451" not in str(shown)
        assert "pin" not in shown
        assert "pin_hash" not in shown
        assert (shown["has_pin"], shown["has_password"]) == (True, False)

    pulled = latest(changes_for(admin, token), "user", created["id"])
    assert pulled is not None
    assert verify_secret("0451", pulled["payload"]["pin_hash"])
    assert pulled["payload"]["password_hash"] is None
    assert pulled["payload"]["roles"] == [role["id"]]


def test_user_secrets_are_kept_replaced_or_removed(admin: TestClient) -> None:
    user = ok(admin.post("/api/v1/users", json={"login": "a", "name": "A", "pin": "1111"}), 201)
    path = f"/api/v1/users/{user['id']}"
    ds = data_server(admin)

    def hashes() -> tuple[str | None, str | None]:
        with ds.db.read() as conn:
            row = conn.execute(
                text("SELECT pin_hash, password_hash FROM users WHERE id = :id"),
                {"id": user["id"]},
            ).one()
        return row.pin_hash, row.password_hash

    pin_hash, _ = hashes()
    ok(admin.put(path, json={"login": "a", "name": "A renamed"}))
    assert hashes() == (pin_hash, None)  # PUT without a PIN keeps it
    ok(admin.patch(path, json={"password": "correct horse"}))
    pin_after, password_hash = hashes()
    assert pin_after == pin_hash
    assert password_hash is not None
    assert verify_secret("correct horse", password_hash)
    removed = ok(admin.patch(path, json={"remove_pin": True}))
    assert (removed["has_pin"], removed["has_password"]) == (False, True)
    _refused(admin, "PATCH", path, 422, "a user needs a PIN or a password", json={"remove_password": True})
    _refused(
        admin,
        "PATCH",
        path,
        422,
        "give a new PIN or remove it, not both",
        json={"pin": "2222", "remove_pin": True},
    )


def test_a_password_signs_its_active_user_in_with_every_permission_of_their_roles(admin: TestClient) -> None:
    reports = ok(admin.post("/api/v1/roles", json={"name": "Reports", "permissions": ["view_reports"]}), 201)
    catalog = ok(
        admin.post(
            "/api/v1/roles", json={"name": "Catalog", "permissions": ["manage_catalog", "view_reports"]}
        ),
        201,
    )
    user = ok(
        admin.post(
            "/api/v1/users",
            json={
                "login": "elena",
                "name": "Е.",
                "password": "correct horse",
                "roles": [reports["id"], catalog["id"]],
            },
        ),
        201,
    )
    signed = ok(admin.post("/api/v1/users/sign-in", json={"login": "elena", "password": "correct horse"}))
    assert signed["user"]["id"] == user["id"]
    assert signed["permissions"] == ["manage_catalog", "view_reports"]

    ok(admin.post("/api/v1/users", json={"login": "pinonly", "name": "P", "pin": "1234"}), 201)
    wrong = [
        {"login": "elena", "password": "wrong horse"},
        {"login": "nobody", "password": "correct horse"},
        {"login": "pinonly", "password": "1234"},
    ]
    ok(admin.patch(f"/api/v1/users/{user['id']}", json={"active": False}))
    wrong.append({"login": "elena", "password": "correct horse"})
    for credentials in wrong:
        answer = admin.post("/api/v1/users/sign-in", json=credentials)
        assert answer.status_code == 403, credentials
        assert answer.json()["detail"] == "wrong login or password, or the user is not active"


@pytest.mark.parametrize(
    ("fields", "status", "detail"),
    [
        ({"pin": "12ab"}, 422, "pin: String should match pattern"),
        ({"pin": "123"}, 422, "pin: String should match pattern"),
        ({"pin": "123456789"}, 422, "pin: String should match pattern"),
        ({"password": "short"}, 422, "password: String should have at least 8 characters"),
        ({}, 422, "a user needs a PIN or a password to log in"),
        ({"pin": "1234", "roles": ["nobody"]}, 422, "role nobody does not exist"),
        ({"pin": "1234", "login": "with space"}, 422, "login: String should match pattern"),
        ({"pin": "1234", "login": "TAKEN"}, 409, "login 'TAKEN' is taken"),
    ],
)
def test_invalid_users_are_refused(
    admin: TestClient, fields: dict[str, Any], status: int, detail: str
) -> None:
    ok(admin.post("/api/v1/users", json={"login": "taken", "name": "T", "pin": "9999"}), 201)
    body = {"login": "new", "name": "New", **fields}
    _refused(admin, "POST", "/api/v1/users", status, detail, json=body)


# --- terminal settings ------------------------------------------------------------------------------


def test_terminal_settings_reach_their_store_or_their_client_only(admin: TestClient) -> None:
    here, there = make_store(admin), make_store(admin)
    client_here, token_here = enroll_client(admin, here)
    other_client, token_other = enroll_client(admin, here)
    _client, token_there = enroll_client(admin, there)

    store_settings = ok(
        admin.put(f"/api/v1/terminal-settings/store:{here}", json={"values": {"print_logo": True}})
    )
    client_settings = ok(
        admin.put(f"/api/v1/terminal-settings/client:{client_here}", json={"values": {"drawer": "COM3"}})
    )
    assert store_settings["values"] == {"print_logo": True}

    mine = changes_for(admin, token_here)
    assert latest(mine, "terminal_settings", f"store:{here}") is not None
    assert latest(mine, "terminal_settings", f"client:{client_here}")["payload"] == client_settings  # type: ignore[index]
    neighbour = changes_for(admin, token_other)
    assert latest(neighbour, "terminal_settings", f"store:{here}") is not None
    assert latest(neighbour, "terminal_settings", f"client:{client_here}") is None
    elsewhere = changes_for(admin, token_there)
    assert latest(elsewhere, "terminal_settings", f"store:{here}") is None

    assert ok(admin.get(f"/api/v1/terminal-settings/client:{client_here}")) == client_settings
    assert len(ok(admin.get("/api/v1/terminal-settings"))["items"]) == 2
    ok(admin.delete(f"/api/v1/terminal-settings/store:{here}"), 204)
    assert admin.get(f"/api/v1/terminal-settings/store:{here}").status_code == 404
    assert other_client


def test_invalid_terminal_settings_are_refused(admin: TestClient) -> None:
    _refused(
        admin,
        "PUT",
        "/api/v1/terminal-settings/shop:1",
        422,
        "neither 'store:<id>' nor 'client:<id>'",
        json={"values": {}},
    )
    _refused(admin, "PUT", "/api/v1/terminal-settings/store:ghost", 404, "store ghost", json={"values": {}})
    _refused(admin, "PUT", "/api/v1/terminal-settings/client:ghost", 404, "client ghost", json={"values": {}})
    store_id = make_store(admin)
    _refused(
        admin,
        "PUT",
        f"/api/v1/terminal-settings/store:{store_id}",
        422,
        "values: Input should be a valid dictionary",
        json={"values": [1]},
    )


# --- the change log and tokens ----------------------------------------------------------------------


def test_every_write_reaches_the_clients_it_concerns(admin: TestClient) -> None:
    here, there = make_store(admin), make_store(admin)
    _client, token_here = enroll_client(admin, here)
    _client, token_there = enroll_client(admin, there)
    category = _category(admin, "Всё")
    product = _product(admin, category_id=category["id"])
    ok(admin.post("/api/v1/barcodes", json={"code": EAN13, "product_id": product["id"]}), 201)
    ok(admin.put(f"/api/v1/stores/{here}/prices/{product['id']}", json={"price": 100}))
    template = ok(
        admin.post("/api/v1/barcode-templates", json={"template": DEFAULT_TEMPLATES[0].model_dump()}), 201
    )
    ok(admin.post("/api/v1/payment-types", json={"code": "CARD", "name": "Карта", "method": "card"}), 201)
    role = ok(admin.post("/api/v1/roles", json={"name": "R"}), 201)
    user = ok(admin.post("/api/v1/users", json={"login": "u", "name": "U", "password": "12345678"}), 201)
    ok(admin.put(f"/api/v1/terminal-settings/store:{here}", json={"values": {"a": 1}}))

    for_everyone = {
        ("category", category["id"]),
        ("product", product["id"]),
        ("barcode", EAN13),
        ("barcode_template", template["id"]),
        ("payment_type", "CARD"),
        ("role", role["id"]),
        ("user", user["id"]),
    }
    for_here = {("price", f"{here}:{product['id']}"), ("terminal_settings", f"store:{here}")}
    seen_here = {(c["entity"], c["key"]) for c in changes_for(admin, token_here)}
    seen_there = {(c["entity"], c["key"]) for c in changes_for(admin, token_there)}
    assert for_everyone | for_here <= seen_here
    assert for_everyone <= seen_there
    assert not for_here & seen_there
    payload = latest(changes_for(admin, token_here), "product", product["id"])
    assert payload is not None
    assert ProductRead.model_validate(payload["payload"]).model_dump(mode="json") == product


def test_reading_needs_read_and_writing_needs_manage(admin: TestClient) -> None:
    ds = data_server(admin)
    with ds.db.write() as conn:
        reader = clients.create_api_key(conn, name="report tool", scopes=frozenset({"read"}))
    headers = {"Authorization": f"Bearer {reader['token']}"}
    assert admin.get("/api/v1/products", headers=headers).status_code == 200
    body = {"article": "1", "name": "x", "vat_rate": "20"}
    assert admin.post("/api/v1/products", json=body, headers=headers).status_code == 403
    assert admin.get("/api/v1/products", headers={"Authorization": ""}).status_code == 401
    store_id = make_store(admin)
    _client, token = enroll_client(admin, store_id)
    assert admin.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_nul_characters_are_refused_rather_than_failing_the_database(admin: TestClient) -> None:
    body = {"article": "1", "name": "a\x00b", "vat_rate": "20"}
    _refused(
        admin,
        "POST",
        "/api/v1/products",
        422,
        "name: Value error, must not contain NUL characters",
        json=body,
    )
    role = {"name": "R", "permissions": []}
    user = {"login": "u", "name": "U\x00", "pin": "1234"}
    _refused(admin, "POST", "/api/v1/roles", 422, "must not contain NUL", json={**role, "name": "R\x00"})
    _refused(admin, "POST", "/api/v1/users", 422, "must not contain NUL characters", json=user)
    template = {**DEFAULT_TEMPLATES[0].model_dump(), "name": "w\x00"}
    _refused(
        admin, "POST", "/api/v1/barcode-templates", 422, "must not contain NUL", json={"template": template}
    )
    for path, params in [
        ("/api/v1/products/a%00b", {}),
        ("/api/v1/products", {"q": "a\x00"}),
        ("/api/v1/products", {"article": "\x00"}),
        ("/api/v1/products", {"after": "\x00"}),
        ("/api/v1/barcodes/%00", {}),
        ("/api/v1/terminal-settings/store:%00", {}),
    ]:
        answer = admin.get(path, params=params)
        assert answer.status_code == 422, (path, answer.text)
        assert "must not contain NUL characters" in answer.json()["detail"]


def test_a_write_that_loses_a_race_is_a_conflict_not_a_failure(
    admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import IntegrityError

    from osuite.dataserver import catalog

    def collide(*_args: Any, **_kwargs: Any) -> None:
        # what PostgreSQL says when another request took the same article a moment earlier
        raise IntegrityError("INSERT INTO products …", {}, Exception("duplicate key value"))

    monkeypatch.setattr(catalog, "create_product", collide)
    body = {"article": "1", "name": "x", "vat_rate": "20"}
    _refused(
        admin, "POST", "/api/v1/products", 409, "saved at the same moment: reload and try again", json=body
    )


def test_a_cursor_beyond_what_the_log_can_hold_is_refused_not_a_server_error(admin: TestClient) -> None:
    _client, token = enroll_client(admin, make_store(admin))
    for since in (2**63 - 1, 2**63):
        answer = admin.get(
            "/api/v1/sync/changes", params={"since": since}, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == (200 if since < 2**63 else 422), answer.text
