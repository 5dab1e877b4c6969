"""A store on loopback for end-to-end tests of the till: a data server with the sample store loaded, the
fiscal registrar printing on a receipt printer, a card terminal and an enrolled POS, each one
`osuite …` in its own process that a test can stop, kill -9 and start again. Tests talk to the POS
through its JSON API (:class:`Till`) and peek at its SQLite file and the registrar's journal to check
what was saved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from osuite.core.db import Database
from osuite.dataserver.client import DataServerClient
from osuite.dataserver.sample_catalog import SampleProduct, generate_products
from osuite.devices.registrar_journal import JOURNAL_FILE
from osuite.pos import tables as t
from tests.support.databases import fresh_database
from tests.support.servers import ServerProcess, free_port
from tests.support.terminal import eventually

CASHIER_PIN, SUPERVISOR_PIN = "1111", "9999"
SAMPLE_PRODUCTS = 3000
STORE_CODE = "S001"


class DeviceProcess:
    """``osuite devices emulate DEVICE …`` in a child process, healthy once ``health_url`` answers."""

    def __init__(self, device: str, folder: Path, args: list[str], health_url: str) -> None:
        self.device = device
        self.folder = folder
        self.args = args
        self.health_url = health_url
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / f"{device}.log"

    def spawn(self) -> DeviceProcess:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "osuite", "devices", "emulate", self.device, *self.args],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the {self.device} emulator exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.health_url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the {self.device} emulator did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


class Problem(AssertionError):
    """The POS refused: its problem document."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Till:
    """The POS's JSON API as the cashier's screen uses it."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=f"{url}/api/v1", timeout=60.0)

    def close(self) -> None:
        self.http.close()

    def login(self, pin: str = CASHIER_PIN) -> Till:
        token = self.call("POST", "/session", pin=pin)["token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        return self

    def call(self, method: str, path: str, **body: Any) -> Any:
        answer = self.http.request(method, path, json=body if method != "GET" else None)
        if answer.status_code >= 400:
            raise Problem(answer.status_code, answer.json())
        return answer.json() if answer.content else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, **body: Any) -> Any:
        return self.call("POST", path, **body)

    def scan(self, code: str, **extra: Any) -> Any:
        return self.post("/receipt/items", code=code, **extra)

    def pay(self, payment_type: str = "cash", amount: int | None = None) -> Any:
        return self.post(
            "/receipt/payments", payment_type=payment_type, **({} if amount is None else {"amount": amount})
        )

    def status(self) -> Any:
        return self.get("/status")


class Catalog:
    """What the sample store sells (the same generator and seed `osuite dataserver load-sample` uses)."""

    def __init__(self, products: int = SAMPLE_PRODUCTS) -> None:
        rows = list(generate_products(products, seed=1))
        self.pieces: list[SampleProduct] = [
            p for p in rows if p.barcodes and not p.weighted and not p.age_limit and p.price >= 1000
        ]
        self.weighted: list[SampleProduct] = [p for p in rows if p.weighted]
        self.all = rows

    def barcode(self, n: int) -> str:
        """The n-th piece product's own EAN-13 (cycling through the assortment)."""
        return str(self.pieces[(n * 37) % len(self.pieces)].barcodes[0][0])


