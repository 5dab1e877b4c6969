"""An emulated bank card terminal speaking the protocol of :mod:`osuite.devices.card_terminal` on a
real socket, so a POS can be tested and demonstrated taking cards without a bank.

It behaves as a terminal should where a POS can get hurt: idempotent by key, one operation at a time
(another one meanwhile is ``busy``), refunds limited to what was paid, cancels only on the day of the
payment and in full. Every operation is appended to ``card-terminal.jsonl`` in its data directory and
fsync'ed before the answer, and the journal is read back on start, so ``find`` answers after a restart.

What it answers is its *mode*, set from Python (:meth:`EmulatedTerminal.set_mode`) or over HTTP::

    POST /emulator/mode {"mode": "approve" | "decline" | "timeout",
                         "count": N (the next N operations, then back to approve) | null (until changed),
                         "decline_message": "недостаточно средств",
                         "timeout_outcome": "none" | "approved" | "declined",
                         "hold_seconds": 100, "delay_seconds": 0}
    GET  /emulator/mode            the mode in force
    GET  /emulator/operations      the journal, oldest first

``timeout`` holds the request for ``hold_seconds`` — longer than the driver waits (90 s by default) —
and stays busy meanwhile. What happened is decided when the request arrives and is final:
``timeout_outcome`` "none" (the default) is a cardholder who walked away, so nothing is recorded and
``find`` answers "no such operation"; "approved" (or "declined") is a bank answer lost on its way back,
recorded at once, so ``find`` tells the POS that the money moved (or did not). ``delay_seconds`` makes
approvals and declines take that long, to see the POS wait and the terminal be busy.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt

from osuite.core.http import Problem, problem_response
from osuite.core.money import MAX_MONEY, format_money
from osuite.devices.card_terminal import result_from_json, result_to_json
from osuite.devices.emulator_server import ServerThread, bind
from osuite.devices.jsonl_journal import JsonlJournal
from osuite.devices.payment import CardOperation, CardResult

ModeName = Literal["approve", "decline", "timeout"]
TimeoutOutcome = Literal["none", "approved", "declined"]
JOURNAL_FILE = "card-terminal.jsonl"
MAX_KEY_LENGTH = 100
APPROVED = "ОДОБРЕНО"
_TITLES: dict[str, str] = {"pay": "ОПЛАТА", "refund": "ВОЗВРАТ", "cancel": "ОТМЕНА"}


@dataclass(frozen=True)
class Mode:
    mode: ModeName = "approve"
    count: int | None = None  # operations still to answer this way; None: until changed
    decline_message: str = "недостаточно средств"
    timeout_outcome: TimeoutOutcome = "none"
    hold_seconds: float = 100.0
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class Operation:
    result: CardResult
    original_rrn: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**result_to_json(self.result), "original_rrn": self.original_rrn, "at": self.at.isoformat()}

    @staticmethod
    def from_json(record: dict[str, Any]) -> Operation:
        original, at = record.get("original_rrn", ""), record.get("at")
        if not isinstance(original, str) or not isinstance(at, str):
            raise ValueError("original_rrn and at are strings")
        return Operation(result_from_json(record), original, datetime.fromisoformat(at))


class Refusal(Exception):
    """A request the terminal answers with a problem instead of an operation."""

    def __init__(self, code: Literal["invalid", "busy", "timeout", "not_found"], message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return {"invalid": 422, "busy": 409, "timeout": 504, "not_found": 404}[self.code]


@dataclass(frozen=True)
class Outcome:
    """How to answer one request: the operation (None: nothing happened), after how long, and whether
    the request keeps the terminal busy until :meth:`EmulatedTerminal.release`."""

    operation: Operation | None
    hold: float = 0.0
    busy: bool = False


def _local_now() -> datetime:
    return datetime.now().astimezone()


class EmulatedTerminal:
    """The terminal's rules and journal, without HTTP; thread-safe."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Callable[[], datetime] = _local_now,
        rng: random.Random | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._rng = rng or random.Random()
        self._journal = JsonlJournal(data_dir / JOURNAL_FILE)
        self._mode = Mode()
        self._busy = False
        self._by_key: dict[str, Operation] = {}
        self._by_rrn: dict[str, Operation] = {}
        self._refunded: dict[str, int] = {}  # original rrn → kopecks refunded (approved refunds)
        self._cancelled: set[str] = set()
        for record in self._journal.load():
            self._apply(Operation.from_json(record))

    # --- control ---------------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        with self._lock:
            return self._mode

    def set_mode(
        self,
        mode: ModeName = "approve",
        *,
        count: int | None = None,
        decline_message: str = "недостаточно средств",
        timeout_outcome: TimeoutOutcome = "none",
        hold_seconds: float = 100.0,
        delay_seconds: float = 0.0,
    ) -> Mode:
        if count is not None and count < 1:
            raise ValueError("count is at least 1, or None for until changed")
        if hold_seconds <= 0 or delay_seconds < 0:
            raise ValueError("hold_seconds is positive and delay_seconds not negative")
        new = Mode(
            mode=mode,
            count=count,
            decline_message=decline_message.strip() or Mode.decline_message,
            timeout_outcome=timeout_outcome,
            hold_seconds=hold_seconds,
            delay_seconds=delay_seconds,
        )
        with self._lock:
            self._mode = new
        return new

    # --- reading ---------------------------------------------------------------------------------

    def find(self, key: str) -> Operation | None:
        with self._lock:
            return self._by_key.get(key)

    def operations(self) -> list[Operation]:
        with self._lock:
            return sorted(self._by_key.values(), key=lambda op: op.at)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._busy

    # --- operating -------------------------------------------------------------------------------

    def begin(self, operation: CardOperation, key: str, amount: int, original_rrn: str = "") -> Outcome:
        """Decide and record one request's outcome; raises :class:`Refusal`. When the outcome is
        ``busy`` the caller must :meth:`release` the terminal after answering."""
        _check_request(operation, key, amount, original_rrn)
        with self._lock:
            held = self._by_key.get(key)
            if held is not None:
                return Outcome(self._replay(held, operation, amount, original_rrn))
            if self._busy:
                raise Refusal("busy", "терминал занят другой операцией; повторите, когда он освободится")
            original = self._check_rules(operation, amount, original_rrn)
            mode = self._take_mode()
            if mode.mode == "timeout":
                done = None
                if mode.timeout_outcome != "none":
                    done = self._record(operation, key, amount, original, mode.timeout_outcome == "approved")
                self._busy = True
                return Outcome(done, hold=mode.hold_seconds, busy=True)
            done = self._record(
                operation, key, amount, original, mode.mode == "approve", mode.decline_message
            )
            if mode.delay_seconds > 0:
                self._busy = True
                return Outcome(done, hold=mode.delay_seconds, busy=True)
            return Outcome(done)

    def release(self) -> None:
        with self._lock:
            self._busy = False

    def _replay(self, held: Operation, operation: str, amount: int, original_rrn: str) -> Operation:
        first = held.result
        if (first.operation, first.amount, held.original_rrn) != (operation, amount, original_rrn):
            raise Refusal(
                "invalid",
                f"ключ {first.key} уже использован: {_TITLES[first.operation].lower()} на "
                f"{_rub(first.amount)}; новая операция требует нового ключа",
            )
        return held

    def _check_rules(self, operation: str, amount: int, original_rrn: str) -> Operation | None:
        if operation == "pay":
            return None
        original = self._by_rrn.get(original_rrn)
        if original is None or original.result.operation != "pay":
            raise Refusal("invalid", f"оплата с RRN {original_rrn} не найдена в терминале")
        if not original.result.approved:
            raise Refusal("invalid", f"оплата с RRN {original_rrn} была отклонена; возвращать нечего")
        if original_rrn in self._cancelled:
            raise Refusal("invalid", f"оплата с RRN {original_rrn} уже отменена")
        paid, refunded = original.result.amount, self._refunded.get(original_rrn, 0)
        if operation == "refund":
            if amount > paid - refunded:
                raise Refusal(
                    "invalid",
                    f"вернуть можно не больше {_rub(paid - refunded)}: оплачено {_rub(paid)}, "
                    f"возвращено {_rub(refunded)}",
                )
            return original
        if refunded:
            raise Refusal("invalid", f"по оплате {original_rrn} уже были возвраты; отмена невозможна")
        if amount != paid:
            raise Refusal("invalid", f"отмена только на всю сумму оплаты: {_rub(paid)}")
        now = self._clock()
        if original.at.astimezone(now.tzinfo).date() != now.date():
            raise Refusal("invalid", "отменить можно только оплату сегодняшнего дня; оформите возврат")
        return original

    def _take_mode(self) -> Mode:
        mode = self._mode
        if mode.count is not None:
            self._mode = replace(mode, count=mode.count - 1) if mode.count > 1 else Mode()
        return mode

    def _record(
        self,
        operation: CardOperation,
        key: str,
        amount: int,
        original: Operation | None,
        approved: bool,
        decline_message: str = Mode.decline_message,
    ) -> Operation:
        now = self._clock()
        rrn = self._next_rrn(now)
        card = original.result.card_mask if original else f"**** {self._rng.randrange(10_000):04d}"
        code = f"{self._rng.randrange(1_000_000):06d}" if approved else ""
        message = APPROVED if approved else f"ОТКАЗ: {decline_message}"
        slip = _slip(operation, amount, card, approved, message, rrn, code, now)
        result = CardResult(key, operation, approved, amount, message, rrn, code, card, slip)
        done = Operation(result, original.result.rrn if original else "", now)
        self._journal.append(done.to_json())
        self._apply(done)
        return done

    def _apply(self, op: Operation) -> None:
        self._by_key[op.result.key] = op
        if op.result.rrn:
            self._by_rrn[op.result.rrn] = op
        if op.result.approved and op.original_rrn:
            if op.result.operation == "refund":
                self._refunded[op.original_rrn] = self._refunded.get(op.original_rrn, 0) + op.result.amount
            elif op.result.operation == "cancel":
                self._cancelled.add(op.original_rrn)

    def _next_rrn(self, now: datetime) -> str:
        """12 digits as hosts make them: year's last digit, day of year, hour, a 6-digit sequence."""
        sequence = len(self._by_rrn) + 1
        while True:
            rrn = f"{now.year % 10}{now.timetuple().tm_yday:03d}{now.hour:02d}{sequence % 1_000_000:06d}"
            if rrn not in self._by_rrn:
                return rrn
            sequence += 1


