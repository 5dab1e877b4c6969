"""A store server following HQ: HQ's change-log pages applied to the local catalog and republished to
the store's own terminals, whatever order the log hands rows in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from osuite.core.http import Problem
from osuite.core.security import hash_secret
from osuite.core.sync.puller import Puller
from osuite.core.sync.transport import ChangeRow, FetchedPage
from osuite.dataserver import catalog, clients, tables, upstream
from osuite.dataserver.app import build_app
from osuite.dataserver.settings import DataServerSettings
from tests.dataserver.test_catalog_support import changes_for, data_server, enroll_client, latest, ok
from tests.support.databases import fresh_database

EAN13 = "4601234567893"
EAN8 = "96385074"
WHEN = "2026-11-20T10:00:00Z"


def upsert(entity: str, key: str, payload: dict[str, Any]) -> ChangeRow:
    return ChangeRow(0, entity, key, "upsert", payload)


def remove(entity: str, key: str) -> ChangeRow:
    return ChangeRow(0, entity, key, "delete", None)


def store(store_id: str, code: str = "S1") -> ChangeRow:
    payload = {
        "id": store_id,
        "code": code,
        "name": "Shop",
        "address": "",
        "timezone": "Europe/Moscow",
        "active": True,
    }
    return upsert("store", store_id, payload)


def category(category_id: str, parent_id: str | None = None, name: str = "Cat") -> ChangeRow:
    payload = {"id": category_id, "name": name, "parent_id": parent_id, "sort": 0, "updated_at": WHEN}
    return upsert("category", category_id, payload)


def product(product_id: str, article: str | None = None, category_id: str | None = None) -> ChangeRow:
    payload = {
        "id": product_id,
        "article": article or product_id,
        "name": f"Товар {product_id}",
        "unit": "pcs",
        "weighted": False,
        "vat_rate": "20",
        "category_id": category_id,
        "age_limit": 0,
        "active": True,
        "updated_at": WHEN,
    }
    return upsert("product", product_id, payload)


def barcode(code: str, product_id: str) -> ChangeRow:
    payload = {"code": code, "product_id": product_id, "multiplier": "1.000", "updated_at": WHEN}
    return upsert("barcode", code, payload)


def price(store_id: str, product_id: str, kopecks: int) -> ChangeRow:
    payload = {"store_id": store_id, "product_id": product_id, "price": kopecks, "updated_at": WHEN}
    return upsert("price", f"{store_id}:{product_id}", payload)


def apply(admin: TestClient, *changes: ChangeRow) -> None:
    ds = data_server(admin)
    with ds.db.write() as conn:
        catalog.apply_replicated(conn, ds, list(changes))


def retain(admin: TestClient, keys: dict[str, set[str]]) -> None:
    ds = data_server(admin)
    with ds.db.write() as conn:
        for entity in catalog.REPLICATED_ENTITIES:
            catalog.retain_replicated(conn, ds, entity, keys.get(entity, set()))


def exists(admin: TestClient, path: str) -> bool:
    return bool(admin.get(path).status_code == 200)


def test_a_page_where_a_barcode_precedes_its_product_applies_in_full(admin: TestClient) -> None:
    apply(
        admin,
        barcode(EAN13, "p1"),
        price("s1", "p1", 9990),
        product("p1", category_id="child"),
        category("child", parent_id="top"),
        category("top"),
        store("s1"),
        remove("product", "never-was"),
        remove("barcode", EAN8),
        remove("category", "nor-this"),
    )

    assert ok(admin.get(f"/api/v1/barcodes/{EAN13}"))["product_id"] == "p1"
    assert ok(admin.get("/api/v1/products/p1"))["category_id"] == "child"
    assert ok(admin.get("/api/v1/categories/child"))["parent_id"] == "top"
    assert ok(admin.get("/api/v1/stores/s1/prices/p1"))["price"] == 9990
    _client, token = enroll_client(admin, "s1")
    pulled = changes_for(admin, token)
    for entity, key in [
        ("store", "s1"),
        ("category", "top"),
        ("product", "p1"),
        ("barcode", EAN13),
        ("price", "s1:p1"),
    ]:
        assert latest(pulled, entity, key) is not None, (entity, key)
    assert latest(pulled, "barcode", EAN13)["payload"]["updated_at"] == WHEN  # type: ignore[index]
    assert latest(pulled, "product", "never-was") is None


def test_a_row_whose_reference_comes_in_a_later_page_waits_for_it(admin: TestClient) -> None:
    apply(admin, barcode(EAN13, "p1"), price("s1", "p1", 100))
    assert not exists(admin, f"/api/v1/barcodes/{EAN13}")

    apply(admin, product("p1", category_id="c2"))
    assert not exists(admin, "/api/v1/products/p1")  # its category has not come yet either

    apply(admin, category("c2", parent_id="c1"))
    apply(admin, store("s1"))
    apply(admin, category("c1"))

    assert ok(admin.get("/api/v1/products/p1"))["category_id"] == "c2"
    assert ok(admin.get(f"/api/v1/barcodes/{EAN13}"))["product_id"] == "p1"
    assert ok(admin.get("/api/v1/stores/s1/prices/p1"))["price"] == 100
    _client, token = enroll_client(admin, "s1")
    assert latest(changes_for(admin, token), "barcode", EAN13) is not None
    ds = data_server(admin)
    with ds.db.read() as conn:
        assert conn.execute(select(tables.replica_pending)).all() == []


def test_a_newer_change_supersedes_a_waiting_one(admin: TestClient) -> None:
    apply(admin, barcode(EAN13, "p1"), barcode(EAN8, "p1"))
    apply(admin, remove("barcode", EAN13), barcode(EAN8, "p2"))
    apply(admin, product("p1"))
    assert not exists(admin, f"/api/v1/barcodes/{EAN13}")
    assert not exists(admin, f"/api/v1/barcodes/{EAN8}")
    apply(admin, product("p2"))
    assert ok(admin.get(f"/api/v1/barcodes/{EAN8}"))["product_id"] == "p2"


def test_deletes_cascade_and_loosen_links_rather_than_fail(admin: TestClient) -> None:
    apply(
        admin,
        store("s1"),
        category("c"),
        product("p1", category_id="c"),
        barcode(EAN13, "p1"),
        price("s1", "p1", 5),
    )
    _client, token = enroll_client(admin, "s1")
    since = changes_for(admin, token)[-1]["seq"]

    apply(admin, remove("category", "c"))  # the product's move comes in a later page
    assert ok(admin.get("/api/v1/products/p1"))["category_id"] is None
    apply(admin, remove("product", "p1"))

    after = {(c["entity"], c["key"], c["op"]) for c in changes_for(admin, token, since)}
    assert after == {
        ("category", "c", "delete"),
        ("product", "p1", "delete"),
        ("barcode", EAN13, "delete"),
        ("price", "s1:p1", "delete"),
    }


def test_an_article_handed_to_another_product_is_taken_from_the_stale_one(admin: TestClient) -> None:
    apply(admin, product("p1", article="A"))
    apply(admin, product("p2", article="A"))  # HQ renamed p1 meanwhile; we hear of it later
    assert ok(admin.get("/api/v1/products/p2"))["article"] == "A"
    assert ok(admin.get("/api/v1/products/p1"))["article"].startswith("~")
    apply(admin, product("p1", article="B"))
    assert ok(admin.get("/api/v1/products/p1"))["article"] == "B"

    apply(admin, product("p3", article="C"), product("p4", article="D"))
    apply(admin, product("p3", article="D"), product("p4", article="C"))  # a swap within one page
    assert [ok(admin.get(f"/api/v1/products/{p}"))["article"] for p in ("p3", "p4")] == ["D", "C"]


def test_retain_removes_what_hq_no_longer_has(admin: TestClient) -> None:
    apply(
        admin,
        store("s1"),
        product("keep"),
        product("drop"),
        barcode(EAN13, "drop"),
        barcode(EAN8, "keep"),
        price("s1", "drop", 1),
    )
    _client, token = enroll_client(admin, "s1")
    since = changes_for(admin, token)[-1]["seq"]

    retain(admin, {"store": {"s1"}, "product": {"keep"}, "barcode": {EAN8}})

    assert exists(admin, "/api/v1/products/keep")
    assert exists(admin, f"/api/v1/barcodes/{EAN8}")
    assert not exists(admin, "/api/v1/products/drop")
    assert not exists(admin, f"/api/v1/barcodes/{EAN13}")
    after = {(c["entity"], c["key"], c["op"]) for c in changes_for(admin, token, since)}
    assert after == {
        ("product", "drop", "delete"),
        ("barcode", EAN13, "delete"),
        ("price", "s1:drop", "delete"),
    }


def test_a_store_with_clients_here_is_deactivated_not_deleted(admin: TestClient) -> None:
    apply(admin, store("s1"), store("s2", code="S2"))
    enroll_client(admin, "s1")
    apply(admin, remove("store", "s1"), remove("store", "s2"))
    ds = data_server(admin)
    with ds.db.read() as conn:
        assert clients.get_store(conn, "s1")["active"] is False
        with pytest.raises(Problem, match="store s2 does not exist"):
            clients.get_store(conn, "s2")


def test_users_arrive_with_their_hashes_which_the_api_never_shows(admin: TestClient) -> None:
    pin_hash = hash_secret("2468")
    payload = {
        "id": "u1",
        "login": "kassir",
        "name": "Кассир",
        "roles": ["r1"],
        "active": True,
        "has_pin": True,
        "has_password": False,
        "updated_at": WHEN,
        "pin_hash": pin_hash,
        "password_hash": None,
    }
    apply(admin, upsert("role", "r1", {"id": "r1", "name": "R", "permissions": ["sell"], "updated_at": WHEN}))
    apply(admin, upsert("user", "u1", payload), store("s1"))
    shown = ok(admin.get("/api/v1/users/u1"))
    assert "pin_hash" not in shown
    assert shown["has_pin"] is True
    _client, token = enroll_client(admin, "s1")
    assert latest(changes_for(admin, token), "user", "u1")["payload"] == payload  # type: ignore[index]


def test_a_payload_this_version_cannot_read_is_skipped_not_fatal(admin: TestClient) -> None:
    odd = product("odd")
    assert odd.payload is not None
    apply(
        admin,
        upsert("product", "odd", {**odd.payload, "unit": None}),
        product("fine"),
        upsert("gadget", "x", {}),
    )
    assert exists(admin, "/api/v1/products/fine")
    assert not exists(admin, "/api/v1/products/odd")


# --- HQ and a store server, end to end through the sync engine --------------------------------------


@pytest.fixture
def store_server(tmp_path: Path) -> Iterator[TestClient]:
    with fresh_database(tmp_path, name="store") as url:
        settings = DataServerSettings(data_dir=tmp_path / "store", database_url=url, upstream_sync=False)
        with TestClient(build_app(settings)) as client:
            ds = data_server(client)
            with ds.db.write() as conn:
                key = clients.create_api_key(conn, name="store admin")
            client.headers["Authorization"] = f"Bearer {key['token']}"
            yield client


def _puller(hq: TestClient, store_server: TestClient, store_id: str) -> Puller:
    ds = data_server(hq)
    with ds.db.write() as conn:
        issued = clients.issue_enrollment_code(conn, ds, store_id=store_id, kind="dataserver", name="store")
        token = clients.enroll(conn, code=issued["code"])["token"]

    def fetch(since: int, limit: int, _wait: float, snapshot: bool) -> FetchedPage:
        answer = hq.get(
            "/api/v1/sync/changes",
            params={"since": since, "limit": limit, "snapshot": snapshot},
            headers={"Authorization": f"Bearer {token}"},
        )
        body = ok(answer)
        rows = [
            ChangeRow(c["seq"], c["entity"], c["key"], c["op"], c.get("payload")) for c in body["changes"]
        ]
        return FetchedPage(
            rows, body["next"], body["has_more"], body.get("reset", False), body.get("horizon", 0)
        )

    local = data_server(store_server)
    return Puller(local.db, tables.edge, fetch, upstream.CatalogReplica(local), link="hq", page_size=2)


def _catalog(client: TestClient, store_id: str) -> dict[str, Any]:
    def items(path: str) -> list[Any]:
        return sorted(ok(client.get(path, params={"limit": 1000}))["items"], key=str)

    return {
        "categories": items("/api/v1/categories"),
        "products": items("/api/v1/products"),
        "barcodes": items("/api/v1/barcodes"),
        "prices": items(f"/api/v1/stores/{store_id}/prices"),
        "users": items("/api/v1/users"),
        "promotions": items("/api/v1/promotions"),
    }


def test_a_store_server_follows_hq_page_by_page_and_after_a_reset(
    admin: TestClient, store_server: TestClient
) -> None:
    hq = admin
    hq_ds = data_server(hq)
    with hq_ds.db.write() as conn:
        here = clients.create_store(conn, hq_ds, code="S1", name="Here")["id"]
        there = clients.create_store(conn, hq_ds, code="S2", name="There")["id"]
    top = ok(hq.post("/api/v1/categories", json={"name": "Top"}), 201)
    sub = ok(hq.post("/api/v1/categories", json={"name": "Sub", "parent_id": top["id"]}), 201)
    made = [
        ok(
            hq.post(
                "/api/v1/products",
                json={"article": f"A{i}", "name": f"P{i}", "vat_rate": "20", "category_id": sub["id"]},
            ),
            201,
        )
        for i in range(3)
    ]
    ok(hq.post("/api/v1/barcodes", json={"code": EAN13, "product_id": made[0]["id"]}), 201)
    for p in made:
        ok(hq.put(f"/api/v1/stores/{here}/prices/{p['id']}", json={"price": 100}))
        ok(hq.put(f"/api/v1/stores/{there}/prices/{p['id']}", json={"price": 200}))
    role = ok(hq.post("/api/v1/roles", json={"name": "Кассир", "permissions": ["sell"]}), 201)
    ok(hq.post("/api/v1/users", json={"login": "k", "name": "K", "pin": "1234", "roles": [role["id"]]}), 201)
    promotion = {"name": "−10%", "kind": "percent_off", "percent": 10, "category_ids": [sub["id"]]}
    ok(hq.post("/api/v1/promotions", json={**promotion, "id": "sub-10"}), 201)
    ok(
        hq.post("/api/v1/promotions", json={**promotion, "id": "soon-gone", "product_ids": [made[0]["id"]]}),
        201,
    )
    # Edits after the fact: the log now hands sub after its products and products after their barcode.
    ok(hq.patch(f"/api/v1/categories/{top['id']}", json={"name": "Top renamed"}))
    ok(hq.patch(f"/api/v1/categories/{sub['id']}", json={"name": "Sub renamed"}))
    ok(hq.patch(f"/api/v1/products/{made[0]['id']}", json={"name": "P0 renamed"}))

    puller = _puller(hq, store_server, here)
    puller.catch_up()
    assert _catalog(store_server, here) == _catalog(hq, here)
    assert ok(store_server.get(f"/api/v1/stores/{there}/prices"))["items"] == []  # another store's prices

    ok(hq.delete(f"/api/v1/products/{made[1]['id']}"), 204)
    ok(hq.patch(f"/api/v1/products/{made[2]['id']}", json={"article": "A1"}))  # takes the freed article
    ok(hq.put("/api/v1/promotions/sub-10", json={**promotion, "percent": "12.5", "store_ids": [here]}))
    puller.catch_up()
    assert _catalog(store_server, here) == _catalog(hq, here)

    # HQ forgets its tombstones; the store server's cursor is behind them, so it reloads a snapshot and
    # sweeps what the snapshot does not mention.
    ok(hq.delete(f"/api/v1/products/{made[2]['id']}"), 204)
    ok(hq.delete("/api/v1/promotions/soon-gone"), 204)
    with hq_ds.db.write() as conn:
        hq_ds.changelog.purge_tombstones(conn, timedelta(0))
    # The snapshot is read in one page ending above the horizon: ChangeLog.read answers `reset` to any
    # cursor below the horizon, so a snapshot paged through older rows would reset again on every page.
    ok(hq.patch(f"/api/v1/products/{made[0]['id']}", json={"name": "P0 after the purge"}))
    puller.page_size = 1000
    assert puller.pull_once().reset
    puller.catch_up()
    assert _catalog(store_server, here) == _catalog(hq, here)
    assert len(_catalog(store_server, here)["products"]) == 1
    assert [p["id"] for p in _catalog(store_server, here)["promotions"]] == ["sub-10"]
