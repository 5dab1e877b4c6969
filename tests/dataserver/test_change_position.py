"""Where a change stands in the change log, so the Manager can tell which terminals have it: a client
whose sync cursor reached the position has pulled the change, one behind it has not."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from osuite.dataserver.client import DataServerClient
from osuite.dataserver.wire.catalog import ChangePosition
from tests.dataserver.test_catalog_support import enroll_client, last_seq, make_store, ok

EAN13 = "4601234567893"


def _product(admin: TestClient, article: str) -> dict[str, Any]:
    body = {"article": article, "name": f"Товар {article}", "vat_rate": "20"}
    return ok(admin.post("/api/v1/products", json=body), 201)  # type: ignore[no-any-return]


def _cursor(admin: TestClient, token: str, since: int = 0) -> int:
    """The cursor of a client that pulls everything it may from ``since``."""
    while True:
        body = ok(
            admin.get(
                "/api/v1/sync/changes",
                params={"since": since, "limit": 1000},
                headers={"Authorization": f"Bearer {token}"},
            )
        )
        since = body["next"]
        if not body["has_more"]:
            return int(since)


def _position(admin: TestClient, path: str, **params: str) -> ChangePosition:
    return ChangePosition.model_validate(ok(admin.get(path, params=params)))


def test_a_price_change_is_reached_by_the_stores_terminal_once_it_pulls(admin: TestClient) -> None:
    store = make_store(admin)
    _client, token = enroll_client(admin, store)
    product = _product(admin, "P1")
    ok(admin.put(f"/api/v1/stores/{store}/prices/{product['id']}", json={"price": 1000}))
    cursor = _cursor(admin, token)

    ok(admin.put(f"/api/v1/stores/{store}/prices/{product['id']}", json={"price": 1290}))
    position = _position(admin, "/api/v1/changes/position", entity="price", key=f"{store}:{product['id']}")

    assert position.seq is not None and position.seq == last_seq(admin) == position.last_seq
    assert cursor < position.seq  # the terminal has not pulled the new price yet
    assert _cursor(admin, token, cursor) >= position.seq


def test_a_products_position_covers_its_fields_barcodes_and_the_stores_price(admin: TestClient) -> None:
    store, other = make_store(admin), make_store(admin)
    product = _product(admin, "P2")
    path = f"/api/v1/products/{product['id']}/position"
    created = _position(admin, path, store_id=store).seq
    assert created is not None

    ok(admin.post("/api/v1/barcodes", json={"code": EAN13, "product_id": product["id"]}), 201)
    with_barcode = _position(admin, path, store_id=store).seq
    assert with_barcode is not None and with_barcode > created

    ok(admin.put(f"/api/v1/stores/{store}/prices/{product['id']}", json={"price": 500}))
    priced = _position(admin, path, store_id=store).seq
    assert priced is not None and priced > with_barcode

    ok(admin.put(f"/api/v1/stores/{other}/prices/{product['id']}", json={"price": 700}))
    assert _position(admin, path, store_id=store).seq == priced  # another store's price is not ours
    assert _position(admin, path).seq == last_seq(admin)  # without a store: every store's price

    ok(admin.patch(f"/api/v1/products/{product['id']}", json={"name": "Товар P2 новый"}))
    assert _position(admin, path, store_id=store).seq == last_seq(admin)


def test_what_never_changed_has_no_position_and_an_unknown_product_is_not_found(admin: TestClient) -> None:
    position = _position(admin, "/api/v1/changes/position", entity="price", key="nowhere:nothing")
    assert position.seq is None and position.last_seq == last_seq(admin)
    assert admin.get("/api/v1/products/no-such-product/position").status_code == 404
    product = _product(admin, "P3")
    answer = admin.get(f"/api/v1/products/{product['id']}/position", params={"store_id": "no-such-store"})
    assert answer.status_code == 404


def test_the_published_client_asks_for_positions(admin: TestClient) -> None:
    store = make_store(admin)
    product = _product(admin, "P4")
    ok(admin.put(f"/api/v1/stores/{store}/prices/{product['id']}", json={"price": 990}))
    client = DataServerClient(str(admin.base_url), "unused")
    client.http = admin  # the in-process app, with the administrator's key
    price = client.change_position("price", f"{store}:{product['id']}")
    assert price.seq == last_seq(admin)
    assert client.product_position(product["id"], store_id=store).seq == price.seq
    assert client.product_position(product["id"]).seq == price.seq