def _check_request(operation: str, key: str, amount: int, original_rrn: str) -> None:
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Refusal("invalid", f"ключ операции — от 1 до {MAX_KEY_LENGTH} печатных символов")
    if amount <= 0:
        raise Refusal("invalid", "сумма операции должна быть больше нуля")
    if amount > MAX_MONEY:
        raise Refusal("invalid", "сумма операции слишком велика")
    if operation != "pay" and not original_rrn:
        raise Refusal("invalid", "для возврата и отмены нужен RRN исходной оплаты")
    if operation == "pay" and original_rrn:
        raise Refusal("invalid", "у оплаты не бывает исходной операции")


def _rub(kopecks: int) -> str:
    return f"{format_money(kopecks).replace('.', ',')} руб."


def _slip(
    operation: str,
    amount: int,
    card: str,
    approved: bool,
    message: str,
    rrn: str,
    code: str,
    at: datetime,
) -> tuple[str, ...]:
    lines = [
        "ЭМУЛЯТОР ТЕРМИНАЛА O·S",
        at.strftime("%d.%m.%Y %H:%M:%S"),
        _TITLES[operation],
        f"СУММА: {_rub(amount)}",
        f"КАРТА: {card}",
        APPROVED if approved else "ОТКАЗ",
    ]
    if not approved and message.startswith("ОТКАЗ: "):
        lines.append(message.removeprefix("ОТКАЗ: "))
    lines.append(f"RRN: {rrn}")
    if code:
        lines.append(f"КОД АВТОРИЗАЦИИ: {code}")
    return tuple(lines)


