"""A till for tests: the POS app in-process with its own SQLite database, a small catalog put into its
replica as the data server would send it, the registrar (printing on an ESC/POS printer emulator) and
card terminal emulators on real loopback sockets, and no data server (the link stays offline; the e2e
tests bring a real one)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from osuite.core.barcodes import DEFAULT_TEMPLATES
from osuite.core.money import line_amount
from osuite.core.security import hash_secret
from osuite.core.sync.transport import ChangeRow
from osuite.dataserver.wire.catalog import PromotionRead
from osuite.devices.card_emulator import RunningCardTerminal, start_card_emulator
from osuite.devices.escpos_emulator import PrinterEmulator, start_printer_emulator
from osuite.devices.registrar_emulator import RunningRegistrar, start_registrar_emulator
from osuite.pos import catalog
from osuite.pos import tables as t
from osuite.pos.context import Pos, record_enrollment
from osuite.pos.settings import PosSettings

STORE = "S1"
CASHIER_PIN, SUPERVISOR_PIN, NOVICE_PIN = "1111", "9999", "3333"
STOCK_PIN = "5555"  # a storekeeper: may not sell
MILK = "4600000000017"  # 89.90, piece, category dairy (under food)
SIXPACK = "4600000000024"  # six of the water
WATER = "4600000000031"  # 45.00, VAT 10
WINE = "4600000000048"  # 599.00, 18+
APPLES = "4600000000053"  # the apples' own barcode (weighted: the weight is asked for)
UNKNOWN = "4600000000060"  # a valid EAN-13 the catalog does not know
APPLES_ARTICLE = "00042"  # weighted, 129.00 per kg
BUN_ARTICLE = "00043"  # a bun, 25.00 a piece, sold with in-store count labels


def _change(entity: str, key: str, payload: dict[str, Any]) -> ChangeRow:
    return ChangeRow(seq=0, entity=entity, key=key, op="upsert", payload=payload)


def _product(
    pid: str,
    article: str,
    name: str,
    price: int,
    *,
    weighted: bool = False,
    age: int = 0,
    category: str | None = "food",
    vat: str = "20",
) -> list[ChangeRow]:
    return [
        _change(
            "product",
            pid,
            {
                "id": pid,
                "article": article,
                "name": name,
                "unit": "kg" if weighted else "pcs",
                "weighted": weighted,
                "vat_rate": vat,
                "category_id": category,
                "age_limit": age,
                "active": True,
            },
        ),
        _change("price", f"{STORE}:{pid}", {"store_id": STORE, "product_id": pid, "price": price}),
    ]


def promotion(pid: str, kind: str, name: str = "", **fields: Any) -> dict[str, Any]:
    """A promotion as the data server publishes it (``PromotionRead`` as JSON)."""
    payload: dict[str, Any] = {
        "id": pid,
        "name": name or pid,
        "kind": kind,
        "product_ids": [],
        "category_ids": [],
        "store_ids": [],
        "percent": None,
        "amount": None,
        "buy": None,
        "pay": None,
        "threshold": None,
        "starts_on": None,
        "ends_on": None,
        "time_from": None,
        "time_to": None,
        "weekdays": [],
        "stackable": False,
        "active": True,
        "updated_at": "2025-01-01T00:00:00+00:00",
        **fields,
    }
    return PromotionRead.model_validate(payload).model_dump(mode="json")


@functools.cache
def _pin_hashes() -> dict[str, str]:
    return {pin: hash_secret(pin) for pin in (CASHIER_PIN, SUPERVISOR_PIN, NOVICE_PIN, STOCK_PIN)}


def catalog_changes(promotions: list[dict[str, Any]] | None = None) -> list[ChangeRow]:
    hashed = _pin_hashes()
    rows = [
        _change("store", STORE, {"id": STORE, "code": "S1", "name": "Test", "timezone": "Europe/Moscow"}),
        _change("category", "food", {"id": "food", "name": "Food", "parent_id": None}),
        _change("category", "dairy", {"id": "dairy", "name": "Dairy", "parent_id": "food"}),
        *_product("milk", "1001", "Молоко 3,2% 1 л", 8990, category="dairy"),
        *_product("water", "1002", "Вода 0,5 л", 4500, vat="10"),
        *_product("wine", "1003", "Вино красное 0,75 л", 59900, age=18),
        *_product("apples", APPLES_ARTICLE, "Яблоки Гала", 12900, weighted=True),
        *_product("bun", BUN_ARTICLE, "Булочка с маком", 2500, category="bakery"),
        _change("category", "bakery", {"id": "bakery", "name": "Bakery", "parent_id": None}),
        _change("barcode", MILK, {"code": MILK, "product_id": "milk", "multiplier": "1"}),
        _change("barcode", APPLES, {"code": APPLES, "product_id": "apples", "multiplier": "1"}),
        _change("barcode", WATER, {"code": WATER, "product_id": "water", "multiplier": "1"}),
        _change("barcode", SIXPACK, {"code": SIXPACK, "product_id": "water", "multiplier": "6"}),
        _change("barcode", WINE, {"code": WINE, "product_id": "wine", "multiplier": "1"}),
        *[
            _change("barcode_template", tpl.name, {"id": tpl.name, "template": tpl.model_dump()})
            for tpl in DEFAULT_TEMPLATES
        ],
        _change(
            "payment_type",
            "CASH",
            {"code": "CASH", "name": "Наличные", "method": "cash", "active": True, "sort": 1},
        ),
        _change(
            "payment_type",
            "CARD",
            {"code": "CARD", "name": "Карта", "method": "card", "active": True, "sort": 2},
        ),
        _change(
            "payment_type",
            "BONUS",
            {"code": "BONUS", "name": "Баллы", "method": "bonus", "active": True, "sort": 3},
        ),
        _change(
            "role",
            "cashier",
            {
                "id": "cashier",
                "name": "Кассир",
                "permissions": ["sell", "return", "open_shift", "close_shift", "x_report", "cash_in"],
            },
        ),
        _change(
            "role",
            "senior",
            {
                "id": "senior",
                "name": "Старший кассир",
                "permissions": [
                    "sell",
                    "return",
                    "return_without_receipt",
                    "void_line",
                    "discount",
                    "cancel_receipt",
                    "cash_in",
                    "cash_out",
                    "open_drawer",
                    "open_shift",
                    "close_shift",
                    "x_report",
                ],
            },
        ),
        _change("role", "stock", {"id": "stock", "name": "Кладовщик", "permissions": ["manage_catalog"]}),
        _change(
            "user",
            "petr",
            {
                "id": "petr",
                "login": "petr",
                "name": "Пётр Н.",
                "roles": ["stock"],
                "active": True,
                "pin_hash": hashed[STOCK_PIN],
            },
        ),
        _change(
            "user",
            "anna",
            {
                "id": "anna",
                "login": "anna",
                "name": "Анна К.",
                "roles": ["cashier"],
                "active": True,
                "pin_hash": hashed[CASHIER_PIN],
            },
        ),
        _change(
            "user",
            "olga",
            {
                "id": "olga",
                "login": "olga",
                "name": "Ольга С.",
                "roles": ["senior"],
                "active": True,
                "pin_hash": hashed[SUPERVISOR_PIN],
            },
        ),
        _change(
            "user",
            "ivan",
            {
                "id": "ivan",
                "login": "ivan",
                "name": "Иван П.",
                "roles": ["cashier"],
                "active": True,
                "pin_hash": hashed[NOVICE_PIN],
            },
        ),
    ]
    rows += [_change("promotion", p["id"], p) for p in promotions or []]
    return rows


def seed(settings: PosSettings, changes: list[ChangeRow], server_url: str = "http://127.0.0.1:9") -> None:
    """Enroll the till (as `osuite pos enroll` records it) and fill its replica."""
    from osuite.pos.app import open_pos

    pos = open_pos(settings)
    try:
        with pos.db.write() as conn:
            record_enrollment(
                conn, client_id="T1", store_id=STORE, name="POS 1", server_url=server_url, token="x"
            )
            catalog.REPLICA.apply(conn, changes)
    finally:
        pos.close()


@dataclass
class Devices:
    registrar: RunningRegistrar
    card: RunningCardTerminal
    printer: PrinterEmulator
    registrar_url: str
    card_url: str
    registrar_dir: Path
    registrar_running: bool = True

    def stop_registrar(self) -> None:
        """Switch the registrar off (its journal stays on disk)."""
        self.registrar.stop()
        self.registrar_running = False

    def start_registrar(self) -> RunningRegistrar:
        """Switch it on again at the same address, with the journal it had."""
        offset = self.registrar.emulator.clock_offset
        self.registrar = start_registrar_emulator(
            self.registrar_dir, port=self.registrar.port, printer=self.printer.address
        )
        self.registrar.emulator.clock_offset = offset
        self.registrar_running = True
        return self.registrar

    def sells(self) -> list[dict[str, Any]]:
        """The sale and return receipts in the registrar's fiscal journal, oldest first."""
        return [d for d in self.registrar.emulator.documents if d["type"] in ("sell", "sellReturn")]


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[Devices]:
    printer = start_printer_emulator(tmp_path / "printer")
    registrar = start_registrar_emulator(tmp_path / "registrar", printer=printer.address)
    card = start_card_emulator(tmp_path / "card")
    running = Devices(registrar, card, printer, registrar.url, card.url, tmp_path / "registrar")
    yield running
    stopping = [card.stop, printer.stop, *([running.registrar.stop] if running.registrar_running else [])]
    with ThreadPoolExecutor(len(stopping)) as pool:  # each waits for its server's shutdown: together
        for stopped in [pool.submit(stop) for stop in stopping]:
            stopped.result()


