"""Receipts ingested per second by the data server from 20 concurrent clients sending batches, beside a
bare insert of the same rows into the same kind of database, in the same run.

    python bench/ingest.py [--db sqlite|pg|both] [--receipts 40000] [--clients 20] [--batch 200]

Each receipt has 5 lines and 2 payments. The clients' batches are encoded before the clock starts, so
the figure is the server's: HTTP, JSON, validation, the money rules, idempotency and the inserts.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from bench.common import dataserver, fresh_database, machine, pg_available, report, workdir
from osuite.core.db import Database, insert_rows
from osuite.core.migrations import upgrade
from osuite.core.sync.intake import digest
from osuite.core.sync.wire import DocumentIn
from osuite.dataserver import clients, tables
from osuite.dataserver.context import DataServer
from osuite.dataserver.sample_sales import Till
from osuite.dataserver.settings import DataServerSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(database_url: str, folder: Path, n_clients: int) -> tuple[str, list[tuple[str, str]]]:
    """A migrated database with one store and ``n_clients`` enrolled terminals: (store id, [(id, token)])."""
    ds = DataServer.open(DataServerSettings(data_dir=folder, database_url=database_url))
    upgrade(ds.db, "osuite.dataserver")
    terminals = []
    with ds.db.write() as conn:
        store = clients.create_store(conn, ds, code="B1", name="Bench store")
        for n in range(n_clients):
            issued = clients.issue_enrollment_code(
                conn, ds, store_id=store["id"], kind="pos", name=f"POS {n}"
            )
            enrolled = clients.enroll(conn, code=issued["code"])
            terminals.append((enrolled["client_id"], enrolled["token"]))
    ds.db.dispose()
    return store["id"], terminals


def make_batches(
    store_id: str, terminal_id: str, receipts: int, batch: int
) -> tuple[DocumentIn, list[list[DocumentIn]]]:
    till = Till(store_id=store_id, terminal_id=terminal_id)
    shift = till.open_shift()
    docs = [till.receipt(lines=5, payments=2) for _ in range(receipts)]
    return shift, [docs[i : i + batch] for i in range(0, len(docs), batch)]


def encode(documents: list[DocumentIn]) -> bytes:
    return orjson.dumps({"documents": [d.model_dump() for d in documents]})


def run_ingest(url: str, work: list[tuple[str, list[bytes]]]) -> float:
    """Every client posts its batches one after another; the clients run at once. Seconds taken."""
    errors: list[str] = []
    start = threading.Barrier(len(work) + 1)

    def client(token: str, bodies: list[bytes]) -> None:
        with httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=120,
        ) as http:
            start.wait()
            for body in bodies:
                response = http.post("/api/v1/sync/documents", content=body)
                answer = response.json()
                if response.status_code != 200 or answer.get("rejected"):
                    errors.append(f"{response.status_code}: {str(answer)[:300]}")

    threads = [threading.Thread(target=client, args=item) for item in work]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} batches failed, first: {errors[0]}")
    return elapsed


def rows_of(documents: list[DocumentIn], source: str) -> dict[str, list[dict[str, Any]]]:
    """The rows the intake writes for these receipts, ready for a bare insert."""
    now = datetime.now(UTC)
    out: dict[str, list[dict[str, Any]]] = {"inbox": [], "receipts": [], "lines": [], "payments": []}
    for d in documents:
        p = d.payload
        out["inbox"].append(
            {"id": d.id, "kind": d.kind, "digest": digest(d.kind, p), "source": source, "received_at": now}
        )
        closed = datetime.fromisoformat(p["closed_at"])
        out["receipts"].append(
            {
                "id": d.id,
                "store_id": p["store_id"],
                "terminal_id": p["terminal_id"],
                "shift_id": p["shift_id"],
                "number": p["number"],
                "kind": p["kind"],
                "original_receipt_id": None,
                "cashier_id": None,
                "opened_at": datetime.fromisoformat(p["opened_at"]),
                "closed_at": closed,
                "business_day": closed.date(),
                "total": p["total"],
                "discount": 0,
                "body": orjson.dumps(p).decode(),
            }
        )
        out["lines"].extend(
            {
                "receipt_id": d.id,
                **{
                    k: line[k]
                    for k in (
                        "line_no",
                        "product_id",
                        "article",
                        "name",
                        "price",
                        "discount",
                        "amount",
                        "vat_rate",
                    )
                },
                "quantity": Decimal(line["quantity"]),
                "barcode": None,
            }
            for line in p["lines"]
        )
        out["payments"].extend(
            {"receipt_id": d.id, "line_no": n, "payment_type": pay["payment_type"], "amount": pay["amount"]}
            for n, pay in enumerate(p["payments"], start=1)
        )
    return out


def run_bare(database_url: str, folder: Path, batches: list[list[DocumentIn]]) -> float:
    """The same rows inserted with the driver's executemany, a transaction per batch, one connection, no
    HTTP, no validation. Seconds taken."""
    db = Database(database_url)
    upgrade(db, "osuite.dataserver")
    prepared = [rows_of(batch, "bare") for batch in batches]
    targets = [
        ("inbox", tables.center.inbox),
        ("receipts", tables.receipts),
        ("lines", tables.receipt_lines),
        ("payments", tables.receipt_payments),
    ]
    began = time.perf_counter()
    for rows in prepared:
        with db.write() as conn:
            for name, table in targets:
                insert_rows(conn, table, rows[name])
    elapsed = time.perf_counter() - began
    db.dispose()
    return elapsed


def count_receipts(database_url: str) -> int:
    db = Database(database_url)
    with db.read() as conn:
        n = int(conn.execute(select(func.count()).select_from(tables.receipts)).scalar_one())
    db.dispose()
    return n


def bench(kind: str, receipts: int, n_clients: int, batch: int, workers: int) -> float:
    with (
        workdir() as folder,
        fresh_database(kind, folder, "ingest") as url,
        fresh_database(kind, folder, "bare") as bare_url,
    ):
        store_id, terminals = prepare(url, folder, n_clients)
        per_client = receipts // n_clients
        work: list[tuple[str, list[bytes]]] = []
        shifts: list[tuple[str, bytes]] = []
        all_batches: list[list[DocumentIn]] = []
        for client_id, token in terminals:
            shift, batches = make_batches(store_id, client_id, per_client, batch)
            shifts.append((token, encode([shift])))
            work.append((token, [encode(b) for b in batches]))
            all_batches.extend(batches)
        with dataserver(folder, url, free_port(), workers) as server:
            run_ingest(server, [(token, [body]) for token, body in shifts])  # warm up: open the shifts
            elapsed = run_ingest(server, work)
        stored = count_receipts(url)
        if stored != per_client * n_clients:
            raise RuntimeError(f"expected {per_client * n_clients} receipts stored, found {stored}")
        bare = run_bare(bare_url, folder, all_batches)
        total = per_client * n_clients
        print(
            f"[{kind}] {total} receipts (5 lines, 2 payments), {n_clients} clients, batches of {batch}, "
            f"{workers} server worker(s)"
        )
        return report(f"[{kind}] ingest", total / elapsed, total / bare, "receipts/s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--receipts", type=int, default=40000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="serve --workers (one per core)")
    args = parser.parse_args()
    print(f"ingest benchmark · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {machine()}")
    kinds = ["sqlite", "pg"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "pg" and not pg_available():
            print("[pg] skipped: no PostgreSQL answers at OSUITE_BENCH_PG_URL")
            continue
        bench(kind, args.receipts, args.clients, args.batch, args.workers)


if __name__ == "__main__":
    main()
