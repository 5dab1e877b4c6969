"""A software fiscal registrar that speaks ATOL's JSON task protocol over HTTP (see
:mod:`osuite.devices.atol_wire`), keeps a fiscal journal on disk and prints on a network ESC/POS printer.

It refuses what a real registrar refuses (see :mod:`osuite.devices.registrar_rules`), numbers and signs
every document, writes it to its journal (fsync'ed) before answering, rebuilds itself from the journal on
start, and asks the printer's status (DLE EOT) before every document that prints: paper out or cover
open refuses the document, so nothing is registered. With no printer configured it prints nowhere.

Protocol decisions beyond what ATOL publishes (documented for whoever replaces it with a real device):

- Tasks run as soon as they are posted, one request at a time; ``GET`` shows ``inProgress`` only while
  a request is running, or for the ``slow`` fault below.
- A ``409`` answer to a repeated uuid carries ``{"sameRequest": true|false}``: whether the held request
  is the same as the one posted again (compared canonically). A uuid whose request registered nothing
  (it was refused, or only asked questions) may be posted again and replaces it: a POS retries a refused
  receipt under the receipt's own key.
- Cash in/out are numbered and signed like fiscal documents and answer ``fiscalParams`` too.

Control endpoint (not ATOL's; for tests and the demo): ``GET /emulator/state`` answers the counters
(money in kopecks); ``POST /emulator/state`` with ``{"fault": "busy" | "internal" | "paper_out" |
"cover_open" | "lose_answer" | "slow" | "delay_answer" | null, "count": N}`` makes the next N requests
fail that way (``lose_answer`` registers but answers 500, as if the answer were lost on the way; ``slow``
answers ``inProgress`` to the first two reads of each of the next N requests; ``delay_answer`` with
``"seconds": S`` holds the answer to each of the next N requests that register a document for S seconds
after journaling it, the window in which a till that dies has a registered receipt it has not saved;
questions meanwhile are answered at once), and
``{"advance_hours": H}`` moves the registrar's clock forward (a shift expires after 24 hours).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from osuite.devices.atol_wire import (
    ATOL_PAYMENT_TYPES,
    DEFAULT_PORT,
    FISCAL_TASKS,
    PRINTING_TASKS,
    QUERY_TASKS,
    REQUESTS_PATH,
    AtolError,
    canonical,
    describe,
    dumps,
    loads,
    rubles,
)
from osuite.devices.emulator_server import ServerThread, bind
from osuite.devices.escpos_net import NetworkPrinter, PrinterStatus, PrinterUnreachable
from osuite.devices.receipt_layout import ShopHeader, drawer_kick, render, render_text
from osuite.devices.registrar_journal import JOURNAL_FILE, Journal, load_identity
from osuite.devices.registrar_rules import (
    SHIFT_LIMIT,
    Document,
    Refusal,
    RegistrarState,
    apply,
    counters,
    plan,
)

log = logging.getLogger(__name__)

MODEL_NAME = "O·S ATOL-compatible registrar emulator"
_MAX_UUID = 128
_KEEP_UNREGISTERED = 10_000  # answers to requests that registered nothing, kept in memory only


class Fault(StrEnum):
    BUSY = "busy"
    INTERNAL = "internal"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    LOSE_ANSWER = "lose_answer"
    SLOW = "slow"
    DELAY_ANSWER = "delay_answer"


_FAULT_ERRORS: Mapping[Fault, AtolError] = {
    Fault.BUSY: AtolError.BUSY,
    Fault.INTERNAL: AtolError.INTERNAL,
    Fault.PAPER_OUT: AtolError.NO_PAPER,
    Fault.COVER_OPEN: AtolError.COVER_OPENED,
}


@dataclass
class _Held:
    """A request the registrar holds under its uuid, and what it answers about it."""

    digest: str
    results: list[dict[str, Any]]
    registered: bool
    running: bool = False
    hidden_reads: int = 0  # the ``slow`` fault: reads still to answer "inProgress"


@dataclass
class _Fault:
    kind: Fault
    remaining: int
    seconds: float = 0.0


@dataclass
class Answer:
    status: int
    body: Any = None


@dataclass
class RegistrarEmulator:
    """The emulated device. Thread-safe: requests run one at a time, as on a real registrar."""

    data_dir: Path
    printer: str | None = None  # "host:port" of an ESC/POS printer; None prints nowhere
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())  # the device's clock
    header: ShopHeader = field(default_factory=ShopHeader)
    clock_offset: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.identity = load_identity(self.data_dir)
        self._journal = Journal(self.data_dir / JOURNAL_FILE)
        self._state = RegistrarState()
        self._documents: list[Document] = []
        self._held: OrderedDict[str, _Held] = OrderedDict()
        for record in self._journal.load(self.identity):
            for document in record["documents"]:
                apply(self._state, document)
                self._documents.append(document)
            self._held[record["uuid"]] = _Held(record["digest"], record["results"], registered=True)
        self._printer = NetworkPrinter.at(self.printer) if self.printer else None
        self._lock = threading.Lock()  # one request at a time
        self._held_lock = threading.Lock()  # reads of answers do not wait for a running request
        self._fault: _Fault | None = None
        self._unregistered = 0

    # --- the device's clock, faults and counters (Python API for tests; also behind /emulator/state)

    def clock(self) -> datetime:
        return self.now() + self.clock_offset

    def advance_clock(self, hours: float) -> None:
        with self._lock:
            self.clock_offset += timedelta(hours=hours)

    def inject(self, fault: Fault | str | None, count: int = 1, seconds: float = 0.0) -> None:
        """Make the next ``count`` requests fail with ``fault`` (None clears it); ``seconds`` is how long
        ``delay_answer`` holds each answer."""
        with self._lock:
            self._fault = _Fault(Fault(fault), count, seconds) if fault is not None and count > 0 else None

    @property
    def documents(self) -> list[Document]:
        """Every document in the journal, oldest first (copies)."""
        with self._lock:
            return [dict(document) for document in self._documents]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            state, now = self._state, self.clock()
            return {
                "model": MODEL_NAME,
                "serial_number": self.identity.serial_number,
                "fn_number": self.identity.fn_number,
                "now": now.isoformat(),
                "clock_offset_hours": self.clock_offset / timedelta(hours=1),
                "shift_open": state.shift.is_open,
                "shift_number": state.shift.number,
                "shift_opened_at": state.shift.opened_at.isoformat() if state.shift.opened_at else None,
                "shift_expired": state.expired(now),
                "receipts_in_shift": state.shift.receipts,
                "last_document_number": state.last_document,
                "cash_in_drawer": state.cash_in_drawer,
                "documents": len(self._documents),
                "counters": counters(state),
                "fault": {"kind": str(self._fault.kind), "remaining": self._fault.remaining}
                if self._fault
                else None,
                "printer": self._printer.address if self._printer else None,
                "data_dir": str(self.data_dir),
            }

    def close(self) -> None:
        with self._lock:
            self._journal.close()

    # --- the ATOL protocol

    def post(self, body: bytes) -> Answer:
        """``POST /api/v2/requests``."""
        try:
            uuid, tasks = _parse_request(body)
        except ValueError as exc:
            return Answer(400, {"error": {"code": 400, "description": str(exc)}})
        digest = hashlib.sha256(canonical(tasks)).hexdigest()
        with self._lock:
            with self._held_lock:
                held = self._held.get(uuid)
            if held is not None and (held.registered or held.running):
                description = "Задание с таким uuid уже существует"
                return Answer(
                    409,
                    {
                        "error": {"code": 409, "description": description},
                        "sameRequest": held.digest == digest,
                    },
                )
            delay = self._fault.seconds if self._fault is not None else 0.0
            fault = self._take_fault() if self._fault_applies(tasks) else None
            running = [_result("inProgress") for _ in tasks]
            self._hold(uuid, _Held(digest, running, registered=False, running=True))
            if fault is not None and fault in _FAULT_ERRORS:
                self._hold(uuid, _Held(digest, _failed(len(tasks), Refusal(_FAULT_ERRORS[fault])), False))
                return Answer(201)
            try:
                self._run(uuid, digest, tasks, slow=fault is Fault.SLOW)
            except BaseException:  # the journal could not be written: nothing was registered
                with self._held_lock:
                    self._held.pop(uuid, None)
                raise
        if fault is Fault.DELAY_ANSWER:
            time.sleep(delay)  # registered and journaled; other requests are served meanwhile
        if fault is Fault.LOSE_ANSWER:
            return Answer(500, {"error": {"code": 500, "description": "Internal Server Error"}})
        return Answer(201)

    def get(self, uuid: str) -> Answer:
        """``GET /api/v2/requests/{uuid}``."""
        with self._held_lock:
            held = self._held.get(uuid)
            if held is None:
                return Answer(404, {"error": {"code": 404, "description": "Задание не найдено"}})
            if held.hidden_reads > 0:
                held.hidden_reads -= 1
                return Answer(200, {"results": [_result("inProgress") for _ in held.results]})
            return Answer(200, {"results": held.results})

    # --- running a request

    def _run(self, uuid: str, digest: str, tasks: list[dict[str, Any]], *, slow: bool) -> None:
        now = self.clock().replace(microsecond=0)  # fiscal documents are timed to the second
        work = self._state.copy()
        results: list[dict[str, Any]] = []
        documents: list[Document] = []
        printouts: list[tuple[int, bytes]] = []
        printer_checked = False
        for index, task in enumerate(tasks):
            kind = task["type"]
            try:
                if kind in PRINTING_TASKS and not printer_checked:
                    self._check_printer()
                    printer_checked = True
                if kind in FISCAL_TASKS or kind == "reportX":
                    document = plan(work, task, now)
                    if document["number"]:
                        document["sign"] = self.identity.sign(document)
                    apply(work, document)
                    documents.append(document)
                    printouts.append((index, render(document, self.identity, self.header)))
                    results.append(_result("ready", self._fiscal_result(document, work)))
                elif kind == "openCashDrawer":  # no paper needed: only the pulse goes to the printer
                    printouts.append((index, drawer_kick()))
                    results.append(_result("ready", {}))
                elif kind == "nonFiscal":
                    printouts.append((index, render_text(_text_lines(task))))
                    results.append(_result("ready", {}))
                elif kind in QUERY_TASKS:
                    results.append(_result("ready", self._query(kind, work, now)))
                else:
                    raise Refusal(AtolError.INVALID_PARAM, f"неизвестный тип задания {kind!r}")
            except Refusal as refusal:
                results += _failed(len(tasks) - index, refusal)
                break
        if documents:
            at = now.isoformat()
            record = {"uuid": uuid, "digest": digest, "at": at, "documents": documents, "results": results}
            self._journal.append(record)  # on disk before anything is answered or printed
            self._state = work
            self._documents += documents
        self._hold(uuid, _Held(digest, results, registered=bool(documents), hidden_reads=2 if slow else 0))
        self._print(printouts, results)

    def _check_printer(self) -> None:
        if self._printer is None:
            return
        status = self._printer_status()
        if status is None:
            raise Refusal(AtolError.PRINTER_FAULT, f"принтер {self._printer.address} не отвечает")
        if status.cover_open:
            raise Refusal(AtolError.COVER_OPENED)
        if status.paper_out:
            raise Refusal(AtolError.NO_PAPER)

    def _printer_status(self) -> PrinterStatus | None:
        assert self._printer is not None
        try:
            return self._printer.status()
        except PrinterUnreachable as exc:
            log.warning("%s", exc)
            return None

    def _print(self, printouts: list[tuple[int, bytes]], results: list[dict[str, Any]]) -> None:
        """Print after registering: a document that fails to print stays registered, flagged notPrinted."""
        if self._printer is None:
            return
        for index, job in printouts:
            try:
                self._printer.send(job)
            except PrinterUnreachable as exc:
                log.warning("document not printed: %s", exc)
                result = results[index].get("result")
                if isinstance(result, dict):
                    result["warnings"] = {"notPrinted": True}

    def _fiscal_result(self, document: Document, state: RegistrarState) -> dict[str, Any]:
        kind = document["type"]
        if kind == "reportX":
            return {}
        result: dict[str, Any] = {
            "fiscalParams": self._fiscal_params(document),
            "warnings": {"notPrinted": False},
        }
        if kind in ("cashIn", "cashOut"):
            result["counters"] = {"cashSum": rubles(state.cash_in_drawer)}
        return result

    def _fiscal_params(self, document: Document) -> dict[str, Any]:
        params: dict[str, Any] = {
            "fiscalDocumentNumber": document["number"],
            "fiscalDocumentSign": document["sign"],
            "fiscalDocumentDateTime": document["at"],
            "shiftNumber": document["shift"],
            "fnNumber": self.identity.fn_number,
            "registrationNumber": self.identity.registration_number,
            "fnsUrl": self.header.fns_site,
        }
        if document["type"] in ("sell", "sellReturn", "cashIn", "cashOut"):
            params["total"] = rubles(document["total"])
        if document["type"] in ("sell", "sellReturn"):
            params["fiscalReceiptNumber"] = document["receiptNumber"]
        if document["type"] == "closeShift":
            params["receiptsCount"] = document["counters"]["receipts"]
        return params

    def _query(self, kind: str, state: RegistrarState, now: datetime) -> dict[str, Any]:
        if kind == "getShiftStatus":
            shift = state.shift
            status: dict[str, Any] = {
                "state": "expired" if state.expired(now) else "opened" if shift.is_open else "closed",
                "number": shift.number,
            }
            if shift.is_open and shift.opened_at is not None:
                status["expiredTime"] = (shift.opened_at + SHIFT_LIMIT).isoformat()
            return {"shiftStatus": status}
        if kind == "getDeviceStatus":
            printer = self._printer_status() if self._printer is not None else None
            return {
                "deviceStatus": {
                    "paperPresent": not (printer and printer.paper_out),
                    "coverOpened": bool(printer and printer.cover_open),
                    "printerConnected": self._printer is None or printer is not None,
                    "currentDateTime": now.isoformat(),
                    "modelName": MODEL_NAME,
                    "serialNumber": self.identity.serial_number,
                    "fiscal": True,
                    "blocked": False,
                }
            }
        if kind == "getShiftTotals":
            return {"shiftTotals": _shift_totals(counters(state))}
        last = state.last_fiscal
        return {"fiscalParams": self._fiscal_params(last) if last else None}

    def _fault_applies(self, tasks: list[dict[str, Any]]) -> bool:
        if self._fault is not None and self._fault.kind is Fault.DELAY_ANSWER:
            return any(task["type"] in FISCAL_TASKS for task in tasks)
        return True

    def _take_fault(self) -> Fault | None:
        if self._fault is None:
            return None
        kind = self._fault.kind
        self._fault.remaining -= 1
        if self._fault.remaining <= 0:
            self._fault = None
        return kind

    def _hold(self, uuid: str, held: _Held) -> None:
        with self._held_lock:
            self._held[uuid] = held
            self._held.move_to_end(uuid)
            if not held.registered and not held.running:
                self._unregistered += 1
                if self._unregistered > 2 * _KEEP_UNREGISTERED:
                    self._forget_unregistered()

    def _forget_unregistered(self) -> None:
        """Keep the newest answers to requests that registered nothing; the registered ones stay all."""
        unregistered = [
            key for key, value in self._held.items() if not value.registered and not value.running
        ]
        for key in unregistered[: len(unregistered) - _KEEP_UNREGISTERED]:
            del self._held[key]
        self._unregistered = _KEEP_UNREGISTERED


def _parse_request(body: bytes) -> tuple[str, list[dict[str, Any]]]:
    try:
        payload = loads(body)
    except ValueError:
        raise ValueError("Тело запроса не JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("Тело запроса должно быть объектом")
    uuid = payload.get("uuid")
    if not isinstance(uuid, str) or not uuid or len(uuid) > _MAX_UUID:
        raise ValueError("Не указан uuid задания")
    tasks = payload.get("request")
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list) or not tasks:
        raise ValueError("Не указано ни одного задания (request)")
    for task in tasks:
        if not isinstance(task, dict) or not isinstance(task.get("type"), str):
            raise ValueError("Каждое задание должно быть объектом с полем type")
    return uuid, tasks


def _result(
    status: str, result: Any = None, code: AtolError = AtolError.OK, description: str = ""
) -> dict[str, Any]:
    return {
        "status": status,
        "errorCode": int(code),
        "errorDescription": description or describe(code),
        "result": result,
    }


def _failed(count: int, refusal: Refusal) -> list[dict[str, Any]]:
    """The failed task's answer, then ``interrupted`` for the ``count - 1`` tasks after it."""
    failed = _result("error", None, refusal.code, refusal.description)
    return [failed] + [
        _result("interrupted", None, AtolError.OK, "Задание прервано") for _ in range(count - 1)
    ]


