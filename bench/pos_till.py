"""What the POS benchmarks share: a till's database holding a big catalog (built once and cached), the
till served as ``osuite pos serve`` serves it, ``osuite devices emulate registrar`` beside it, a
cashier's screen speaking the POS's JSON API over one keep-alive connection, and latency percentiles.

The catalog is the data server's sample (:func:`osuite.dataserver.sample_catalog.generate_products`)
put straight into the till's replica tables: each payload goes through the replica's own mapping
(``catalog.REPLICA``), so the rows are exactly those sync would leave, and is written with the
driver's ``executemany`` (``insert_rows``) instead of upserts, which takes ~1 minute for a million
products instead of the many minutes a real sync takes. The file is kept in ``bench/.cache/`` and
reused while its name (products, seed, :data:`CATALOG_VERSION`) matches; every run works on a copy.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from osuite.core.barcodes import DEFAULT_TEMPLATES
from osuite.core.db import Database, insert_rows
from osuite.core.migrations import upgrade
from osuite.core.security import hash_secret
from osuite.core.sync.transport import ChangeRow
from osuite.dataserver.sample_catalog import CATEGORIES, generate_chunks
from osuite.pos import catalog
from osuite.pos import tables as t
from osuite.pos.context import record_enrollment

CACHE = Path(__file__).resolve().parent / ".cache"
CATALOG_VERSION = 1
"""Bump when what :func:`build_catalog` writes changes, so an old cached file is not reused."""

STORE_ID = "00000000-0000-7000-8000-00000000b001"
CASHIER_PIN, SUPERVISOR_PIN = "1111", "9999"
OFFLINE = "http://127.0.0.1:9"  # the till's data server: nothing listens, the link stays offline
CHUNK = 50_000


def product_id(i: int) -> str:
    """A product's id at the till: UUID-shaped and increasing, as the data server's UUIDv7 ids are."""
    return f"00000000-0000-7000-8000-{i:012d}"


# --- the till's database ----------------------------------------------------------------------------


def catalog_db(products: int, seed: int = 1) -> Path:
    """The cached till database holding ``products`` sample products, built first if missing."""
    CACHE.mkdir(exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    path = CACHE / f"pos-catalog-{products}-seed{seed}-v{CATALOG_VERSION}.db"
    if not path.exists():
        building = path.with_suffix(".building")
        for stale in CACHE.glob(building.name + "*"):
            stale.unlink()
        began = time.perf_counter()
        build_catalog(building, products, seed)
        building.rename(path)
        print(f"built the till's catalog of {products:,} products in {time.perf_counter() - began:,.0f} s")
    return path


def working_copy(cached: Path, folder: Path) -> Path:
    """A copy of the cached database for one run (a run adds shifts and receipts to it)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "pos.db"
    shutil.copyfile(cached, target)
    return target


def build_catalog(path: Path, products: int, seed: int) -> None:
    db = Database(f"sqlite:///{path}")
    upgrade(db, "osuite.pos")
    with db.write() as conn:
        record_enrollment(
            conn,
            client_id="00000000-0000-7000-8000-0000000c0001",
            store_id=STORE_ID,
            name="Bench POS",
            server_url=OFFLINE,
            token="offline",
        )
        catalog.REPLICA.apply(conn, reference_changes())
    by_entity = catalog.REPLICA.by_entity
    product_row, barcode_row, price_row = (by_entity[e].row for e in ("product", "barcode", "price"))
    done = 0
    for chunk in generate_chunks(products, seed, CHUNK):
        ids = [product_id(done + n) for n in range(len(chunk))]
        with db.write() as conn:
            insert_rows(
                conn,
                t.products,
                [
                    product_row(
                        {
                            "id": pid,
                            "article": p.article,
                            "name": p.name,
                            "unit": p.unit,
                            "weighted": p.weighted,
                            "vat_rate": p.vat_rate,
                            "category_id": p.category_id,
                            "age_limit": p.age_limit,
                            "active": True,
                        }
                    )
                    for pid, p in zip(ids, chunk, strict=True)
                ],
            )
            insert_rows(
                conn,
                t.barcodes,
                [
                    barcode_row({"code": code, "product_id": pid, "multiplier": str(factor)})
                    for pid, p in zip(ids, chunk, strict=True)
                    for code, factor in p.barcodes
                ],
            )
            insert_rows(
                conn,
                t.prices,
                [
                    price_row({"store_id": STORE_ID, "product_id": pid, "price": p.price})
                    for pid, p in zip(ids, chunk, strict=True)
                ],
            )
        done += len(chunk)
    with db.engine.connect() as conn:  # everything into the file itself, which is what gets copied
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()