@pytest.fixture
def pos_settings(tmp_path: Path, devices: Devices) -> PosSettings:
    settings = PosSettings(
        data_dir=tmp_path / "pos",
        registrar_url=devices.registrar_url,
        card_terminal_url=devices.card_url,
        card_timeout_seconds=3.0,
        device_timeout_seconds=3.0,
    )
    seed(settings, catalog_changes())
    return settings


class Till:
    """The POS API as a cashier's screen uses it."""

    def __init__(self, client: TestClient) -> None:
        self.http = client

    def login(self, pin: str = CASHIER_PIN) -> Till:
        answer = self.http.post("/api/v1/session", json={"pin": pin})
        assert answer.status_code == 200, answer.text
        self.http.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        return self

    def call(self, method: str, path: str, expect: int = 200, /, **body: Any) -> Any:
        answer = self.http.request(method, f"/api/v1{path}", json=body if method != "GET" else None)
        assert answer.status_code == expect, answer.text
        return answer.json() if answer.content else None

    def post(self, path: str, expect: int = 200, /, **body: Any) -> Any:
        return self.call("POST", path, expect, **body)

    def scan(self, code: str, expect: int = 200, **extra: Any) -> Any:
        return self.post("/receipt/items", expect, code=code, **extra)

    def pay(self, payment_type: str = "CASH", amount: int | None = None, expect: int = 200) -> Any:
        return self.post(
            "/receipt/payments",
            expect,
            payment_type=payment_type,
            **({} if amount is None else {"amount": amount}),
        )

    def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        answer = self.http.get(f"/api/v1{path}", params=params)
        assert answer.status_code == expect, answer.text
        return answer.json()

    def refused(self, method: str, path: str, status: int, kind: str, /, **body: Any) -> dict[str, Any]:
        """A refusal: its problem document, checked for its status and ``type``."""
        problem: dict[str, Any] = self.call(method, path, status, **body)
        assert problem["type"] == kind, problem
        assert problem["detail"], problem
        return problem

    def receipt(self) -> Any:
        return self.get("/receipt")

    @property
    def pos(self) -> Pos:
        pos: Pos = self.http.app.state.pos  # type: ignore[attr-defined]
        return pos

    def outbox(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The documents queued for the data server: ``{"id", "kind", "payload"}``, oldest first."""
        table = t.edge.outbox
        with self.pos.db.read() as conn:
            query = select(table.c.id, table.c.kind, table.c.payload).order_by(table.c.created_at)
            rows = conn.execute(query)
            found = [{"id": i, "kind": k, "payload": orjson.loads(p)} for i, k, p in rows]
        return [doc for doc in found if kind is None or doc["kind"] == kind]

    def document(self, doc_id: str) -> dict[str, Any]:
        (found,) = [doc for doc in self.outbox() if doc["id"] == doc_id]
        payload: dict[str, Any] = found["payload"]
        return payload

    def audit(self, action: str) -> list[dict[str, Any]]:
        with self.pos.db.read() as conn:
            rows = conn.execute(select(t.audit).where(t.audit.c.action == action).order_by(t.audit.c.id))
            return [dict(r) for r in rows.mappings()]

    def publish(self, changes: list[ChangeRow]) -> None:
        """Reference data arriving from the data server (as the link applies it)."""
        with self.pos.write() as conn:
            catalog.REPLICA.apply(conn, changes)

    def add_promotions(self, *payloads: dict[str, Any]) -> None:
        self.publish([_change("promotion", p["id"], p) for p in payloads])

    def move_clock(self, hours: float) -> None:
        """Move the till's clock forward (the registrar's is moved with :func:`move_clocks`)."""
        earlier = self.pos.now
        self.pos.now = lambda: earlier() + timedelta(hours=hours)


@pytest.fixture
def till(pos_settings: PosSettings) -> Iterator[Till]:
    from osuite.pos.app import build_app

    with TestClient(build_app(pos_settings)) as client:
        yield Till(client).login()


@pytest.fixture
def open_till(till: Till) -> Till:
    till.post("/shift/open")
    return till


def hours_later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def gross(line: dict[str, Any]) -> int:
    return line_amount(line["price"], Decimal(line["quantity"]))


def move_clocks(till: Till, devices: Devices, hours: float) -> None:
    """Time passes for the till and its registrar alike."""
    till.move_clock(hours)
    devices.registrar.emulator.advance_clock(hours)


def lines_add_up(receipt: dict[str, Any]) -> None:
    """The receipt's numbers agree: each live line is its gross less its discount, and the lines add up
    to the total and the discount."""
    live = [line for line in receipt["lines"] if not line["voided"]]
    for line in live:
        assert line["discount"] == sum(d["amount"] for d in line["discounts"]), line
        assert 0 <= line["amount"] == gross(line) - line["discount"], line
    assert sum(line["amount"] for line in live) == receipt["total"]
    assert sum(line["discount"] for line in live) == receipt["discount"]
    assert receipt["gross"] - receipt["discount"] == receipt["total"]