def _text_lines(task: Mapping[str, Any]) -> list[str]:
    items = task.get("items")
    if not isinstance(items, list):
        raise Refusal(AtolError.NO_REQUIRED_PARAM, "items")
    lines: list[str] = []
    for item in items:
        if (
            not isinstance(item, Mapping)
            or item.get("type") != "text"
            or not isinstance(item.get("text"), str)
        ):
            raise Refusal(AtolError.INVALID_PARAM, "нефискальный документ печатает только текст")
        lines.append(item["text"])
    return lines


def _shift_totals(counts: Mapping[str, Any]) -> dict[str, Any]:
    def receipts(block: Mapping[str, Any]) -> dict[str, Any]:
        payments = {kind: rubles(block["payments"].get(kind, 0)) for kind in ATOL_PAYMENT_TYPES}
        return {"count": block["count"], "sum": rubles(block["sum"]), "payments": payments}

    return {
        "shiftNumber": counts["shiftNumber"],
        "receipts": {"sell": receipts(counts["sell"]), "sellReturn": receipts(counts["sellReturn"])},
        "income": {"count": counts["income"]["count"], "sum": rubles(counts["income"]["sum"])},
        "outcome": {"count": counts["outcome"]["count"], "sum": rubles(counts["outcome"]["sum"])},
        "cashDrawer": {"sum": rubles(counts["cashDrawer"])},
    }


