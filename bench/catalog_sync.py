"""A new client takes a whole catalog: seconds from its first pull until it is current, beside the bare
bulk insert of the same rows into the same kind of client database, in the same run.

    python bench/catalog_sync.py [--products 1000000] [--server-db sqlite|pg]

The data server holds the sample catalog (products, their barcodes and one store's prices); the client
is built the way a POS is: the sync engine's puller and a TableReplica over SQLite tables without
foreign keys, a page of up to 10,000 changes applied per transaction.
"""

from __future__ import annotations

import argparse
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, Numeric, String, Table, func, select

from bench.common import dataserver, fresh_database, machine, pg_available, report, workdir
from osuite.core.db import Database, insert_rows
from osuite.core.migrations import upgrade
from osuite.core.sync.puller import Puller
from osuite.core.sync.replica import EntityTable, TableReplica
from osuite.core.sync.tables import edge_tables
from osuite.core.sync.transport import SyncTransport
from osuite.dataserver import clients, tables
from osuite.dataserver.context import DataServer
from osuite.dataserver.sample_catalog import load_sample
from osuite.dataserver.settings import DataServerSettings

PAGE = 10_000

client_meta = MetaData()
edge = edge_tables(client_meta)
products = Table(
    "products",
    client_meta,
    Column("id", String(36), primary_key=True),
    Column("article", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("unit", String(8), nullable=False),
    Column("weighted", Boolean, nullable=False),
    Column("vat_rate", String(8), nullable=False),
    Column("category_id", String(36)),
    Column("age_limit", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
)
barcodes = Table(
    "barcodes",
    client_meta,
    Column("code", String(64), primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("multiplier", Numeric(12, 3), nullable=False),
)
prices = Table(
    "prices",
    client_meta,
    Column("store_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("price", BigInteger, nullable=False),
)


def product_row(p: dict[str, Any]) -> dict[str, Any]:
    return {
        k: p[k]
        for k in (
            "id",
            "article",
            "name",
            "unit",
            "weighted",
            "vat_rate",
            "category_id",
            "age_limit",
            "active",
        )
    }


def barcode_row(p: dict[str, Any]) -> dict[str, Any]:
    return {"code": p["code"], "product_id": p["product_id"], "multiplier": Decimal(str(p["multiplier"]))}


def price_row(p: dict[str, Any]) -> dict[str, Any]:
    return {"store_id": p["store_id"], "product_id": p["product_id"], "price": p["price"]}


def price_key(key: str) -> dict[str, Any]:
    store_id, product_id = key.split(":")
    return {"store_id": store_id, "product_id": product_id}


REPLICA = TableReplica(
    [
        EntityTable("product", products, product_row),
        EntityTable(
            "barcode", barcodes, barcode_row, key_columns=("code",), key_values=lambda k: {"code": k}
        ),
        EntityTable("price", prices, price_row, key_columns=("store_id", "product_id"), key_values=price_key),
    ]
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_server(url: str, folder: Path, n: int) -> tuple[str, float]:
    """The catalog loaded at the server; a client token and the seconds the load took."""
    ds = DataServer.open(DataServerSettings(data_dir=folder, database_url=url))
    upgrade(ds.db, "osuite.dataserver")
    began = time.perf_counter()
    load_sample(ds, store_code="B1", products=n)
    loaded = time.perf_counter() - began
    with ds.db.write() as conn:
        store = clients.find_store(conn, "B1")
        code = clients.issue_enrollment_code(conn, ds, store_id=store["id"], kind="pos", name="bench POS")
        token = clients.enroll(conn, code=code["code"])["token"]
    ds.db.dispose()
    return token, loaded


def client_db(folder: Path, name: str) -> Database:
    db = Database(f"sqlite:///{folder / (name + '.db')}")
    client_meta.create_all(db.engine)
    return db


def pull_everything(server: str, token: str, folder: Path) -> tuple[float, dict[str, int]]:
    db = client_db(folder, "client")
    transport = SyncTransport(server, token, timeout=300)
    puller = Puller(db, edge, transport.changes, REPLICA, page_size=PAGE)
    began = time.perf_counter()
    puller.catch_up()
    elapsed = time.perf_counter() - began
    counts = count(db)
    transport.close()
    db.dispose()
    return elapsed, counts


def count(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (products, barcodes, prices)
        }


def server_rows(url: str, store_code: str) -> dict[str, list[dict[str, Any]]]:
    """The catalog as the server holds it, shaped as the client's rows (for the bare baseline)."""
    db = Database(url)
    with db.read() as conn:
        store_id = conn.execute(
            select(tables.stores.c.id).where(tables.stores.c.code == store_code)
        ).scalar_one()
        rows = {
            "products": [product_row(dict(r._mapping)) for r in conn.execute(select(tables.products))],
            "barcodes": [barcode_row(dict(r._mapping)) for r in conn.execute(select(tables.barcodes))],
            "prices": [
                price_row(dict(r._mapping))
                for r in conn.execute(select(tables.prices).where(tables.prices.c.store_id == store_id))
            ],
        }
    db.dispose()
    return rows


def chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), PAGE):
        yield rows[start : start + PAGE]


def bare_insert(folder: Path, rows: dict[str, list[dict[str, Any]]]) -> float:
    """The same rows, a transaction per page of the same size, the driver's executemany."""
    db = client_db(folder, "bare")
    targets = [(products, rows["products"]), (barcodes, rows["barcodes"]), (prices, rows["prices"])]
    began = time.perf_counter()
    for table, table_rows in targets:
        for chunk in chunks(table_rows):
            with db.write() as conn:
                insert_rows(conn, table, chunk)
    elapsed = time.perf_counter() - began
    db.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--server-db", choices=["sqlite", "pg"], default="sqlite")
    args = parser.parse_args()
    kind = args.server_db
    if kind == "pg" and not pg_available():
        raise SystemExit("no PostgreSQL answers at OSUITE_BENCH_PG_URL")
    print(f"catalog sync benchmark · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {machine()}")
    with workdir() as folder, fresh_database(kind, folder, "catalog") as url:
        token, loaded = prepare_server(url, folder, args.products)
        print(f"[{kind} server] sample catalog of {args.products:,} products loaded in {loaded:,.1f} s")
        with dataserver(folder, url, free_port()) as server:
            elapsed, counts = pull_everything(server, token, folder)
        rows = server_rows(url, "B1")
        expected = {name: len(r) for name, r in rows.items()}
        if counts != expected:
            raise RuntimeError(f"client holds {counts}, server has {expected}")
        bare = bare_insert(folder, rows)
        total = sum(counts.values())
        print(
            f"[{kind} server] a new client took {counts['products']:,} products, {counts['barcodes']:,} "
            f"barcodes and {counts['prices']:,} prices ({total:,} rows)"
        )
        report(f"[{kind} server] catalog sync", elapsed, bare, "s", lower_is_better=True)


if __name__ == "__main__":
    main()