# --- HTTP ----------------------------------------------------------------------------------------


class PayIn(BaseModel):
    key: str
    amount: StrictInt


class ReverseIn(BaseModel):
    key: str
    amount: StrictInt
    original_rrn: str


class ModeIn(BaseModel):
    mode: ModeName = "approve"
    count: int | None = Field(None, ge=1, description="Operations to answer this way; null: until changed")
    decline_message: str = Field(Mode.decline_message, max_length=100)
    timeout_outcome: TimeoutOutcome = "none"
    hold_seconds: float = Field(Mode.hold_seconds, gt=0, le=3600)
    delay_seconds: float = Field(0.0, ge=0, le=600)


def _refused(refusal: Refusal) -> JSONResponse:
    title = {"invalid": "Refused", "busy": "Busy", "timeout": "Timed out", "not_found": "Not found"}
    return problem_response(Problem(refusal.status, title[refusal.code], refusal.message, code=refusal.code))


def card_terminal_app(terminal: EmulatedTerminal, *, control: bool = True) -> FastAPI:
    """The terminal's HTTP face; ``control`` adds the ``/emulator/*`` endpoints to it."""
    app = FastAPI(title="O·S card terminal emulator", docs_url="/docs")

    @app.exception_handler(Refusal)
    async def _refusal(_request: Request, exc: Refusal) -> JSONResponse:
        return _refused(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}" for err in exc.errors()
        )
        return _refused(Refusal("invalid", f"неверный запрос к терминалу: {where}"))

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "device": "card terminal emulator", "busy": terminal.busy}

    async def run(operation: CardOperation, key: str, amount: int, original_rrn: str) -> dict[str, Any]:
        outcome = terminal.begin(operation, key, amount, original_rrn)
        try:
            if outcome.hold:
                await asyncio.sleep(outcome.hold)
        finally:
            if outcome.busy:
                terminal.release()
        if outcome.operation is None:
            raise Refusal("timeout", "карту так и не приложили; операция не выполнена")
        return outcome.operation.to_json()

    @app.post("/api/v1/pay")
    async def pay(body: PayIn) -> dict[str, Any]:
        return await run("pay", body.key, body.amount, "")

    @app.post("/api/v1/refund")
    async def refund(body: ReverseIn) -> dict[str, Any]:
        return await run("refund", body.key, body.amount, body.original_rrn)

    @app.post("/api/v1/cancel")
    async def cancel(body: ReverseIn) -> dict[str, Any]:
        return await run("cancel", body.key, body.amount, body.original_rrn)

    @app.get("/api/v1/operations/{key:path}")
    def find(key: str) -> dict[str, Any]:
        found = terminal.find(key)
        if found is None:
            raise Refusal("not_found", f"операции с ключом {key} в терминале нет")
        return found.to_json()

    if control:
        add_control(app, terminal)
    return app


