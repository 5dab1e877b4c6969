"""A scan at the till: milliseconds from ``POST /api/v1/receipt/items`` to its answer with a
1,000,000-product catalog, beside a bare FastAPI endpoint doing the same barcode lookup in the same
SQLite file, in the same run.

    python -m bench.pos_scan [--products 1000000] [--scans 3000] [--per-receipt 20] [--warmup 200]

The till is ``osuite pos serve`` in a process of its own (uvicorn, as in a shop), its replica holding
the sample catalog (built once into ``bench/.cache/``, copied for each run), the registrar emulator in
another process, the data server absent (the till sells offline). A logged-in cashier with an open
shift adds items by random barcodes over one keep-alive connection; every ``--per-receipt`` items the
receipt is paid in cash and closed, out of the timing, so receipts grow from 1 to that many lines as at
a real till. Each scan commits its line durably (SQLite WAL, ``synchronous=FULL``).

The baseline is the least a scan needs: a FastAPI app on the same kind of server (uvicorn, one
process, a sync route in the thread pool) that takes ``{"code"}``, selects the product, its price and
the barcode's multiplier by that code from the same database file with the standard ``sqlite3``
module, and answers them as JSON. Scans alternate between the till and the baseline (each its own
random codes), so both see the same machine at the same moment.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from bench.common import machine, report, workdir
from bench.pos_till import (
    STORE_ID,
    Latency,
    Screen,
    catalog_db,
    child,
    free_port,
    pos_server,
    registrar,
    sellable_codes,
    working_copy,
)

GOAL_P99_MS = 5.0
GOAL_RATIO = 2.0
BARE_DB = "OSUITE_BENCH_BARE_DB"

# The same rows the till's lookup (osuite.pos.catalog.by_scan) reads: the product, its price at this
# store and the barcode's multiplier, found by the code.
LOOKUP = (
    "SELECT p.id, p.article, p.name, p.unit, p.weighted, p.vat_rate, p.category_id, p.age_limit, "
    "p.active, c.price, b.multiplier FROM barcodes b JOIN products p ON p.id = b.product_id "
    "LEFT JOIN prices c ON c.product_id = p.id AND c.store_id = ? WHERE b.code = ?"
)
COLUMNS = (
    "id",
    "article",
    "name",
    "unit",
    "weighted",
    "vat_rate",
    "category_id",
    "age_limit",
    "active",
    "price",
    "multiplier",
)


class Scan(BaseModel):
    code: str


def bare_app() -> FastAPI:
    """The baseline server (``uvicorn --factory bench.pos_scan:bare_app``; the file in ``$BARE_DB``)."""
    db_file = os.environ[BARE_DB]
    local = threading.local()  # one connection per thread of the pool, as a pooled engine would keep

    def connection() -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(db_file, check_same_thread=False)
        return conn

    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/lookup")
    def lookup(body: Scan) -> dict[str, Any]:
        row = connection().execute(LOOKUP, (STORE_ID, body.code)).fetchone()
        if row is None:
            raise HTTPException(404, f"barcode {body.code} is not in the catalog")
        return dict(zip(COLUMNS, row, strict=True))

    return app


def bare_server(folder: Path, db_file: Path) -> AbstractContextManager[str]:
    """The baseline app under uvicorn in a process of its own, as the till is served; its URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.pos_scan:bare_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    url = f"http://127.0.0.1:{port}"
    return child(command, url, folder / "bare.log", "the bare server", env={BARE_DB: str(db_file)})


@dataclass(frozen=True)
class Result:
    till: Latency
    bare: Latency
    served_ms: float  # the till's own mean time per scan (its /metrics), without socket and uvicorn


def run(pos_url: str, bare_url: str, codes: list[str], args: argparse.Namespace) -> Result:
    screen = Screen(pos_url).login()
    screen.open_shift()
    bare = httpx.Client(base_url=bare_url, timeout=30)
    rnd = random.Random(args.seed)
    till: list[float] = []
    baseline: list[float] = []
    route = "/api/v1/receipt/items"
    try:
        for n in range(args.warmup + args.scans):
            if n == args.warmup:
                served_before = screen.served(route)
            if n and n % args.per_receipt == 0:
                screen.pay_cash()
            code = rnd.choice(codes)
            elapsed, receipt = screen.scan(code)
            if n == 0:  # the baseline finds what the till sold
                found = bare.post("/lookup", json={"code": code}).json()
                if found["id"] != receipt["lines"][-1]["product_id"]:
                    raise RuntimeError(f"the bare lookup of {code} found {found}, the till {receipt}")
            code = rnd.choice(codes)
            began = time.perf_counter()
            answer = bare.post("/lookup", json={"code": code})
            bare_elapsed = time.perf_counter() - began
            if answer.status_code != 200:
                raise RuntimeError(f"the bare lookup of {code} answered {answer.status_code}")
            if n >= args.warmup:
                till.append(elapsed)
                baseline.append(bare_elapsed)
        served_after = screen.served(route)
        screen.pay_cash()
    finally:
        screen.close()
        bare.close()
    served = (served_after[0] - served_before[0]) / (served_after[1] - served_before[1]) * 1000
    return Result(Latency.of(till), Latency.of(baseline), served)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--scans", type=int, default=3000, help="timed scans (after the warm-up)")
    parser.add_argument("--per-receipt", type=int, default=20, help="items per receipt before it is paid")
    parser.add_argument("--warmup", type=int, default=200, help="scans first, not timed")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"POS scan benchmark · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {machine()}")
    cached = catalog_db(args.products)
    with workdir() as folder:
        db_file = working_copy(cached, folder / "pos")
        codes = sellable_codes(db_file)
        print(f"till catalog: {args.products:,} products; scanning among {len(codes):,} barcodes")
        with (
            registrar(folder) as registrar_url,
            pos_server(folder / "pos", registrar_url) as pos_url,
            bare_server(folder, db_file) as bare_url,
        ):
            result = run(pos_url, bare_url, codes, args)
    till, bare = result.till, result.bare
    print(f"till   POST /receipt/items: {till}")
    print(f"       of which in the till's app (its /metrics): mean {result.served_ms:.2f} ms")
    print(f"bare   lookup endpoint:     {bare}")
    p50 = report("scan p50", till.p50, bare.p50, "ms", lower_is_better=True)
    p99 = report("scan p99", till.p99, bare.p99, "ms", lower_is_better=True)
    met = till.p99 <= GOAL_P99_MS and p99 <= GOAL_RATIO
    print(
        f"goal p99 ≤ {GOAL_P99_MS:g} ms and ratio ≤ {GOAL_RATIO:g}: {'met' if met else 'NOT met'} "
        f"(p99 {till.p99:.2f} ms, ratio {p99:.2f}; p50 ratio {p50:.2f})"
    )


if __name__ == "__main__":
    main()