def reference_changes() -> list[ChangeRow]:
    """Everything but the products, as the data server publishes it: the store, the sample's category
    tree, the scales' barcode templates, cash, two roles, a cashier and a supervisor with PINs, and
    two promotions (a category discount and a receipt threshold) the till prices every receipt with."""

    def change(entity: str, key: str, payload: dict[str, Any]) -> ChangeRow:
        return ChangeRow(seq=0, entity=entity, key=key, op="upsert", payload=payload)

    selling = ["sell", "return", "open_shift", "close_shift", "x_report", "cash_in"]
    promotion = {
        "product_ids": [],
        "store_ids": [],
        "amount": None,
        "buy": None,
        "pay": None,
        "starts_on": None,
        "ends_on": None,
        "time_from": None,
        "time_to": None,
        "weekdays": [],
        "active": True,
        "updated_at": "2026-11-24T00:00:00+00:00",
    }
    return [
        change(
            "store",
            STORE_ID,
            {"id": STORE_ID, "code": "B1", "name": "Bench store", "timezone": "Europe/Moscow"},
        ),
        *[
            change("category", c.id, {"id": c.id, "name": c.name, "parent_id": c.parent_id})
            for c in CATEGORIES
        ],
        *[
            change("barcode_template", tpl.name, {"id": tpl.name, "template": tpl.model_dump()})
            for tpl in DEFAULT_TEMPLATES
        ],
        change(
            "payment_type",
            "CASH",
            {"code": "CASH", "name": "Наличные", "method": "cash", "active": True, "sort": 1},
        ),
        change("role", "cashier", {"id": "cashier", "name": "Кассир", "permissions": selling}),
        change(
            "role",
            "senior",
            {"id": "senior", "name": "Старший кассир", "permissions": [*selling, "cancel_receipt"]},
        ),
        *[
            change(
                "user",
                user_id,
                {
                    "id": user_id,
                    "login": user_id,
                    "name": name,
                    "roles": [role],
                    "active": True,
                    "pin_hash": hash_secret(pin),
                },
            )
            for user_id, name, role, pin in (
                ("anna", "Анна К.", "cashier", CASHIER_PIN),
                ("olga", "Ольга С.", "senior", SUPERVISOR_PIN),
            )
        ],
        change(
            "promotion",
            "cheese-10",
            {
                **promotion,
                "id": "cheese-10",
                "name": "Сыры −10%",
                "kind": "percent_off",
                "category_ids": ["dairy-cheese"],
                "percent": "10",
                "threshold": None,
                "stackable": False,
            },
        ),
        change(
            "promotion",
            "receipt-3000",
            {
                **promotion,
                "id": "receipt-3000",
                "name": "Чек от 3 000 ₽ −5%",
                "kind": "receipt_threshold",
                "category_ids": [],
                "percent": "5",
                "threshold": 300_000,
                "stackable": False,
            },
        ),
    ]


def sellable_codes(db_file: Path) -> list[str]:
    """Every catalog barcode of a product a cashier sells without a dialog (no age check, priced)."""
    db = Database(f"sqlite:///{db_file}")
    with db.read() as conn:
        codes = list(
            conn.execute(
                # CROSS JOIN keeps SQLite to this order (barcodes, then each one's product and price):
                # the file has no statistics, and the planner's own guess scans barcodes per product.
                text(
                    "SELECT b.code FROM barcodes b CROSS JOIN products p ON p.id = b.product_id "
                    "CROSS JOIN prices c ON c.product_id = p.id AND c.store_id = :store "
                    "WHERE p.age_limit = 0 AND p.active AND NOT p.weighted"
                ),
                {"store": STORE_ID},
            ).scalars()
        )
    db.dispose()
    return codes