def add_control(app: FastAPI, terminal: EmulatedTerminal) -> None:
    @app.get("/emulator/mode")
    def current_mode() -> dict[str, Any]:
        return asdict(terminal.mode)

    @app.post("/emulator/mode")
    def set_mode(body: ModeIn) -> dict[str, Any]:
        return asdict(terminal.set_mode(**body.model_dump()))

    @app.get("/emulator/operations")
    def operations() -> list[dict[str, Any]]:
        return [op.to_json() for op in terminal.operations()]


def control_app(terminal: EmulatedTerminal) -> FastAPI:
    app = FastAPI(title="O·S card terminal emulator: control", docs_url="/docs")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    add_control(app, terminal)
    return app


class RunningCardTerminal:
    """A started card terminal emulator: ``url`` for the driver, ``terminal`` to steer it from Python,
    ``control_url`` where ``/emulator/*`` lives (``url`` itself unless a control port was asked for)."""

    def __init__(
        self, terminal: EmulatedTerminal, server: ServerThread, control: ServerThread | None
    ) -> None:
        self.terminal = terminal
        self._server = server
        self._control = control
        self.host, self.port = server.host, server.port

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def control_url(self) -> str:
        return (self._control or self._server).url

    def stop(self) -> None:
        """Stop serving; a request held in ``timeout`` mode is abandoned (its outcome is already
        in the journal)."""
        if self._control is not None:
            self._control.stop()
        self._server.stop()

    def __enter__(self) -> RunningCardTerminal:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_card_emulator(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    control_port: int | None = None,
    clock: Callable[[], datetime] = _local_now,
) -> RunningCardTerminal:
    """Start the emulated terminal on ``host:port`` (0: a free port) in a background thread, its
    journal in ``data_dir``. With ``control_port`` the ``/emulator/*`` endpoints move to that port."""
    terminal = EmulatedTerminal(data_dir, clock=clock)
    app = card_terminal_app(terminal, control=control_port is None)
    server = ServerThread(app, bind(host, port), name="card-terminal-emulator").start()
    control = None
    if control_port is not None:
        try:
            control = ServerThread(
                control_app(terminal), bind(host, control_port), name="card-control"
            ).start()
        except BaseException:
            server.stop()
            raise
    return RunningCardTerminal(terminal, server, control)