class PosFiles:
    """The till's own SQLite file, read (never written) by the test to see what the POS saved."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        db = Database(self.database_url)
        try:
            with db.read() as conn:
                yield conn
        finally:
            db.dispose()

    def receipts(self, status: str = "closed") -> dict[str, dict[str, Any]]:
        """Receipts by id with their kind, number, total (sum of live lines) and fiscal mark."""
        with self._conn() as conn:
            rows = conn.execute(select(t.receipts).where(t.receipts.c.status == status)).mappings().all()
            found = {}
            for r in rows:
                total = conn.execute(
                    select(func.coalesce(func.sum(t.receipt_lines.c.amount), 0)).where(
                        t.receipt_lines.c.receipt_id == r["id"], t.receipt_lines.c.voided.is_(False)
                    )
                ).scalar_one()
                found[r["id"]] = {
                    "kind": r["kind"],
                    "number": r["number"],
                    "shift_id": r["shift_id"],
                    "total": int(total),
                    "fiscal": orjson.loads(r["fiscal"]) if r["fiscal"] else None,
                }
            return found

    def lines(self, receipt_id: str) -> list[tuple[int, str, str, int, bool]]:
        with self._conn() as conn:
            return [
                (r.line_no, r.article, r.quantity, r.amount, bool(r.voided))
                for r in conn.execute(
                    select(t.receipt_lines)
                    .where(t.receipt_lines.c.receipt_id == receipt_id)
                    .order_by(t.receipt_lines.c.line_no)
                )
            ]

    def payments(self, receipt_id: str) -> list[dict[str, Any]]:
        with self._conn() as conn:
            return [
                dict(r)
                for r in conn.execute(
                    select(t.payments).where(t.payments.c.receipt_id == receipt_id)
                ).mappings()
            ]

    def cash_operations(self) -> dict[str, dict[str, Any]]:
        with self._conn() as conn:
            return {
                r["id"]: {
                    "kind": r["kind"],
                    "amount": r["amount"],
                    "status": r["status"],
                    "fiscal": orjson.loads(r["fiscal"]) if r["fiscal"] else None,
                }
                for r in conn.execute(select(t.cash_operations)).mappings()
            }

    def products(self) -> int:
        with self._conn() as conn:
            return int(conn.execute(select(func.count()).select_from(t.products)).scalar_one())

    def cursor(self) -> dict[str, Any] | None:
        with self._conn() as conn:
            row = conn.execute(select(t.edge.cursors)).mappings().first()
            return dict(row) if row else None


class Registrar:
    """The registrar emulator seen from outside: its control endpoint and its fiscal journal on disk."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder

    def state(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/emulator/state", timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def control(self, **change: Any) -> dict[str, Any]:
        answer = httpx.post(f"{self.url}/emulator/state", json=change, timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def journal(self) -> list[dict[str, Any]]:
        """Every record of the fiscal journal (a request's uuid with the documents it registered)."""
        path = self.folder / JOURNAL_FILE
        if not path.exists():
            return []
        records = []
        for line in path.read_bytes().split(b"\n"):
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:  # the line being written as we read (always the last)
                continue
        return records

    def cash_operations(self) -> dict[str, list[dict[str, Any]]]:
        """Cash in and out documents by the key (cash operation id) they were registered under."""
        found: dict[str, list[dict[str, Any]]] = {}
        for record in self.journal():
            for document in record["documents"]:
                if document["type"] in ("cashIn", "cashOut"):
                    found.setdefault(record["uuid"], []).append(document)
        return found

    def receipts(self) -> dict[str, list[dict[str, Any]]]:
        """Sale and return documents by the key (receipt id) they were registered under."""
        found: dict[str, list[dict[str, Any]]] = {}
        for record in self.journal():
            for document in record["documents"]:
                if document["type"] in ("sell", "sellReturn"):
                    found.setdefault(record["uuid"], []).append(document)
        return found


@dataclass
class Store:
    root: Path
    dataserver: ServerProcess
    admin: DataServerClient
    printer: DeviceProcess
    registrar_process: DeviceProcess
    card_process: DeviceProcess
    registrar: Registrar
    card_url: str
    pos: ServerProcess
    files: PosFiles
    store_id: str
    client_id: str

    def till(self, pin: str = CASHIER_PIN) -> Till:
        return Till(self.pos.url).login(pin)

    def card_mode(self, **mode: Any) -> None:
        httpx.post(f"{self.card_url}/emulator/mode", json=mode, timeout=10).raise_for_status()

    def card_operations(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.card_url}/emulator/operations", timeout=10)
        answer.raise_for_status()
        return list(answer.json())

    def wait_for_catalog(self, products: int = SAMPLE_PRODUCTS) -> None:
        def arrived() -> bool:
            cursor = self.files.cursor()
            return bool(cursor and not cursor["snapshot"] and self.files.products() >= products)

        eventually(arrived, timeout=120, what="the catalog to reach the till")

    def dataserver_pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list of the data server's documents API, for this till."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            query: dict[str, Any] = {"terminal_id": self.client_id, "limit": 1000, **params}
            if after:
                query["after"] = after
            page = self.admin.request("GET", path, params=query)
            items.extend(page["items"])
            after = page["next"]
            if not after:
                return items

    def client(self) -> dict[str, Any]:
        """This till as the data server's client list shows it."""
        clients = self.admin.request("GET", "/api/v1/clients", params={"store_id": self.store_id})
        (me,) = [c for c in clients if c["id"] == self.client_id]
        return dict(me)

    def stop(self) -> None:
        self.pos.stop()
        self.admin.close()
        self.dataserver.stop()
        for device in (self.card_process, self.registrar_process, self.printer):
            device.stop()


def write_pos_config(path: Path, **settings: Any) -> Path:
    lines = [f"{key} = {orjson.dumps(value).decode()}" for key, value in settings.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def running_store(root: Path, *, products: int = SAMPLE_PRODUCTS, **pos_settings: Any) -> Iterator[Store]:
    """Everything started and the POS enrolled and served (its catalog may still be arriving); the
    sample store has ``products`` products."""
    printer_port, printer_control = free_port(), free_port()
    registrar_port, card_port = free_port(), free_port()
    registrar_url, card_url = f"http://127.0.0.1:{registrar_port}", f"http://127.0.0.1:{card_port}"
    printer = DeviceProcess(
        "printer",
        root / "printer",
        [
            "--port",
            str(printer_port),
            "--control-port",
            str(printer_control),
            "--data-dir",
            str(root / "printer"),
        ],
        f"http://127.0.0.1:{printer_control}/healthz",
    ).spawn()
    registrar = DeviceProcess(
        "registrar",
        root / "registrar",
        [
            "--port",
            str(registrar_port),
            "--data-dir",
            str(root / "registrar"),
            "--printer",
            f"127.0.0.1:{printer_port}",
        ],
        f"{registrar_url}/healthz",
    ).spawn()
    card = DeviceProcess(
        "card",
        root / "card",
        ["--port", str(card_port), "--data-dir", str(root / "card")],
        f"{card_url}/healthz",
    ).spawn()
    devices = (card, registrar, printer)
    with fresh_database(root, "dataserver") as database_url:
        dataserver = ServerProcess("dataserver", root / "dataserver", database_url)
        admin: DataServerClient | None = None
        pos: ServerProcess | None = None
        try:
            dataserver.cli("load-sample", "--products", str(products))
            admin = DataServerClient(dataserver.url, dataserver.cli("apikey", "e2e"))
            dataserver.start()
            store = admin.request("GET", f"/api/v1/stores/{STORE_CODE}")
            code = admin.request(
                "POST",
                f"/api/v1/stores/{store['id']}/enrollment-codes",
                json={"kind": "pos", "name": "Касса 1"},
            )["code"]
            for device in devices:
                device.wait_healthy()
            config = write_pos_config(
                root / "pos" / "pos.toml",
                heartbeat_seconds=0.5,
                long_poll_seconds=5.0,
                device_timeout_seconds=15.0,
                card_timeout_seconds=15.0,
                **pos_settings,
            )
            pos_db = f"sqlite:///{root / 'pos' / 'pos.db'}"
            pos = ServerProcess(
                "pos",
                root / "pos",
                pos_db,
                extra=["--registrar", registrar_url, "--card-terminal", card_url, "--config", str(config)],
            )
            pos.cli("enroll", dataserver.url, code, "--name", "Касса 1")
            pos.start()
            client = next(
                c
                for c in admin.request("GET", "/api/v1/clients", params={"store_id": store["id"]})
                if c["kind"] == "pos"
            )
            yield Store(
                root=root,
                dataserver=dataserver,
                admin=admin,
                printer=printer,
                registrar_process=registrar,
                card_process=card,
                registrar=Registrar(registrar_url, root / "registrar"),
                card_url=card_url,
                pos=pos,
                files=PosFiles(pos_db),
                store_id=store["id"],
                client_id=client["id"],
            )
        finally:
            if pos is not None:
                pos.stop()
            if admin is not None:
                admin.close()
            dataserver.stop()
            for device in devices:
                device.stop()


def kopecks(text: str) -> int:
    return int(Decimal(text) * 100)
