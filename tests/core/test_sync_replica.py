"""TableReplica: pages land in ordinary tables with bulk upserts and deletes, composite keys included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, select

from osuite.core.db import Database
from osuite.core.sync.replica import EntityTable, TableReplica
from osuite.core.sync.transport import ChangeRow
from tests.support.databases import fresh_database

meta = MetaData()
products = Table("products", meta, Column("id", String(36), primary_key=True), Column("name", String(100)))
prices = Table(
    "prices",
    meta,
    Column("store_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("price", BigInteger),
)


def price_key(key: str) -> dict[str, Any]:
    store_id, product_id = key.split(":")
    return {"store_id": store_id, "product_id": product_id}


replica = TableReplica(
    [
        EntityTable("product", products, lambda p: {"id": p["id"], "name": p["name"]}),
        EntityTable(
            "price",
            prices,
            lambda p: {"store_id": p["store_id"], "product_id": p["product_id"], "price": p["price"]},
            key_columns=("store_id", "product_id"),
            key_values=price_key,
        ),
    ]
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with fresh_database(tmp_path) as url:
        database = Database(url)
        meta.create_all(database.engine)
        yield database
        database.dispose()


def change(seq: int, entity: str, key: str, payload: dict[str, Any] | None) -> ChangeRow:
    return ChangeRow(seq, entity, key, "delete" if payload is None else "upsert", payload)


def state(db: Database) -> tuple[dict[str, str], dict[tuple[str, str], int]]:
    with db.read() as conn:
        names = {r.id: r.name for r in conn.execute(select(products))}
        costs = {(r.store_id, r.product_id): r.price for r in conn.execute(select(prices))}
    return names, costs


def test_a_page_of_upserts_deletes_and_unknown_entities(db: Database) -> None:
    with db.write() as conn:
        replica.apply(
            conn,
            [
                change(1, "product", "p1", {"id": "p1", "name": "Молоко"}),
                change(2, "product", "p2", {"id": "p2", "name": "Хлеб"}),
                change(3, "price", "s1:p1", {"store_id": "s1", "product_id": "p1", "price": 8990}),
                change(4, "promotion", "x", {"id": "x"}),  # not kept here: ignored
            ],
        )
    with db.write() as conn:
        replica.apply(
            conn,
            [
                change(5, "product", "p1", {"id": "p1", "name": "Молоко 2,5%"}),
                change(6, "product", "p2", None),
                change(7, "price", "s1:p1", None),
                change(8, "price", "s1:p2", {"store_id": "s1", "product_id": "p2", "price": 100}),
                change(9, "product", "gone", None),  # deleting what is absent is fine
            ],
        )
    assert state(db) == ({"p1": "Молоко 2,5%"}, {("s1", "p2"): 100})


def test_retain_drops_what_a_snapshot_did_not_mention(db: Database) -> None:
    with db.write() as conn:
        replica.apply(
            conn,
            [
                change(1, "product", "p1", {"id": "p1", "name": "a"}),
                change(2, "product", "p2", {"id": "p2", "name": "b"}),
                change(3, "price", "s1:p1", {"store_id": "s1", "product_id": "p1", "price": 1}),
                change(4, "price", "s1:p2", {"store_id": "s1", "product_id": "p2", "price": 2}),
            ],
        )
    with db.write() as conn:
        replica.retain(conn, "product", {"p2"})
        replica.retain(conn, "price", {"s1:p1"})
    assert state(db) == ({"p2": "b"}, {("s1", "p1"): 1})