# --- processes --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def child(
    command: Sequence[str], url: str, log: Path, what: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """A server in a child process, waited for on its ``/healthz`` and terminated afterwards; ``env``
    is added to this process's environment for it."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command), stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start:\n{_tail(log)}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _tail(log: Path) -> str:
    """The end of a child's log (the work folder and its logs go when the benchmark ends)."""
    return log.read_bytes()[-3000:].decode(errors="replace")


@contextmanager
def registrar(folder: Path) -> Iterator[str]:
    """``osuite devices emulate registrar`` (no printer; its journal fsync'ed before it answers); its URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "osuite",
        "devices",
        "emulate",
        "registrar",
        "--port",
        str(port),
        "--data-dir",
        str(folder / "registrar"),
    ]
    with child(
        command, f"http://127.0.0.1:{port}", folder / "registrar.log", "the registrar emulator"
    ) as url:
        yield url


@contextmanager
def pos_server(folder: Path, registrar_url: str) -> Iterator[str]:
    """``osuite pos serve`` on ``folder`` (its ``pos.db``), pointed at the registrar; its URL."""
    port = free_port()
    config = folder / "pos.toml"
    config.write_text('log_level = "warning"\n')
    command = [
        sys.executable,
        "-m",
        "osuite",
        "pos",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(folder),
        "--registrar",
        registrar_url,
        "--config",
        str(config),
    ]
    with child(command, f"http://127.0.0.1:{port}", folder / "pos.log", "the POS") as url:
        yield url


# --- the cashier's screen ---------------------------------------------------------------------------


class Screen:
    """The POS's JSON API as the cashier's screen calls it, over one keep-alive connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=f"{url}/api/v1", timeout=30)

    def call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.http.post(path, json=body or {})
        if answer.status_code != 200:
            raise RuntimeError(f"POST {path} answered {answer.status_code}: {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    def login(self, pin: str = CASHIER_PIN) -> Screen:
        token = self.call("/session", {"pin": pin})["token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        return self

    def open_shift(self) -> None:
        self.call("/shift/open")

    def scan(self, code: str) -> tuple[float, dict[str, Any]]:
        """Add an item by its barcode; the seconds the POS took to answer, and the receipt."""
        began = time.perf_counter()
        answer = self.http.post("/receipt/items", json={"code": code})
        elapsed = time.perf_counter() - began
        if answer.status_code != 200:
            raise RuntimeError(f"scanning {code} answered {answer.status_code}: {answer.text}")
        result: dict[str, Any] = answer.json()
        return elapsed, result

    def pay_cash(self) -> tuple[float, dict[str, Any]]:
        """Pay what is due in cash, which closes the receipt; the seconds it took, and the receipt."""
        began = time.perf_counter()
        answer = self.http.post("/receipt/payments", json={"payment_type": "CASH"})
        elapsed = time.perf_counter() - began
        if answer.status_code != 200 or answer.json()["status"] != "closed":
            raise RuntimeError(f"paying answered {answer.status_code}: {answer.text}")
        result: dict[str, Any] = answer.json()
        return elapsed, result

    def served(self, route: str) -> tuple[float, int]:
        """The POS's own count of the seconds spent on ``route`` and of its requests (``/metrics``:
        from its HTTP middleware to the response, so without the socket, uvicorn and the client)."""
        metrics = self.http.get(f"{self.url}/metrics").text
        label = f'{{route="{route}"}} '
        found = {
            name: float(line.rpartition(" ")[2])
            for line in metrics.splitlines()
            for name in ("sum", "count")
            if line.startswith(f"osuite_http_request_seconds_{name}{label}")
        }
        return found.get("sum", 0.0), int(found.get("count", 0))

    def close(self) -> None:
        self.http.close()


# --- figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    """Percentiles of a set of timings, in milliseconds (nearest rank)."""

    count: int
    mean: float
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Iterable[float]) -> Latency:
        ms = sorted(s * 1000 for s in seconds)
        if not ms:
            raise ValueError("no timings")

        def rank(q: float) -> float:
            return ms[max(math.ceil(q * len(ms)) - 1, 0)]

        return cls(count=len(ms), mean=sum(ms) / len(ms), p50=rank(0.50), p99=rank(0.99), max=ms[-1])

    def __str__(self) -> str:
        return (
            f"p50 {self.p50:.2f} ms, p99 {self.p99:.2f} ms, mean {self.mean:.2f} ms, max {self.max:.2f} ms "
            f"({self.count:,} requests)"
        )