# --- HTTP ----------------------------------------------------------------------------------------------


def _json(answer: Answer) -> Response:
    if answer.body is None:
        return Response(status_code=answer.status)
    return Response(dumps(answer.body), status_code=answer.status, media_type="application/json")


def _control_json(status: int, body: Any) -> Response:
    """The control endpoint's answers: plain JSON (its hours may be fractions; money is kopecks)."""
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Response(content, status_code=status, media_type="application/json")


def build_app(emulator: RegistrarEmulator) -> Starlette:
    """The emulator's HTTP face: ATOL's task API plus the control endpoint."""

    async def post_request(request: Request) -> Response:
        body = await request.body()
        return _json(await run_in_threadpool(emulator.post, body))

    async def get_request(request: Request) -> Response:
        return _json(await run_in_threadpool(emulator.get, request.path_params["uuid"]))

    async def read_state(request: Request) -> Response:
        return _control_json(200, await run_in_threadpool(emulator.snapshot))

    async def change_state(request: Request) -> Response:
        try:
            change = loads(await request.body() or b"{}")
            if not isinstance(change, dict):
                raise ValueError("the body must be a JSON object")
            if "fault" in change:
                count = change.get("count", 1)
                if not isinstance(count, int) or isinstance(count, bool):
                    raise ValueError("count must be a whole number")
                emulator.inject(change["fault"], count, float(change.get("seconds", 0.0)))
            if "advance_hours" in change:
                emulator.advance_clock(float(change["advance_hours"]))
        except (ValueError, TypeError) as exc:
            problem = {"title": "bad emulator state change", "status": 422, "detail": str(exc)}
            return _control_json(422, problem)
        return _control_json(200, await run_in_threadpool(emulator.snapshot))

    async def index(request: Request) -> Response:
        return _json(Answer(200, {"name": MODEL_NAME, "api": REQUESTS_PATH}))

    async def healthz(request: Request) -> Response:
        return _json(Answer(200, {"status": "ok"}))

    return Starlette(
        routes=[
            Route(REQUESTS_PATH, post_request, methods=["POST"]),
            Route(REQUESTS_PATH + "/{uuid:path}", get_request, methods=["GET"]),
            Route("/emulator/state", read_state, methods=["GET"]),
            Route("/emulator/state", change_state, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/", index, methods=["GET"]),
        ]
    )


@dataclass
class RunningRegistrar:
    """An emulator serving HTTP on a thread: ``url`` for the driver, ``emulator`` for tests."""

    emulator: RegistrarEmulator
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        self.server.stop()
        self.emulator.close()

    def __enter__(self) -> RunningRegistrar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_registrar_emulator(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    printer: str | None = None,
    now: Callable[[], datetime] | None = None,
    header: ShopHeader | None = None,
    clock_offset: timedelta = timedelta(0),
) -> RunningRegistrar:
    """Start an emulated registrar in this process on ``host:port`` (0: a free port); it serves until
    ``stop()``. ``printer`` is the ESC/POS printer's "host:port"; ``now`` replaces its clock, which then
    runs ``clock_offset`` ahead."""
    emulator = RegistrarEmulator(
        data_dir, printer=printer, header=header or ShopHeader(), clock_offset=clock_offset
    )
    if now is not None:
        emulator.now = now
    server = ServerThread(build_app(emulator), bind(host, port), name=f"registrar-emulator-{port}")
    try:
        server.start()
    except BaseException:
        emulator.close()
        raise
    return RunningRegistrar(emulator, server)


__all__ = [
    "DEFAULT_PORT",
    "Fault",
    "RegistrarEmulator",
    "RunningRegistrar",
    "build_app",
    "start_registrar_emulator",
]
