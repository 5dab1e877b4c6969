"""The Manager's product search on a big catalog: milliseconds the data server takes to answer a search
by name (a common and a rare word, and a word no product has), by article and by barcode through its
HTTP API, beside the same SQL run straight on the database in the same run.

    python -m bench.manager_search [--products 1000000] [--server-db sqlite|pg] [--repeat 20]

The data server holds the sample catalog (`osuite.dataserver.sample_catalog`), loaded the way
bench/catalog_sync.py loads it. Each search asks for the first page the Manager shows (50 products);
the figure is the median of ``--repeat`` requests after one warm-up, measured at the client on
loopback, so it includes HTTP and JSON as well as the query.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.catalog_sync import free_port
from bench.common import dataserver, fresh_database, machine, pg_available, report, workdir
from osuite.core.migrations import upgrade
from osuite.dataserver import catalog, clients, tables
from osuite.dataserver.context import DataServer
from osuite.dataserver.sample_catalog import load_sample
from osuite.dataserver.settings import DataServerSettings

LIMIT = 50
GOAL_MS = 200.0


def prepare(url: str, folder: Path, n: int) -> tuple[str, dict[str, dict[str, str]], float]:
    """The catalog loaded; a read key, the searches to time (the API's parameters by name) and the
    seconds the load took."""
    ds = DataServer.open(DataServerSettings(data_dir=folder, database_url=url))
    upgrade(ds.db, "osuite.dataserver")
    began = time.perf_counter()
    load_sample(ds, store_code="B1", products=n)
    loaded = time.perf_counter() - began
    p, b = tables.products.c, tables.barcodes.c
    with ds.db.write() as conn:
        key = clients.create_api_key(conn, name="bench", scopes=frozenset({"read"}))["token"]
        code, product_id = conn.execute(
            select(b.code, b.product_id).order_by(b.code).offset(n // 2).limit(1)
        ).one()
        article = conn.execute(select(p.article).where(p.id == product_id)).scalar_one()
    ds.db.dispose()
    searches = {
        "name, a common word («молоко»: read in id order, the first page is found early)": {"q": "молоко"},
        "name, a word no product has («зюзюка»: looked up in the trigram index)": {"q": "зюзюка"},
        "article": {"article": article},
        "barcode": {"barcode": code},
    }
    return key, searches, loaded


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    run()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--server-db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    kind = args.server_db
    if kind == "pg" and not pg_available():
        raise SystemExit("no PostgreSQL answers at OSUITE_BENCH_PG_URL")
    print(f"manager search benchmark · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {machine()}")
    with workdir() as folder, fresh_database(kind, folder, "search") as url:
        key, searches, loaded = prepare(url, folder, args.products)
        print(f"[{kind}] sample catalog of {args.products:,} products loaded in {loaded:,.1f} s")
        ds = DataServer.open(DataServerSettings(data_dir=folder, database_url=url))
        worst = 0.0
        with (
            dataserver(folder, url, free_port()) as server,
            httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"}) as http,
        ):
            for title, params in searches.items():

                def api(params: dict[str, str] = params) -> int:
                    answer = http.get("/api/v1/products", params={**params, "limit": LIMIT})
                    answer.raise_for_status()
                    return len(answer.json()["items"])

                def bare(params: dict[str, str] = params) -> int:
                    with ds.db.read() as conn:
                        return len(catalog.list_products(conn, limit=LIMIT, **params).items)

                found = api()
                figure, baseline = median_ms(api, args.repeat), median_ms(bare, args.repeat)
                worst = max(worst, figure)
                report(
                    f"[{kind}] search by {title}, {found} found", figure, baseline, "ms", lower_is_better=True
                )
        ds.db.dispose()
        verdict = "reached" if worst < GOAL_MS else "NOT reached"
        print(f"[{kind}] slowest search {worst:,.1f} ms; goal < {GOAL_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
