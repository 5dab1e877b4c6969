"""Promotions: the rules that make one valid, the management API, what terminals pull, and a store
server following HQ."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from osuite.core.sync.transport import ChangeRow
from osuite.dataserver import catalog
from osuite.dataserver import promotion_rules as promos
from osuite.dataserver.wire.catalog import PromotionRead, PromotionUpdate
from tests.dataserver.test_catalog_support import (
    changes_for,
    data_server,
    enroll_client,
    last_seq,
    latest,
    make_store,
    ok,
)

# --- the rules, without a database ------------------------------------------------------------------


def promotion(**fields: Any) -> PromotionUpdate:
    return PromotionUpdate.model_validate({"name": "Акция", "kind": "percent_off", "percent": 10, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"kind": "amount_off", "percent": None, "amount": 2000},
        {"kind": "n_for_m", "percent": None, "buy": 3, "pay": 2},
        {"kind": "receipt_threshold", "threshold": 300_000},
        {"kind": "receipt_threshold", "percent": None, "amount": 50_000, "threshold": 300_000},
        {"starts_on": "2026-12-01", "ends_on": "2026-12-01"},
        {"time_from": "20:00", "time_to": "23:00", "weekdays": [5, 6, 7]},
        {"time_from": "22:00", "time_to": "02:00"},  # spans midnight
    ],
)
def test_a_valid_promotion_has_no_problems(fields: dict[str, Any]) -> None:
    assert promos.promotion_problems(promotion(**fields)) == []


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"percent": None}, "a percent_off promotion needs percent"),
        ({"amount": 100}, "a percent_off promotion takes no amount"),
        ({"buy": 3, "pay": 2}, "a percent_off promotion takes no buy; a percent_off promotion takes no pay"),
        ({"kind": "amount_off", "percent": None}, "an amount_off promotion needs amount"),
        (
            {"kind": "amount_off", "percent": None, "amount": 0},
            "needs amount: kopecks off each unit, more than 0",
        ),
        ({"kind": "amount_off", "amount": 100}, "an amount_off promotion takes no percent"),
        (
            {"kind": "n_for_m", "percent": None, "buy": 3},
            "an n_for_m promotion needs buy (units taken) and pay",
        ),
        ({"kind": "n_for_m", "percent": None, "buy": 2, "pay": 2}, "pay (2) must be less than buy (2)"),
        ({"kind": "n_for_m", "buy": 3, "pay": 2}, "an n_for_m promotion takes no percent"),
        ({"kind": "n_for_m", "percent": None, "buy": 3, "pay": 2, "threshold": 1}, "takes no threshold"),
        ({"kind": "receipt_threshold"}, "a receipt_threshold promotion needs threshold"),
        (
            {"kind": "receipt_threshold", "threshold": 1000, "amount": 100},
            "needs exactly one of percent and amount",
        ),
        (
            {"kind": "receipt_threshold", "percent": None, "threshold": 1000},
            "needs exactly one of percent and amount",
        ),
        (
            {"kind": "receipt_threshold", "percent": None, "amount": 2000, "threshold": 1000},
            "amount (2000) is more than threshold (1000)",
        ),
        (
            {"kind": "receipt_threshold", "threshold": 1000, "category_ids": ["c1"]},
            "applies to the whole receipt: leave product_ids and category_ids empty",
        ),
        (
            {"starts_on": "2026-12-02", "ends_on": "2026-12-01"},
            "ends_on 2026-12-01 is before starts_on 2026-12-02",
        ),
        ({"time_from": "20:00"}, "time_from is given without time_to"),
        ({"time_to": "20:00"}, "time_to is given without time_from"),
        ({"time_from": "20:00", "time_to": "20:00"}, "time_from and time_to are both 20:00"),
        ({"weekdays": [1, 5, 1, 5, 7]}, "weekdays lists 1, 5 more than once"),
    ],
)
def test_each_broken_rule_is_named(fields: dict[str, Any], problem: str) -> None:
    assert problem in "; ".join(promos.promotion_problems(promotion(**fields)))


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "buy_one_get_cheese"}, "kind"),
        ({"percent": 0}, "percent"),
        ({"percent": "100.01"}, "percent"),
        ({"percent": "12.345"}, "percent"),
        ({"weekdays": [0]}, "weekdays"),
        ({"weekdays": [8]}, "weekdays"),
        ({"buy": 1}, "buy"),
        ({"time_from": "20:00+03:00", "time_to": "23:00"}, "without a UTC offset"),
        ({"product_ids": ["a:b"]}, "product_ids"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_the_wire_model_refuses_what_no_rule_could_read(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        promotion(**fields)


def test_stored_fields_have_each_id_once_and_the_percent_to_the_hundredth() -> None:
    row = promos.promotion_row(promotion(percent="7.5", product_ids=["b", "a", "b"], store_ids=["s", "s"]))
    assert row["product_ids"] == ["b", "a"]
    assert row["store_ids"] == ["s"]
    assert str(row["percent"]) == "7.50"


def test_missing_references_are_named_all_at_once() -> None:
    message = promos.missing_message(
        [
            promos.Reference("product", ["p1", "p2", "p3"], {"p2"}),
            promos.Reference("category", ["c1"], set()),
            promos.Reference("store", ["s1"], {"s1"}),
        ]
    )
    assert message == "products p1, p3 do not exist; category c1 does not exist"
    many = promos.missing_message([promos.Reference("product", [f"p{i}" for i in range(12)], set())])
    assert many is not None and many.endswith("p9 and 2 more do not exist")
    assert promos.missing_message([promos.Reference("store", ["s1"], {"s1"})]) is None


# --- through the API --------------------------------------------------------------------------------


def _product(admin: TestClient, article: str) -> str:
    body = {"article": article, "name": f"Товар {article}", "vat_rate": "20"}
    return str(ok(admin.post("/api/v1/products", json=body), 201)["id"])


def _category(admin: TestClient, name: str) -> str:
    return str(ok(admin.post("/api/v1/categories", json={"name": name}), 201)["id"])


def _refused(admin: TestClient, method: str, path: str, status: int, detail: str, **kwargs: Any) -> None:
    """Refused with ``status`` and a detail containing ``detail``; the change log (hence every table the
    catalog writes) and the promotions are as they were."""
    before, promotions = last_seq(admin), ok(admin.get("/api/v1/promotions"))
    answer = admin.request(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert detail in answer.json()["detail"], answer.json()["detail"]
    assert last_seq(admin) == before
    assert ok(admin.get("/api/v1/promotions")) == promotions


def test_promotions_are_created_replaced_and_deleted_and_terminals_hear_of_each(admin: TestClient) -> None:
    store_id = make_store(admin)
    _client, token = enroll_client(admin, store_id)
    yogurt = _product(admin, "Y-1")
    bakery = _category(admin, "Хлеб и выпечка")

    body = {
        "id": "happy-hour",
        "name": "Счастливые часы: выпечка −5%",
        "kind": "percent_off",
        "category_ids": [bakery],
        "store_ids": [store_id],
        "percent": "5",
        "time_from": "20:00",
        "time_to": "23:00",
        "weekdays": [1, 2, 3, 4, 5],
    }
    created = ok(admin.post("/api/v1/promotions", json=body), 201)
    assert created == {
        **body,
        "product_ids": [],
        "percent": "5.00",
        "amount": None,
        "buy": None,
        "pay": None,
        "threshold": None,
        "starts_on": None,
        "ends_on": None,
        "time_from": "20:00:00",
        "time_to": "23:00:00",
        "stackable": False,
        "active": True,
        "updated_at": created["updated_at"],
    }
    assert ok(admin.get("/api/v1/promotions/happy-hour")) == created
    pulled = latest(changes_for(admin, token), "promotion", "happy-hour")
    assert pulled is not None and pulled["op"] == "upsert"
    assert pulled["payload"] == created
    assert PromotionRead.model_validate(pulled["payload"]).time_from == time(20, 0)

    since = changes_for(admin, token)[-1]["seq"]
    three_for_two = {
        "name": "3 по цене 2",
        "kind": "n_for_m",
        "product_ids": [yogurt],
        "buy": 3,
        "pay": 2,
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-31",
        "stackable": True,
    }
    replaced = ok(admin.put("/api/v1/promotions/happy-hour", json=three_for_two))
    assert (replaced["kind"], replaced["percent"], replaced["category_ids"], replaced["store_ids"]) == (
        "n_for_m",
        None,
        [],
        [],
    )
    assert (replaced["buy"], replaced["pay"], replaced["ends_on"]) == (3, 2, "2026-12-31")
    assert [c["payload"] for c in changes_for(admin, token, since)] == [replaced]

    since = changes_for(admin, token)[-1]["seq"]
    ok(admin.delete("/api/v1/promotions/happy-hour"), 204)
    assert admin.get("/api/v1/promotions/happy-hour").status_code == 404
    gone = changes_for(admin, token, since)
    assert [(c["entity"], c["key"], c["op"]) for c in gone] == [("promotion", "happy-hour", "delete")]
    assert admin.delete("/api/v1/promotions/happy-hour").status_code == 404


def test_promotions_page_by_id_and_filter_by_active(admin: TestClient) -> None:
    for i in range(5):
        body = {"id": f"p{i}", "name": f"−{i + 1}%", "kind": "percent_off", "percent": i + 1}
        ok(admin.post("/api/v1/promotions", json={**body, "active": i % 2 == 0}), 201)
    first = ok(admin.get("/api/v1/promotions", params={"limit": 2}))
    second = ok(admin.get("/api/v1/promotions", params={"limit": 2, "after": first["next"]}))
    assert [p["id"] for p in first["items"] + second["items"]] == ["p0", "p1", "p2", "p3"]
    active = ok(admin.get("/api/v1/promotions", params={"active": True}))["items"]
    assert [p["id"] for p in active] == ["p0", "p2", "p4"]
    inactive = ok(admin.get("/api/v1/promotions", params={"active": False}))["items"]
    assert [p["id"] for p in inactive] == ["p1", "p3"]


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"percent": None}, "a percent_off promotion needs percent"),
        (
            {"kind": "amount_off"},
            "an amount_off promotion takes no percent; an amount_off promotion needs amount",
        ),
        ({"kind": "n_for_m", "percent": None, "buy": 2, "pay": 3}, "pay (3) must be less than buy (2)"),
        (
            {"kind": "receipt_threshold", "threshold": 300_000, "amount": 100},
            "exactly one of percent and amount",
        ),
        ({"starts_on": "2026-12-02", "ends_on": "2026-12-01"}, "ends_on 2026-12-01 is before starts_on"),
        ({"time_from": "20:00", "time_to": "20:00"}, "time_from and time_to are both 20:00"),
        ({"time_from": "20:00"}, "time_from is given without time_to"),
        ({"weekdays": [6, 7, 6]}, "weekdays lists 6 more than once"),
        ({"percent": "150"}, "percent: Input should be less than or equal to 100"),
        ({"time_to": "23:00+03:00", "time_from": "20:00"}, "without a UTC offset"),
        ({"product_ids": ["nope", "nada"]}, "products nope, nada do not exist"),
        (
            {"category_ids": ["nope"], "store_ids": ["gone"]},
            "category nope does not exist; store gone does not exist",
        ),
        ({"name": "a\x00b"}, "must not contain NUL characters"),
    ],
)
def test_a_broken_rule_is_refused_with_its_reason_and_changes_nothing(
    admin: TestClient, fields: dict[str, Any], detail: str
) -> None:
    body = {"id": "promo", "name": "Скидка", "kind": "percent_off", "percent": 10}
    ok(admin.post("/api/v1/promotions", json={**body, "id": "kept"}), 201)
    _refused(admin, "POST", "/api/v1/promotions", 422, detail, json={**body, **fields})
    assert admin.get("/api/v1/promotions/promo").status_code == 404
    replacement = {k: v for k, v in {**body, **fields}.items() if k != "id"}
    _refused(admin, "PUT", "/api/v1/promotions/kept", 422, detail, json=replacement)


def test_an_id_is_taken_once_and_an_absent_one_cannot_be_replaced(admin: TestClient) -> None:
    body = {"id": "once", "name": "Скидка", "kind": "percent_off", "percent": 10}
    ok(admin.post("/api/v1/promotions", json=body), 201)
    _refused(admin, "POST", "/api/v1/promotions", 409, "promotion once already exists", json=body)
    _refused(
        admin,
        "PUT",
        "/api/v1/promotions/never",
        404,
        "never",
        json={k: v for k, v in body.items() if k != "id"},
    )


def test_a_product_or_category_a_promotion_names_is_not_deleted(admin: TestClient) -> None:
    cheese = _category(admin, "Сыры")
    product = _product(admin, "C-1")
    body = {"name": "Сыры −10%", "kind": "percent_off", "percent": 10}
    ok(admin.post("/api/v1/promotions", json={**body, "id": "cheese", "category_ids": [cheese]}), 201)
    ok(admin.post("/api/v1/promotions", json={**body, "id": "one", "product_ids": [product]}), 201)
    _refused(
        admin,
        "DELETE",
        f"/api/v1/categories/{cheese}",
        409,
        "category 'Сыры' is named by 1 promotion ('Сыры −10%' (cheese)): take it out of that promotion first",
    )
    _refused(
        admin,
        "DELETE",
        f"/api/v1/products/{product}",
        409,
        "product 'Товар C-1' is named by 1 promotion ('Сыры −10%' (one)): "
        "take it out of that promotion first, or deactivate the product",
    )
    ok(admin.put("/api/v1/promotions/one", json={**body, "product_ids": []}))
    ok(admin.delete(f"/api/v1/products/{product}"), 204)
    ok(admin.delete("/api/v1/promotions/cheese"), 204)
    ok(admin.delete(f"/api/v1/categories/{cheese}"), 204)


def test_reading_needs_read_and_writing_needs_manage(admin: TestClient) -> None:
    store_id = make_store(admin)
    _client, token = enroll_client(admin, store_id)
    terminal = {"Authorization": f"Bearer {token}"}
    body = {"name": "Скидка", "kind": "percent_off", "percent": 10}
    assert admin.post("/api/v1/promotions", json=body, headers=terminal).status_code == 403
    assert admin.get("/api/v1/promotions", headers=terminal).status_code == 403
    assert admin.get("/api/v1/promotions", headers={"Authorization": ""}).status_code == 401


# --- a store server following HQ --------------------------------------------------------------------

WHEN = "2026-11-20T10:00:00Z"


def _hq_promotion(promotion_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": promotion_id,
        "name": "Соки −20 ₽",
        "kind": "amount_off",
        "product_ids": ["p-not-here-yet"],
        "category_ids": [],
        "store_ids": [],
        "percent": None,
        "amount": 2000,
        "buy": None,
        "pay": None,
        "threshold": None,
        "starts_on": "2026-12-01",
        "ends_on": None,
        "time_from": "08:00:00",
        "time_to": "11:00:00",
        "weekdays": [6, 7],
        "stackable": False,
        "active": True,
        "updated_at": WHEN,
        **fields,
    }


def _apply(admin: TestClient, *changes: ChangeRow) -> None:
    ds = data_server(admin)
    with ds.db.write() as conn:
        catalog.apply_replicated(conn, ds, list(changes))


def test_hqs_promotions_are_applied_here_and_republished_to_the_stores_terminals(admin: TestClient) -> None:
    store_id = make_store(admin)
    _client, token = enroll_client(admin, store_id)
    payload = _hq_promotion("juice")
    _apply(admin, ChangeRow(0, "promotion", "juice", "upsert", payload))

    shown = ok(admin.get("/api/v1/promotions/juice"))
    assert shown == payload  # applied at once, though its product has not come yet
    read = PromotionRead.model_validate(shown)
    assert (read.starts_on, read.time_to, read.percent) == (date(2026, 12, 1), time(11, 0), None)
    assert latest(changes_for(admin, token), "promotion", "juice")["payload"] == payload  # type: ignore[index]

    changed = _hq_promotion("juice", kind="percent_off", amount=None, percent="12.50")
    _apply(admin, ChangeRow(0, "promotion", "juice", "upsert", changed))
    assert Decimal(ok(admin.get("/api/v1/promotions/juice"))["percent"]) == Decimal("12.5")

    since = changes_for(admin, token)[-1]["seq"]
    _apply(admin, ChangeRow(0, "promotion", "juice", "delete", None))
    assert admin.get("/api/v1/promotions/juice").status_code == 404
    assert [(c["key"], c["op"]) for c in changes_for(admin, token, since)] == [("juice", "delete")]


def test_after_a_snapshot_promotions_hq_no_longer_has_are_dropped(admin: TestClient) -> None:
    _apply(
        admin,
        ChangeRow(0, "promotion", "keep", "upsert", _hq_promotion("keep")),
        ChangeRow(0, "promotion", "drop", "upsert", _hq_promotion("drop")),
    )
    ds = data_server(admin)
    with ds.db.write() as conn:
        catalog.retain_replicated(conn, ds, "promotion", {"keep"})
    assert [p["id"] for p in ok(admin.get("/api/v1/promotions"))["items"]] == ["keep"]
